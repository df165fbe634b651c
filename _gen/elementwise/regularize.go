package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

var regularizeKernels = []kernel{
	{"absSqSum", "func(x []float32) (abs, sq float32)", `returns the sums L1L2Penalty needs, accumulated in 2·width lanes:

	for _, v := range x { abs += |v|; sq += v * v }`,
		func(s *simd) {
			x, n := slice("x"), length("x")
			var abs, sq [2]reg.VecVirtual
			for k := range abs {
				abs[k], sq[k] = s.zero(), s.zero()
			}
			s.forEachBlock(n, 2, func(b block) {
				b.each(func(k int) {
					v := b.load(x, k)
					VFMADD231PS(v, v, sq[k])
					VANDPS(absMask, v, v)
					VADDPS(v, abs[k], abs[k])
				})
			})
			VADDPS(abs[1], abs[0], abs[0])
			VADDPS(sq[1], sq[0], sq[0])
			returnFloat(s.hsum(abs[0]), "abs")
			returnFloat(s.hsum(sq[0]), "sq")
		}},
	{"addL1L2Grad", "func(x, g []float32, l1, twoL2 float32)", `is AddL1L2Grad for len(g) ≥ len(x), twoL2 = 2·l2:

	for i, v := range x {
		s := float32(0)
		if v > 0 { s = l1 } else if v < 0 { s = -l1 }
		g[i] += s + twoL2*v
	}`,
		func(s *simd) {
			x, g, n := slice("x"), slice("g"), length("x")
			l1, twoL2 := s.broadcast("l1"), s.broadcast("twoL2")
			s.forEachBlock(n, 2, func(b block) {
				b.each(func(k int) {
					v := b.load(x, k)
					sign := s.vec()
					VANDPS(signMask, v, sign)
					VORPS(l1, sign, sign) // l1 with the sign of v
					sign = s.keep(s.cmp(cmpNEQ, v, s.zero()), sign)
					VFMADD231PS(twoL2, v, sign)
					VADDPS(b.load(g, k), sign, sign)
					b.store(sign, g, k)
				})
			})
		}},
	{"mul", "func(x, mask []float32)", `is Mul for len(mask) ≥ len(x):

	for i := range x { x[i] *= mask[i] }`,
		func(s *simd) {
			x, mask, n := slice("x"), slice("mask"), length("x")
			s.forEachBlock(n, 2, func(b block) {
				b.each(func(k int) {
					v := b.load(x, k)
					VMULPS(b.load(mask, k), v, v)
					b.store(v, x, k)
				})
			})
		}},
}
