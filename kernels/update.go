package kernels

import "math"

// Optimizer updates: one fused pass over all parameters w with gradients g
// and the optimizer's state slots, in Keras's formulas (see
// docs/keras-semantics.md). The learning rate passed in is the one for
// this step (decay already applied by the caller). The vector paths use
// FMA and exact IEEE sqrt and division, so they differ from the Go twins
// only by FMA rounding (a few ulp).

// SGD: plain gradient descent.
//
//	for i := range w { w[i] -= lr * g[i] }
func SGD(w, g []float32, lr float32) {
	g = g[:len(w)]
	if v := vectorPath(); v != nil {
		v.sgd(w, g, lr)
		return
	}
	sgdGeneric(w, g, lr)
}

// sgdGeneric is the Go twin of the sgd kernels:
//
//	for i := range w { w[i] -= lr * g[i] }
func sgdGeneric(w, g []float32, lr float32) {
	g = g[:len(w)]
	for i := range w {
		w[i] -= lr * g[i]
	}
}

// SGDMomentum: velocity v = momentum·v − lr·g; w += v, or with Nesterov
// w += momentum·v − lr·g.
func SGDMomentum(w, g, v []float32, lr, momentum float32, nesterov bool) {
	g, v = g[:len(w)], v[:len(w)]
	if vk := vectorPath(); vk != nil {
		if nesterov {
			vk.sgdNesterov(w, g, v, lr, momentum)
		} else {
			vk.sgdMomentum(w, g, v, lr, momentum)
		}
		return
	}
	sgdMomentumGeneric(w, g, v, lr, momentum, nesterov)
}

// sgdMomentumGeneric is the Go twin of the sgdMomentum (nesterov false) and
// sgdNesterov kernels:
//
//	for i := range w { v[i] = momentum*v[i] - lr*g[i]; w[i] += v[i] }
//	for i := range w { v[i] = momentum*v[i] - lr*g[i]; w[i] += momentum*v[i] - lr*g[i] }
func sgdMomentumGeneric(w, g, v []float32, lr, momentum float32, nesterov bool) {
	g, v = g[:len(w)], v[:len(w)]
	for i := range w {
		v[i] = momentum*v[i] - lr*g[i]
		if nesterov {
			w[i] += momentum*v[i] - lr*g[i]
		} else {
			w[i] += v[i]
		}
	}
}

// Adam with bias correction folded into alpha = lr·√(1−β2^(t+1))/(1−β1^(t+1)):
//
//	m += (g−m)(1−β1); v += (g²−v)(1−β2); w −= alpha·m/(√v + eps)
func Adam(w, g, m, v []float32, alpha, beta1, beta2, eps float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	if vk := vectorPath(); vk != nil {
		vk.adam(w, g, m, v, alpha, 1-beta1, 1-beta2, eps)
		return
	}
	adamGeneric(w, g, m, v, alpha, 1-beta1, 1-beta2, eps)
}

// adamGeneric is the Go twin of the adam kernels:
//
//	for i := range w {
//		m[i] += (g[i] - m[i]) * oneMinusBeta1
//		v[i] += (g[i]*g[i] - v[i]) * oneMinusBeta2
//		w[i] -= alpha * m[i] / (sqrt(v[i]) + eps)
//	}
func adamGeneric(w, g, m, v []float32, alpha, oneMinusBeta1, oneMinusBeta2, eps float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		m[i] += (gi - m[i]) * oneMinusBeta1
		v[i] += (gi*gi - v[i]) * oneMinusBeta2
		w[i] -= alpha * m[i] / (sqrt32(v[i]) + eps)
	}
}

// RMSprop: v = ρv + (1−ρ)g²; w −= lr·g/√(v + eps).
func RMSprop(w, g, v []float32, lr, rho, eps float32) {
	g, v = g[:len(w)], v[:len(w)]
	if vk := vectorPath(); vk != nil {
		vk.rmsprop(w, g, v, lr, rho, 1-rho, eps)
		return
	}
	rmspropGeneric(w, g, v, lr, rho, 1-rho, eps)
}

// rmspropGeneric is the Go twin of the rmsprop kernels:
//
//	for i := range w {
//		v[i] = rho*v[i] + oneMinusRho*g[i]*g[i]
//		w[i] -= lr * g[i] / sqrt(v[i]+eps)
//	}
func rmspropGeneric(w, g, v []float32, lr, rho, oneMinusRho, eps float32) {
	g, v = g[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		v[i] = rho*v[i] + oneMinusRho*gi*gi
		w[i] -= lr * gi / sqrt32(v[i]+eps)
	}
}

// Adagrad: acc += g²; w −= lr·g/√(acc + eps).
func Adagrad(w, g, acc []float32, lr, eps float32) {
	g, acc = g[:len(w)], acc[:len(w)]
	if vk := vectorPath(); vk != nil {
		vk.adagrad(w, g, acc, lr, eps)
		return
	}
	adagradGeneric(w, g, acc, lr, eps)
}

// adagradGeneric is the Go twin of the adagrad kernels:
//
//	for i := range w { acc[i] += g[i] * g[i]; w[i] -= lr * g[i] / sqrt(acc[i]+eps) }
func adagradGeneric(w, g, acc []float32, lr, eps float32) {
	g, acc = g[:len(w)], acc[:len(w)]
	for i := range w {
		gi := g[i]
		acc[i] += gi * gi
		w[i] -= lr * gi / sqrt32(acc[i]+eps)
	}
}

// Adadelta: Eg = ρEg + (1−ρ)g²; Δ = −√(Edx+eps)/√(Eg+eps)·g;
// Edx = ρEdx + (1−ρ)Δ²; w += lr·Δ.
func Adadelta(w, g, eg, edx []float32, lr, rho, eps float32) {
	g, eg, edx = g[:len(w)], eg[:len(w)], edx[:len(w)]
	if vk := vectorPath(); vk != nil {
		vk.adadelta(w, g, eg, edx, lr, rho, 1-rho, eps)
		return
	}
	adadeltaGeneric(w, g, eg, edx, lr, rho, 1-rho, eps)
}

// adadeltaGeneric is the Go twin of the adadelta kernels:
//
//	for i := range w {
//		eg[i] = rho*eg[i] + oneMinusRho*g[i]*g[i]
//		d := -sqrt(edx[i]+eps) / sqrt(eg[i]+eps) * g[i]
//		edx[i] = rho*edx[i] + oneMinusRho*d*d
//		w[i] += lr * d
//	}
func adadeltaGeneric(w, g, eg, edx []float32, lr, rho, oneMinusRho, eps float32) {
	g, eg, edx = g[:len(w)], eg[:len(w)], edx[:len(w)]
	for i := range w {
		gi := g[i]
		eg[i] = rho*eg[i] + oneMinusRho*gi*gi
		d := -sqrt32(edx[i]+eps) / sqrt32(eg[i]+eps) * gi
		edx[i] = rho*edx[i] + oneMinusRho*d*d
		w[i] += lr * d
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
