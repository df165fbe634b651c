package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzSgemm checks random shapes, transposes, padding, alpha and beta on
// every backend against the float64 reference, with guard bands.
func FuzzSgemm(f *testing.F) {
	f.Add(uint16(13), uint16(37), uint16(300), false, true, float32(1), float32(0), uint8(5), uint64(1))
	f.Add(uint16(128), uint16(10), uint16(128), true, false, float32(-0.5), float32(1), uint8(0), uint64(2))
	f.Add(uint16(1), uint16(1), uint16(1), true, true, float32(2), float32(-1), uint8(63), uint64(3))
	f.Fuzz(func(t *testing.T, m, n, k uint16, transA, transB bool, alpha, beta float32, pads uint8, seed uint64) {
		for _, x := range []float32{alpha, beta} {
			if math.IsNaN(float64(x)) || math.Abs(float64(x)) > 16 {
				t.Skip("alpha and beta are kept finite and moderate so the reference bound holds")
			}
		}
		tc := gemmCase{transA: transA, transB: transB, m: int(m % 300), n: int(n % 300), k: int(k % 600),
			alpha: alpha, beta: beta, padA: int(pads & 3), padB: int(pads >> 2 & 3), padC: int(pads >> 4 & 3), nanC: beta == 0 && pads&64 != 0}
		p := tc.problem(rand.New(rand.NewPCG(seed, 11)))
		ctx := NewContext(1 + int(pads>>7))
		for _, be := range gemmBackends() {
			if err := p.check(be, ctx); err != nil {
				t.Fatalf("%s %v: %v", be.name, tc, err)
			}
		}
	})
}
