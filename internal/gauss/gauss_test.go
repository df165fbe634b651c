package gauss

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLogNormMass compares the tail-safe log mass with the naive formula
// where that is accurate, and checks the far tails stay finite and ordered.
func TestLogNormMass(t *testing.T) {
	for _, ab := range [][2]float64{{-1, 1}, {-3, -2}, {2, 3}, {-0.5, 0}, {0, 0.5}, {-8, 8}, {-10, -9}} {
		naive := math.Log(CDF(ab[1]) - CDF(ab[0]))
		if got := LogMass(ab[0], ab[1]); math.Abs(got-naive) > 1e-9*math.Max(1, math.Abs(naive)) {
			t.Errorf("LogMass(%v) = %v, naive %v", ab, got, naive)
		}
	}
	// deep tails: symmetric, finite, and log Φ(x) ≈ -x²/2 - log(-x√(2π))
	for _, x := range []float64{-25, -50, -100} {
		got := LogMass(x-1, x)
		if math.IsInf(got, 0) || math.IsNaN(got) {
			t.Fatalf("LogMass(%v, %v) = %v", x-1, x, got)
		}
		if mirror := LogMass(-x, -x+1); got != mirror {
			t.Errorf("mass not symmetric at %v: %v vs %v", x, got, mirror)
		}
		approx := -0.5*x*x - math.Log(-x) - LogSqrt2Pi
		if math.Abs(LogCDF(x)-approx) > 0.01 {
			t.Errorf("LogCDF(%v) = %v, leading term %v", x, LogCDF(x), approx)
		}
	}
	if a, b := LogCDF(-20.0000001), LogCDF(-19.9999999); math.Abs(a-b) > 1e-5 {
		t.Errorf("LogCDF jumps at -20: %v vs %v", a, b)
	}
}

func TestTruncNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var sum float64
	const n = 20000
	for range n {
		x := TruncNormal(rng.Float64(), 0.3, 0.1, 0, 1)
		if x < 0 || x > 1 {
			t.Fatalf("draw %v outside [0, 1]", x)
		}
		sum += x
	}
	if mean := sum / n; math.Abs(mean-0.3) > 0.005 {
		t.Errorf("mean %v, want 0.3", mean)
	}
	// a kernel far from a narrow interval still lands inside it
	if x := TruncNormal(0.5, 0, 0.01, 5, 6); x < 5 || x > 6 {
		t.Errorf("tail draw %v outside [5, 6]", x)
	}
}
