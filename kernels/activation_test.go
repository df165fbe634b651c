package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// activationSpecials are sprinkled through the inputs: zeros, tiny values,
// the tanh branch point, saturation, overflow of e^±x, infinities, NaN.
var activationSpecials = []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-4, -1e-4, 0.625, -0.625, 0.6249999,
	9, -9, 20, -20, 88, -88, 89, -89, 100, -100, 1e30, -1e30, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}

// activationInputs is n values, mostly N(0, 4²), every third a special.
func activationInputs(r *rand.Rand, n int) []float32 {
	x := randomFloats(n, normal(r, 4))
	for i := 1; i < n; i += 3 {
		x[i] = activationSpecials[r.IntN(len(activationSpecials))]
	}
	return x
}

// Forward tolerance: the vector exp is within 1 ulp; tanh, sigmoid, ELU and
// SELU measured within 2 ulp of the float64 reference (TestActForward logs
// the worst case). Values below the normal range may differ by 2⁻¹²⁶.
const activationULPs = 2

var activations = []Activation{Linear, ReLU, Tanh, Sigmoid, ELU, SELU}

func TestActForward(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, act := range activations {
			worst := 0.0
			for _, n := range elementwiseSizes {
				x := activationInputs(r, n)
				want := append([]float32(nil), x...)
				actForwardGeneric(act, want)
				buf := guardCopy(x)
				ActForward(act, buf.slice())
				buf.check(t, "ActForward x")
				for i, w := range want {
					g := buf.slice()[i]
					if math.IsNaN(float64(w)) != math.IsNaN(float64(g)) || ulpsApart(g, w) > activationULPs {
						t.Fatalf("act %d, n=%d: f(%v) = %v, want %v", act, n, x[i], g, w)
					}
					if !math.IsNaN(float64(w)) {
						worst = max(worst, ulpsApart(g, w))
					}
				}
			}
			t.Logf("act %d: max error %v ulp", act, worst)
		}
	})
}

// TestActForwardSaturation pins the values the engine relies on.
func TestActForwardSaturation(t *testing.T) {
	inf := float32(math.Inf(1))
	cases := []struct {
		act     Activation
		x, want []float32
	}{
		{Sigmoid, []float32{-inf, -1e30, -200, -104, 40, 200, 1e30, inf}, []float32{0, 0, 0, 0, 1, 1, 1, 1}},
		{Tanh, []float32{-inf, -1e30, -100, -10, 10, 100, 1e30, inf}, []float32{-1, -1, -1, -1, 1, 1, 1, 1}},
		{ELU, []float32{-inf, -1e30, -200, 0, 5, inf}, []float32{-1, -1, -1, 0, 5, inf}},
		{SELU, []float32{-inf, -200, inf}, []float32{-SELUScale * SELUAlpha, -SELUScale * SELUAlpha, inf}},
	}
	forEachPath(t, func(t *testing.T) {
		for _, c := range cases {
			for _, n := range []int{1, 17} { // a tail lane, and full vectors
				x := make([]float32, 0, n*len(c.x))
				want := make([]float32, 0, n*len(c.x))
				for i := 0; i < n; i++ {
					x, want = append(x, c.x...), append(want, c.want...)
				}
				got := append([]float32(nil), x...)
				ActForward(c.act, got)
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("act %d: f(%v) = %v, want %v", c.act, x[i], got[i], want[i])
					}
				}
			}
		}
	})
}

func TestActBackward(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, act := range activations {
			for _, n := range elementwiseSizes {
				y := activationInputs(r, n)
				actForwardGeneric(act, y) // outputs of f, as the engine passes
				dy := randomFloats(n, normal(r, 1))
				want := make([]float32, n)
				actBackwardGeneric(act, y, dy, want)
				// Tanh's 1 − y² is fused on the vector paths: bound the
				// error by the size of the terms, not of the result.
				bound := func(i int) float64 {
					a := math.Abs(float64(y[i]))
					return 0x1p-22 * math.Abs(float64(dy[i])) * (2 + a + a*a)
				}

				yBuf, dyBuf, dxBuf := guardCopy(y), guardCopy(dy), guardCopy(make([]float32, n))
				ActBackward(act, yBuf.slice(), dyBuf.slice(), dxBuf.slice())
				yBuf.check(t, "y")
				dyBuf.check(t, "dy")
				dxBuf.check(t, "dx")
				expectEqual(t, "y (input)", yBuf.slice(), y)
				expectEqual(t, "dy (input)", dyBuf.slice(), dy)
				expectNear(t, "dx", dxBuf.slice(), want, bound)

				// In place, as the engine calls it: dx aliases dy.
				ActBackward(act, yBuf.slice(), dyBuf.slice(), dyBuf.slice())
				dyBuf.check(t, "dy (in place)")
				expectNear(t, "dx (in place)", dyBuf.slice(), want, bound)
			}
		}
	})
}
