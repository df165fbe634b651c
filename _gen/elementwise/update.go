package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

// The optimizer updates: one pass over w, g and the state slots, two
// vectors per iteration; sqrt and division are the exact IEEE instructions,
// so results differ from the Go loops only by FMA rounding.
var updateKernels = []kernel{
	{"sgd", "func(w, g []float32, lr float32)", `is SGD for len(g) ≥ len(w):

	for i := range w { w[i] -= lr * g[i] }`,
		update(nil, []string{"lr"}, func(s *simd, v, c []reg.VecVirtual) {
			w, g, lr := v[0], v[1], c[0]
			VFNMADD231PS(g, lr, w)
		})},
	{"sgdMomentum", "func(w, g, v []float32, lr, momentum float32)", `is SGDMomentum without Nesterov, len(g), len(v) ≥ len(w):

	for i := range w { v[i] = momentum*v[i] - lr*g[i]; w[i] += v[i] }`,
		update([]string{"v"}, []string{"lr", "momentum"}, func(s *simd, v, c []reg.VecVirtual) {
			w, g, vel, lr, momentum := v[0], v[1], v[2], c[0], c[1]
			VMULPS(lr, g, g)
			VFMSUB213PS(g, momentum, vel) // momentum·v − lr·g
			VADDPS(vel, w, w)
		})},
	{"sgdNesterov", "func(w, g, v []float32, lr, momentum float32)", `is SGDMomentum with Nesterov, len(g), len(v) ≥ len(w):

	for i := range w { v[i] = momentum*v[i] - lr*g[i]; w[i] += momentum*v[i] - lr*g[i] }`,
		update([]string{"v"}, []string{"lr", "momentum"}, func(s *simd, v, c []reg.VecVirtual) {
			w, g, vel, lr, momentum := v[0], v[1], v[2], c[0], c[1]
			VMULPS(lr, g, g)
			VFMSUB213PS(g, momentum, vel) // v = momentum·v − lr·g
			VFMSUB231PS(vel, momentum, g) // momentum·v − lr·g
			VADDPS(g, w, w)
		})},
	{"adam", "func(w, g, m, v []float32, alpha, oneMinusBeta1, oneMinusBeta2, eps float32)", `is Adam for len(g), len(m), len(v) ≥ len(w):

	for i := range w {
		m[i] += (g[i] - m[i]) * oneMinusBeta1
		v[i] += (g[i]*g[i] - v[i]) * oneMinusBeta2
		w[i] -= alpha * m[i] / (sqrt(v[i]) + eps)
	}`,
		update([]string{"m", "v"}, []string{"alpha", "oneMinusBeta1", "oneMinusBeta2", "eps"}, func(s *simd, v, c []reg.VecVirtual) {
			w, g, m, vv := v[0], v[1], v[2], v[3]
			alpha, c1, c2, eps := c[0], c[1], c[2], c[3]
			d := s.vec()
			VSUBPS(m, g, d)
			VFMADD231PS(c1, d, m) // m += (g−m)·(1−β1)
			VFMSUB213PS(vv, g, g) // g² − v
			VFMADD231PS(c2, g, vv)
			VSQRTPS(vv, d)
			VADDPS(eps, d, d)
			VMULPS(alpha, m, g)
			VDIVPS(d, g, g)
			VSUBPS(g, w, w)
		})},
	{"rmsprop", "func(w, g, v []float32, lr, rho, oneMinusRho, eps float32)", `is RMSprop for len(g), len(v) ≥ len(w):

	for i := range w {
		v[i] = rho*v[i] + oneMinusRho*g[i]*g[i]
		w[i] -= lr * g[i] / sqrt(v[i]+eps)
	}`,
		update([]string{"v"}, []string{"lr", "rho", "oneMinusRho", "eps"}, func(s *simd, v, c []reg.VecVirtual) {
			w, g, vv := v[0], v[1], v[2]
			lr, rho, c1, eps := c[0], c[1], c[2], c[3]
			t := s.vec()
			VMULPS(c1, g, t)
			VMULPS(g, t, t)
			VFMADD213PS(t, rho, vv) // ρv + (1−ρ)g²
			VADDPS(eps, vv, t)
			VSQRTPS(t, t)
			VMULPS(lr, g, g)
			VDIVPS(t, g, g)
			VSUBPS(g, w, w)
		})},
	{"adagrad", "func(w, g, acc []float32, lr, eps float32)", `is Adagrad for len(g), len(acc) ≥ len(w):

	for i := range w { acc[i] += g[i] * g[i]; w[i] -= lr * g[i] / sqrt(acc[i]+eps) }`,
		update([]string{"acc"}, []string{"lr", "eps"}, func(s *simd, v, c []reg.VecVirtual) {
			w, g, acc, lr, eps := v[0], v[1], v[2], c[0], c[1]
			VFMADD231PS(g, g, acc)
			t := s.vec()
			VADDPS(eps, acc, t)
			VSQRTPS(t, t)
			VMULPS(lr, g, g)
			VDIVPS(t, g, g)
			VSUBPS(g, w, w)
		})},
	{"adadelta", "func(w, g, eg, edx []float32, lr, rho, oneMinusRho, eps float32)", `is Adadelta for len(g), len(eg), len(edx) ≥ len(w):

	for i := range w {
		eg[i] = rho*eg[i] + oneMinusRho*g[i]*g[i]
		d := -sqrt(edx[i]+eps) / sqrt(eg[i]+eps) * g[i]
		edx[i] = rho*edx[i] + oneMinusRho*d*d
		w[i] += lr * d
	}`,
		update([]string{"eg", "edx"}, []string{"lr", "rho", "oneMinusRho", "eps"}, func(s *simd, v, c []reg.VecVirtual) {
			w, g, eg, edx := v[0], v[1], v[2], v[3]
			lr, rho, c1, eps := c[0], c[1], c[2], c[3]
			t := s.vec()
			VMULPS(c1, g, t)
			VMULPS(g, t, t)
			VFMADD213PS(t, rho, eg) // ρEg + (1−ρ)g²
			den, num := s.vec(), s.vec()
			VADDPS(eps, eg, den)
			VSQRTPS(den, den)
			VADDPS(eps, edx, num)
			VSQRTPS(num, num)
			VDIVPS(den, num, num)
			VMULPS(g, num, num) // −Δ
			VMULPS(c1, num, t)
			VMULPS(num, t, t)
			VFMADD213PS(t, rho, edx) // ρEdx + (1−ρ)Δ²
			VFNMADD231PS(num, lr, w) // w += lr·Δ
		})},
}

// update generates a pass over w, g and the state slices, len(w) elements,
// with the float32 arguments named in scalars broadcast. f updates the
// loaded vectors w, g, state... in registers (g is scratch: it is not
// written back); c holds the scalars in order.
func update(state, scalars []string, f func(s *simd, v, c []reg.VecVirtual)) func(s *simd) {
	return func(s *simd) {
		slices := append([]string{"w", "g"}, state...)
		var ptrs []reg.GPVirtual
		for _, name := range slices {
			ptrs = append(ptrs, slice(name))
		}
		n := length("w")
		var c []reg.VecVirtual
		for _, name := range scalars {
			c = append(c, s.broadcast(name))
		}
		s.forEachBlock(n, 2, func(b block) {
			b.each(func(k int) {
				var v []reg.VecVirtual
				for _, p := range ptrs {
					v = append(v, b.load(p, k))
				}
				f(s, v, c)
				for i, p := range ptrs {
					if i != 1 {
						b.store(v[i], p, k)
					}
				}
			})
		})
	}
}
