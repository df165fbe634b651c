package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

var (
	seluScaleC      = constant("seluScale", seluScale)
	seluScaleAlphaC = constant("seluScaleAlpha", seluScale*seluAlpha)
)

var activationKernels = []kernel{
	{"exp", "func(x []float32)", `is the float32 e^x the other kernels share, exposed for its
accuracy test: within 1 ulp for normal results, +Inf above ln(MaxFloat32),
correctly rounded subnormals, 0 below −103.98, NaN for NaN:

	for i, v := range x { x[i] = float32(math.Exp(float64(v))) }`,
		inPlace(1, (*simd).exp)},
	{"relu", "func(x []float32)", `is ActForward(ReLU, x):

	for i, v := range x { if v < 0 { x[i] = 0 } }`,
		inPlace(2, func(s *simd, x reg.VecVirtual) reg.VecVirtual {
			y := s.vec()
			VMAXPS(x, s.zero(), y) // max(0, x) keeps NaN and −0, as the loop does
			return y
		})},
	{"tanh", "func(x []float32)", `is ActForward(Tanh, x), within 2 ulp:

	for i, v := range x { x[i] = float32(math.Tanh(float64(v))) }`,
		inPlace(1, (*simd).tanh)},
	{"sigmoid", "func(x []float32)", `is ActForward(Sigmoid, x), within 2 ulp:

	for i, v := range x { x[i] = float32(1 / (1 + math.Exp(-float64(v)))) }`,
		inPlace(1, (*simd).sigmoid)},
	{"elu", "func(x []float32)", `is ActForward(ELU, x), within 2 ulp:

	for i, v := range x { if v <= 0 { x[i] = float32(math.Expm1(float64(v))) } }`,
		inPlace(1, func(s *simd, x reg.VecVirtual) reg.VecVirtual {
			return s.blend(s.cmp(cmpGT, x, s.zero()), x, s.expm1(x))
		})},
	{"selu", "func(x []float32)", `is ActForward(SELU, x), within 2 ulp:

	for i, v := range x {
		if v > 0 {
			x[i] = SELUScale * v
		} else {
			x[i] = float32(SELUScale * SELUAlpha * math.Expm1(float64(v)))
		}
	}`,
		inPlace(1, func(s *simd, x reg.VecVirtual) reg.VecVirtual {
			positive := s.vec()
			VMULPS(seluScaleC, x, positive)
			negative := s.expm1(x)
			VMULPS(seluScaleAlphaC, negative, negative)
			return s.blend(s.cmp(cmpGT, x, s.zero()), positive, negative)
		})},

	{"reluBackward", "func(y, dy, dx []float32)", `is ActBackward(ReLU, y, dy, dx) for len(dy), len(dx) ≥ len(y):

	for i, v := range y { if v > 0 { dx[i] = dy[i] } else { dx[i] = 0 } }`,
		backward(func(s *simd, y, dy reg.VecVirtual) reg.VecVirtual {
			return s.keep(s.cmp(cmpGT, y, s.zero()), dy)
		})},
	{"tanhBackward", "func(y, dy, dx []float32)", `is ActBackward(Tanh, y, dy, dx) for len(dy), len(dx) ≥ len(y):

	for i, v := range y { dx[i] = dy[i] * (1 - v*v) }`,
		backward(func(s *simd, y, dy reg.VecVirtual) reg.VecVirtual {
			d := s.load(one)
			VFNMADD231PS(y, y, d) // 1 − y²
			VMULPS(d, dy, d)
			return d
		})},
	{"sigmoidBackward", "func(y, dy, dx []float32)", `is ActBackward(Sigmoid, y, dy, dx) for len(dy), len(dx) ≥ len(y):

	for i, v := range y { dx[i] = dy[i] * v * (1 - v) }`,
		backward(func(s *simd, y, dy reg.VecVirtual) reg.VecVirtual {
			d := s.load(one)
			VSUBPS(y, d, d) // 1 − y
			VMULPS(y, dy, dy)
			VMULPS(d, dy, d)
			return d
		})},
	{"eluBackward", "func(y, dy, dx []float32)", `is ActBackward(ELU, y, dy, dx) for len(dy), len(dx) ≥ len(y):

	for i, v := range y { if v > 0 { dx[i] = dy[i] } else { dx[i] = dy[i] * (v + 1) } }`,
		backward(func(s *simd, y, dy reg.VecVirtual) reg.VecVirtual {
			d := s.vec()
			VADDPS(one, y, d)
			d = s.blend(s.cmp(cmpGT, y, s.zero()), s.load(one), d)
			VMULPS(d, dy, d)
			return d
		})},
	{"seluBackward", "func(y, dy, dx []float32)", `is ActBackward(SELU, y, dy, dx) for len(dy), len(dx) ≥ len(y):

	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i] * SELUScale
		} else {
			dx[i] = dy[i] * (v + SELUScale*SELUAlpha)
		}
	}`,
		backward(func(s *simd, y, dy reg.VecVirtual) reg.VecVirtual {
			d := s.vec()
			VADDPS(seluScaleAlphaC, y, d)
			d = s.blend(s.cmp(cmpGT, y, s.zero()), s.load(seluScaleC), d)
			VMULPS(d, dy, d)
			return d
		})},
}

// inPlace generates x[i] = f(x[i]) over the slice argument x.
func inPlace(unroll int, f func(s *simd, x reg.VecVirtual) reg.VecVirtual) func(s *simd) {
	return func(s *simd) {
		x, n := slice("x"), length("x")
		s.forEachBlock(n, unroll, func(b block) {
			b.each(func(k int) { b.store(f(s, b.load(x, k)), x, k) })
		})
	}
}

// backward generates dx[i] = f(y[i], dy[i]) over len(y).
func backward(f func(s *simd, y, dy reg.VecVirtual) reg.VecVirtual) func(s *simd) {
	return func(s *simd) {
		y, dy, dx, n := slice("y"), slice("dy"), slice("dx"), length("y")
		s.forEachBlock(n, 2, func(b block) {
			b.each(func(k int) { b.store(f(s, b.load(y, k), b.load(dy, k)), dx, k) })
		})
	}
}
