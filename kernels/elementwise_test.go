package kernels

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The conformance suite of the elementwise kernels: every exported kernel,
// on every path this CPU can run, against its Go twin, on these lengths,
// with guard lanes around every buffer.
var elementwiseSizes = []int{0, 1, 3, 7, 15, 16, 17, 31, 33, 100, 1000}

// forEachPath runs f with each path forced in turn; a path this CPU or
// build cannot run is reported as skipped.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, isa := range []ISA{Generic, AVX2, AVX512} {
		t.Run(isa.String(), func(t *testing.T) {
			prev := ActiveISA()
			if err := SetISA(isa); err != nil {
				t.Skip(err)
			}
			defer SetISA(prev)
			f(t)
		})
	}
}

// guardLanes is the guard band on each side of a buffer: more than two
// AVX-512 vectors, so a kernel overrunning by a whole block is caught.
const guardLanes = 40

// guardBits is the guard value, a NaN with a payload no kernel produces.
const guardBits = 0x7fc0beef

// guardedBuffer is a slice inside a larger backing array; the slice's
// capacity runs into the upper guard, as for a sub-slice of a workspace.
type guardedBuffer struct {
	backing []float32
	n       int
}

// guardCopy copies x into a guarded buffer.
func guardCopy(x []float32) guardedBuffer {
	g := guardedBuffer{make([]float32, len(x)+2*guardLanes), len(x)}
	for i := range g.backing {
		g.backing[i] = math.Float32frombits(guardBits)
	}
	copy(g.slice(), x)
	return g
}

func (g guardedBuffer) slice() []float32 { return g.backing[guardLanes : guardLanes+g.n] }

// check fails t if a guard lane changed.
func (g guardedBuffer) check(t *testing.T, name string) {
	t.Helper()
	for i, v := range g.backing {
		if (i < guardLanes || i >= guardLanes+g.n) && math.Float32bits(v) != guardBits {
			t.Fatalf("%s: guard lane %d (slice index %d) overwritten with %v", name, i, i-guardLanes, v)
		}
	}
}

// expectNear fails t unless got[i] and want[i] are equal, both NaN, or
// within bound(i).
func expectNear(t *testing.T, what string, got, want []float32, bound func(i int) float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if g == w || math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		if math.IsNaN(g) || math.IsNaN(w) || math.IsInf(g, 0) || math.IsInf(w, 0) || math.Abs(g-w) > bound(i) {
			t.Fatalf("%s[%d] = %v, want %v (difference %.3g, bound %.3g)", what, i, got[i], want[i], math.Abs(g-w), bound(i))
		}
	}
}

// expectEqual fails t unless got and want have the same bits.
func expectEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v exactly", what, i, got[i], want[i])
		}
	}
}

// ulpsApart counts the float32 values between a and b (same sign assumed
// when both are nonzero); values below the normal range count as equal.
func ulpsApart(a, b float32) float64 {
	if math.Abs(float64(a)) < 0x1p-126 && math.Abs(float64(b)) < 0x1p-126 {
		return 0
	}
	return math.Abs(float64(orderedBits(a) - orderedBits(b)))
}

// orderedBits maps float32 to integers in the order of the values.
func orderedBits(x float32) int64 {
	b := int64(math.Float32bits(x))
	if b&0x80000000 != 0 {
		return -(b & 0x7fffffff)
	}
	return b
}

// randomFloats returns n values drawn by f.
func randomFloats(n int, f func() float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = f()
	}
	return x
}

func normal(r *rand.Rand, sigma float64) func() float32 {
	return func() float32 { return float32(r.NormFloat64() * sigma) }
}

func between(r *rand.Rand, lo, hi float64) func() float32 {
	return func() float32 { return float32(lo + (hi-lo)*r.Float64()) }
}

// TestExpAccuracy measures the vector paths' float32 e^x against math.Exp
// on a grid over [−110, 95] (every result range: 0, subnormal, normal,
// +Inf) plus the special values.
func TestExpAccuracy(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		v := vectorPath()
		if v == nil {
			t.Skip("the Go path uses math.Exp")
		}
		const n = 1 << 20
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(-110 + 205*(float64(i)+0.5)/n)
		}
		x = append(x, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 88.72283, 88.72284, -87.33654, -103.27893, -103.97208, -104.5,
			float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32)
		got := append([]float32(nil), x...)
		v.exp(got)
		worst, worstAt := 0.0, float32(0)
		for i, xi := range x {
			want := float32(math.Exp(float64(xi)))
			switch {
			case math.IsNaN(float64(want)):
				if !math.IsNaN(float64(got[i])) {
					t.Fatalf("exp(%v) = %v, want NaN", xi, got[i])
				}
			case want < 0x1p-126: // subnormal or 0: within one subnormal step
				if math.Abs(float64(got[i]-want)) > 0x1p-149 {
					t.Fatalf("exp(%v) = %v, want %v", xi, got[i], want)
				}
			default:
				if d := ulpsApart(got[i], want); d > worst {
					worst, worstAt = d, xi
				}
			}
		}
		t.Logf("max error %v ulp (at x = %v)", worst, worstAt)
		if worst > 1 {
			t.Fatalf("exp: %v ulp at x = %v, documented bound 1 ulp", worst, worstAt)
		}
	})
}

// TestAVX2CodeAvoidsAVX512 checks that the generated AVX2 functions use
// only registers and instructions an AVX2-only CPU has: the register
// allocator may hand out X16–X31 / Y16–Y31, which need EVEX encodings.
func TestAVX2CodeAvoidsAVX512(t *testing.T) {
	f, err := os.Open("elementwise_gen_amd64.s")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	avx512Only := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b|\.Z\b|\.BCST\b`)
	var fn string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "TEXT ") {
			fn = strings.Fields(text)[1]
		}
		if strings.Contains(fn, "AVX2") && avx512Only.MatchString(text) {
			t.Errorf("elementwise_gen_amd64.s:%d (%s) needs AVX-512: %s", line, fn, strings.TrimSpace(text))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestElementwiseAllocs checks that no exported elementwise kernel
// allocates, on any path.
func TestElementwiseAllocs(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		const n = 100
		a, b, c, d := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		calls := map[string]func(){
			"ActForward":  func() { ActForward(Tanh, a) },
			"ActBackward": func() { ActBackward(SELU, a, b, c) },
			"AddBias":     func() { AddBias(a, b[:10]) },
			"SumRows":     func() { SumRows(a, b[:10]) },
			"SoftmaxXent": func() { SoftmaxXent(a, b, 10, 10, 0.1, c, d) },
			"SGD":         func() { SGD(a, b, 0.1) },
			"SGDMomentum": func() { SGDMomentum(a, b, c, 0.1, 0.9, true) },
			"Adam":        func() { Adam(a, b, c, d, 1e-3, 0.9, 0.999, 1e-7) },
			"RMSprop":     func() { RMSprop(a, b, c, 1e-3, 0.9, 1e-7) },
			"Adagrad":     func() { Adagrad(a, b, c, 1e-3, 1e-7) },
			"Adadelta":    func() { Adadelta(a, b, c, d, 1e-3, 0.95, 1e-7) },
			"L1L2Penalty": func() { L1L2Penalty(a, 0.1, 0.1) },
			"AddL1L2Grad": func() { AddL1L2Grad(a, b, 0.1, 0.1) },
			"Mul":         func() { Mul(a, b) },
		}
		for name, call := range calls {
			if allocs := testing.AllocsPerRun(10, call); allocs != 0 {
				t.Errorf("%s allocates %v times per call", name, allocs)
			}
		}
	})
}
