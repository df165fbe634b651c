package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// newStream is a fresh random stream as the engine draws it (pcgStream):
// PCG(seed, stream), stream one of the stream* constants.
func newStream(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// TestInitializerStatistics draws a 300×200 kernel (60,000 values) from
// each initializer and checks mean, standard deviation and bounds.
func TestInitializerStatistics(t *testing.T) {
	const fanIn, fanOut = 300, 200
	const truncScale = 0.87962566103423978
	type want struct {
		std   float64 // expected standard deviation of the draws
		bound float64 // |w| ≤ bound, and the largest |w| comes close to it (0: unbounded)
	}
	uniform := func(limit float64) want { return want{limit / math.Sqrt(3), limit} }
	truncated := func(sigma float64) want { return want{sigma, 2 * sigma / truncScale} }
	cases := map[string]want{
		"glorot_uniform": uniform(math.Sqrt(6.0 / (fanIn + fanOut))),
		"glorot_normal":  truncated(math.Sqrt(2.0 / (fanIn + fanOut))),
		"he_uniform":     uniform(math.Sqrt(6.0 / fanIn)),
		"he_normal":      truncated(math.Sqrt(2.0 / fanIn)),
		"lecun_uniform":  uniform(math.Sqrt(3.0 / fanIn)),
		"lecun_normal":   truncated(math.Sqrt(1.0 / fanIn)),
		"random_uniform": uniform(0.05),
		"random_normal":  {0.05, 0},
		"zeros":          {0, 0},
	}
	if len(cases) != len(Initializers) {
		t.Fatalf("%d cases for %d initializers", len(cases), len(Initializers))
	}
	for _, name := range Initializers {
		c := cases[name]
		w := make([]float32, fanIn*fanOut)
		initKernel(name, w, fanIn, fanOut, newStream(1, streamInit))
		var sum, sq, maxAbs float64
		beyond2Sigma := 0
		for _, v := range w {
			x := float64(v)
			sum += x
			sq += x * x
			maxAbs = math.Max(maxAbs, math.Abs(x))
			if math.Abs(x) > 2*c.std {
				beyond2Sigma++
			}
		}
		n := float64(len(w))
		mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
		if name == "zeros" {
			if maxAbs != 0 {
				t.Errorf("zeros: max |w| = %g", maxAbs)
			}
			continue
		}
		if math.Abs(mean) > 4*c.std/math.Sqrt(n) {
			t.Errorf("%s: mean %.3g, more than 4 standard errors from 0", name, mean)
		}
		if math.Abs(std/c.std-1) > 0.015 {
			t.Errorf("%s: std %.5g, want %.5g", name, std, c.std)
		}
		switch {
		case c.bound > 0 && (maxAbs > c.bound*(1+1e-6) || maxAbs < 0.99*c.bound):
			t.Errorf("%s: max |w| = %.5g, want just below the bound %.5g", name, maxAbs, c.bound)
		case c.bound == 0 && float64(beyond2Sigma)/n < 0.04: // untruncated normal: 4.55 % beyond 2σ
			t.Errorf("%s: only %d of %d draws beyond 2σ; it must not be truncated", name, beyond2Sigma, len(w))
		}
	}
}

// TestLayerInitialization checks that cfg.Init applies to hidden kernels
// only: the output kernel is glorot_uniform and every bias is zero.
func TestLayerInitialization(t *testing.T) {
	m, err := New(Config{Hidden: []int{6, 5}, Init: "zeros", Seed: 4}, 8, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Params() != 8*6+6+6*5+5+5*3+3 {
		t.Fatalf("Params() = %d", m.Params())
	}
	for l, d := range m.layers {
		for _, v := range d.b {
			if v != 0 {
				t.Errorf("layer %d: bias %g, want 0", l+1, v)
			}
		}
		nonzero, limit := 0, math.Sqrt(6.0/float64(d.in+d.out))
		for _, v := range d.w {
			if v != 0 {
				nonzero++
			}
			if math.Abs(float64(v)) > limit {
				t.Errorf("layer %d: |w| = %g beyond the glorot limit %g", l+1, v, limit)
			}
		}
		if d.hidden && nonzero != 0 || !d.hidden && nonzero != len(d.w) {
			t.Errorf("layer %d (hidden %v): %d of %d kernel weights non-zero", l+1, d.hidden, nonzero, len(d.w))
		}
	}
}
