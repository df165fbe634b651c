package kernels

import "math"

// Optimizer updates: one fused pass over all parameters w with gradients g
// and the optimizer's state slots, in Keras's formulas (see
// shared/keras-semantics.md). The learning rate passed in is the one for
// this step (decay already applied by the caller).

// SGD: plain gradient descent.
//
//	for i := range w { w[i] -= lr * g[i] }
func SGD(w, g []float32, lr float32) {
	g = g[:len(w)]
	for i := range w {
		w[i] -= lr * g[i]
	}
}

// SGDMomentum: velocity v = momentum·v − lr·g; w += v, or with Nesterov
// w += momentum·v − lr·g.
func SGDMomentum(w, g, v []float32, lr, momentum float32, nesterov bool) {
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
	for i := range w {
		gi := g[i]
		m[i] += (gi - m[i]) * (1 - beta1)
		v[i] += (gi*gi - v[i]) * (1 - beta2)
		w[i] -= alpha * m[i] / (sqrt32(v[i]) + eps)
	}
}

// RMSprop: v = ρv + (1−ρ)g²; w −= lr·g/√(v + eps).
func RMSprop(w, g, v []float32, lr, rho, eps float32) {
	g, v = g[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		v[i] = rho*v[i] + (1-rho)*gi*gi
		w[i] -= lr * gi / sqrt32(v[i]+eps)
	}
}

// Adagrad: acc += g²; w −= lr·g/√(acc + eps).
func Adagrad(w, g, acc []float32, lr, eps float32) {
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
	for i := range w {
		gi := g[i]
		eg[i] = rho*eg[i] + (1-rho)*gi*gi
		d := -sqrt32(edx[i]+eps) / sqrt32(eg[i]+eps) * gi
		edx[i] = rho*edx[i] + (1-rho)*d*d
		w[i] += lr * d
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
