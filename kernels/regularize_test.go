package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// regularizerInputs is N(0, 1) with exact zeros (sign(0) = 0) and a −0.
func regularizerInputs(r *rand.Rand, n int) []float32 {
	x := randomFloats(n, normal(r, 1))
	for i := 2; i < n; i += 5 {
		x[i] = 0
	}
	if n > 4 {
		x[4] = float32(math.Copysign(0, -1))
	}
	return x
}

// TestL1L2Penalty compares every path with the exact (float64) sums: each
// float32 summation order is within (n+2)·2⁻²⁴ of the value.
func TestL1L2Penalty(t *testing.T) {
	const l1, l2 = 0.01, 0.003
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, n := range elementwiseSizes {
			x := regularizerInputs(r, n)
			var abs, sq float64
			for _, v := range x {
				abs += math.Abs(float64(v))
				sq += float64(v) * float64(v)
			}
			exact := l1*abs + l2*sq
			buf := guardCopy(x)
			got := L1L2Penalty(buf.slice(), l1, l2)
			buf.check(t, "x")
			if d := math.Abs(float64(got) - exact); d > float64(n+2)*0x1p-24*exact {
				t.Errorf("n=%d: L1L2Penalty = %v, want %v", n, got, exact)
			}
		}
	})
}

func TestAddL1L2Grad(t *testing.T) {
	const l1, l2 = 0.01, 0.003
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		for _, n := range elementwiseSizes {
			x, g := regularizerInputs(r, n), randomFloats(n, normal(r, 0.1))
			want := append([]float32(nil), g...)
			addL1L2GradGeneric(x, want, l1, 2*l2)
			xBuf, gBuf := guardCopy(x), guardCopy(g)
			AddL1L2Grad(xBuf.slice(), gBuf.slice(), l1, l2)
			xBuf.check(t, "x")
			gBuf.check(t, "g")
			expectNear(t, fmt.Sprintf("n=%d: g", n), gBuf.slice(), want, func(i int) float64 {
				return 0x1p-22 * (math.Abs(float64(g[i])) + l1 + 2*l2*math.Abs(float64(x[i])))
			})
		}
	})
}

func TestMul(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, n := range elementwiseSizes {
			x := randomFloats(n, normal(r, 1))
			mask := randomFloats(n, func() float32 { return float32(r.IntN(2)) * 2 }) // dropout, rate 0.5
			want := append([]float32(nil), x...)
			mulGeneric(want, mask)
			xBuf, maskBuf := guardCopy(x), guardCopy(mask)
			Mul(xBuf.slice(), maskBuf.slice())
			xBuf.check(t, "x")
			maskBuf.check(t, "mask")
			expectEqual(t, fmt.Sprintf("n=%d: x", n), xBuf.slice(), want)
		}
	})
}
