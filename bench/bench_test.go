package bench

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// TestBackendsAgree checks every backend's adapter (transposes, leading
// dimensions) against a naive product on small odd shapes.
func TestBackendsAgree(t *testing.T) {
	const m, n, k = 5, 7, 3
	for _, be := range Backends() {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			s := kernels.GEMMShape{M: m, N: n, K: k, TransA: tr[0], TransB: tr[1]}
			a, b := randomMatrix(m*k, 3), randomMatrix(k*n, 4)
			lda, ldb := k, n
			at := func(i, p int) float32 { return a[i*lda+p] }
			bt := func(p, j int) float32 { return b[p*ldb+j] }
			if s.TransA {
				lda, at = m, func(i, p int) float32 { return a[p*lda+i] }
			}
			if s.TransB {
				ldb, bt = k, func(p, j int) float32 { return b[j*ldb+p] }
			}
			c := make([]float32, m*n)
			be.Sgemm(s.TransA, s.TransB, m, n, k, 1, a, lda, b, ldb, 0, c, n)
			for i := range m {
				for j := range n {
					var want float64
					for p := range k {
						want += float64(at(i, p)) * float64(bt(p, j))
					}
					if got := float64(c[i*n+j]); math.Abs(got-want) > 1e-5 {
						t.Fatalf("%s %v: C[%d,%d] = %v, want %v", be.Name, s, i, j, got, want)
					}
				}
			}
		}
	}
}

func TestSynthetic(t *testing.T) {
	const rows, features, classes = 50, 6, 4
	d := Synthetic(rows, features, classes)
	if d.X != nil || len(d.Pixels) != rows*features || len(d.Y) != rows*classes || d.Rows != nil {
		t.Fatalf("Synthetic: len X %d, len Pixels %d, len Y %d, Rows %v", len(d.X), len(d.Pixels), len(d.Y), d.Rows)
	}
	if again := Synthetic(rows, features, classes); !slices.Equal(again.Pixels, d.Pixels) || !slices.Equal(again.Y, d.Y) {
		t.Fatal("Synthetic: a second call gave other data")
	}
	if lo, hi := slices.Min(d.Pixels), slices.Max(d.Pixels); lo > 16 || hi < 240 {
		t.Fatalf("Synthetic: pixels span [%d, %d], not [0, 255]", lo, hi)
	}
	for i := range rows {
		var sum float32
		for _, v := range d.Y[i*classes : (i+1)*classes] {
			sum += v
		}
		if sum != 1 {
			t.Fatalf("row %d: one-hot sums to %v", i, sum)
		}
	}
}

func TestMedian(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v", got)
	}
	if got := median([]time.Duration{4, 1, 3, 2}); got != 3 {
		t.Errorf("median(4,1,3,2) = %v", got)
	}
}

func TestArch(t *testing.T) {
	a := Arch{784, 512, 256, 10}
	if a.String() != "784-512-256-10" {
		t.Errorf("String = %q", a.String())
	}
	c := a.Config(64)
	if len(c.Hidden) != 2 || c.Hidden[0] != 512 || c.Hidden[1] != 256 || c.Batch != 64 || c.Optimizer != "adam" {
		t.Errorf("Config = %+v", c)
	}
}

// TestMeasure runs the quick measurements on tiny work and checks they
// report consistent, positive figures.
func TestMeasure(t *testing.T) {
	e := Effort{Samples: 1, MinTime: time.Millisecond, Epochs: 2}
	for _, be := range Backends() {
		if g := MeasureGEMM(be, kernels.GEMMShape{M: 8, N: 8, K: 8}, e); !(g > 0) {
			t.Errorf("%s: MeasureGEMM = %v GFLOP/s", be.Name, g)
		}
	}
	a := Arch{20, 8, 3}
	tp, err := MeasureEpoch(a, 16, Synthetic(100, 20, 3), e)
	if err != nil {
		t.Fatal(err)
	}
	if !(tp.Seconds > 0) || math.Abs(tp.SamplesPerSecond*tp.Seconds-100) > 1e-6 {
		t.Errorf("MeasureEpoch = %+v (want 100 samples per epoch)", tp)
	}
	m, _ := a.NewModel(16)
	if want := tp.SamplesPerSecond * m.FlopsPerSample() / 1e9; math.Abs(tp.GFLOPS-want) > 1e-9*want {
		t.Errorf("GFLOPS = %v, want %v", tp.GFLOPS, want)
	}
	if kernels.MachinePeak().GFLOPS <= 0 || kernels.MachinePeak().Source == "" {
		t.Errorf("MachinePeak = %+v", kernels.MachinePeak())
	}
}
