package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Vector float32 e^x, shared by every kernel that needs it.
//
// Range reduction: x = n·ln2 + r with n = round(x/ln2), |r| ≤ ln2/2, r
// computed with ln2 split in a float32 head and tail (two FMAs). Then
// e^r − 1 = r + r²·P(r) with Cephes expf's degree-5 P, and 2^n is built in
// the exponent field as two factors 2^⌊n/2⌋·2^(n−⌊n/2⌋), so results that
// overflow come out +Inf and results in the subnormal range are rounded
// once, correctly, instead of wrapping. x is first clamped to
// [−104, 89], where e^x is already 0 or +Inf in float32; NaN passes
// through (the clamps return their NaN operand).

var (
	expLow      = constant("expLow", -104)
	expHigh     = constant("expHigh", 89)
	expLog2e    = constant("expLog2e", float32(math.Log2E))
	expShifter  = constant("expShifter", 0x1.8p23) // 1.5·2²³: adding it rounds to an integer
	expLn2Hi    = constant("expLn2Hi", float32(math.Ln2))
	expLn2Lo    = constant("expLn2Lo", float32(math.Ln2-float64(float32(math.Ln2))))
	expBias     = splat("expBias", 127)
	expPoly     = polyConstants("expP", 1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)
	one         = constant("one", 1)
	two         = constant("two", 2)
	absMask     = splat("absMask", 0x7fffffff)
	signMask    = splat("signMask", 0x80000000)
	negInfinity = splat("negInfinity", 0xff800000)

	// tanh(x) = x + x·z·T(z), z = x², for |x| < 0.625 (Cephes tanhf).
	tanhSmall = constant("tanhSmall", 0.625)
	tanhPoly  = polyConstants("tanhP", -5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1)
)

func polyConstants(name string, coefficients ...float32) []Mem {
	var ms []Mem
	for i, c := range coefficients {
		ms = append(ms, constant(name+string(rune('0'+i)), c))
	}
	return ms
}

// horner returns P(x) for coefficients highest degree first.
func (s *simd) horner(coefficients []Mem, x reg.VecVirtual) reg.VecVirtual {
	p := s.load(coefficients[0])
	for _, c := range coefficients[1:] {
		VFMADD213PS(c, x, p) // p = p·x + c
	}
	return p
}

// expParts returns q = e^r − 1 and the factors s1, s2 with e^x = (1+q)·s1·s2.
func (s *simd) expParts(x reg.VecVirtual) (q, s1, s2 reg.VecVirtual) {
	r := s.vec()
	VMAXPS(x, s.load(expLow), r) // NaN in x is kept: max/min return their second operand then
	VMINPS(r, s.load(expHigh), r)
	t := s.load(expShifter)
	VFMADD231PS(expLog2e, r, t) // t = x·log2e + 1.5·2²³: n sits in the low mantissa bits
	n := s.vec()
	VSUBPS(expShifter, t, n) // n = round(x·log2e) as a float
	VFNMADD231PS(expLn2Hi, n, r)
	VFNMADD231PS(expLn2Lo, n, r) // r = x − n·ln2
	q = s.horner(expPoly, r)
	r2 := s.vec()
	VMULPS(r, r, r2)
	VFMADD213PS(r, r2, q) // q = r²·P(r) + r

	s1, s2 = s.vec(), s.vec()
	VPSUBD(expShifter, t, s2) // integer n
	VPSRAD(U8(1), s2, s1)     // ⌊n/2⌋
	VPSUBD(s1, s2, s2)        // n − ⌊n/2⌋
	VPADDD(expBias, s1, s1)
	VPSLLD(U8(23), s1, s1)
	VPADDD(expBias, s2, s2)
	VPSLLD(U8(23), s2, s2)
	return q, s1, s2
}

// exp returns e^x.
func (s *simd) exp(x reg.VecVirtual) reg.VecVirtual {
	q, s1, s2 := s.expParts(x)
	VFMADD213PS(s1, s1, q) // s1·(1+q), one rounding
	VMULPS(s2, q, q)
	return q
}

// expm1 returns e^x − 1 for x ≤ 88 (the ELU branch needs x ≤ 0), accurate
// near 0: 2^n·q + (2^n − 1), where 2^n − 1 is exact for the n that matter.
func (s *simd) expm1(x reg.VecVirtual) reg.VecVirtual {
	q, s1, s2 := s.expParts(x)
	VMULPS(s2, s1, s1) // 2^n
	m := s.vec()
	VSUBPS(one, s1, m)
	VFMADD213PS(m, s1, q)
	return q
}

// tanh: x + x·z·T(z) for |x| < 0.625, else ±(1 − 2/(e^(2|x|) + 1)), which
// is exactly ±1 once e^(2|x|) is large or +Inf.
func (s *simd) tanh(x reg.VecVirtual) reg.VecVirtual {
	a := s.vec()
	VANDPS(absMask, x, a)
	e := s.vec()
	VADDPS(a, a, e)
	e = s.exp(e)
	VADDPS(one, e, e)
	large := s.load(two)
	VDIVPS(e, large, large)
	VSUBPS(large, s.load(one), large) // 1 − 2/(e+1)
	sign := s.vec()
	VANDPS(signMask, x, sign)
	VORPS(sign, large, large)

	z := s.vec()
	VMULPS(x, x, z)
	small := s.horner(tanhPoly, z)
	VMULPS(z, small, small)
	VFMADD213PS(x, x, small) // x·z·T(z) + x

	return s.blend(s.cmp(cmpLT, a, tanhSmall), small, large)
}

// sigmoid: 1/(1 + e^−x), exactly 0 once e^−x overflows and 1 once it is
// below half an ulp.
func (s *simd) sigmoid(x reg.VecVirtual) reg.VecVirtual {
	e := s.vec()
	VXORPS(signMask, x, e)
	e = s.exp(e)
	VADDPS(one, e, e)
	d := s.load(one)
	VDIVPS(e, d, d)
	return d
}
