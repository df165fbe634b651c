package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refLoss is an independent float64 implementation of the loss of m's
// architecture at parameters params (flat, the model's layout: W_l, b_l,
// then γ_l, β_l with batch norm, per layer), for x [rows×In], t [rows×Out],
// written straight from the Keras formulas. In training, batch norm uses
// the batch's statistics and the hidden outputs the dropout masks (nil:
// none); otherwise batch norm uses m's moving statistics.
func refLoss(m *Model, params []float64, x, t []float32, rows int, training bool, masks [][]float32) float64 {
	logits, penalty := refForward(m, params, x, rows, training, masks)
	var xent float64
	for r := 0; r < rows; r++ {
		p := refSoftmax(logits[r*m.out : (r+1)*m.out])
		for j, v := range p {
			xent -= float64(t[r*m.out+j]) * math.Log(v)
		}
	}
	return xent/float64(rows) + penalty
}

// refForward returns the logits [rows×Out] and the regularization penalty
// (kernel and activity terms) of refLoss.
func refForward(m *Model, params []float64, x []float32, rows int, training bool, masks [][]float32) (logits []float64, penalty float64) {
	cfg := m.cfg
	widths := append(append([]int{m.in}, cfg.Hidden...), m.out)
	a := make([]float64, len(x[:rows*m.in]))
	for i, v := range x[:rows*m.in] {
		a[i] = float64(v)
	}
	off, offMoving := 0, 0
	next := func(n int) []float64 {
		off += n
		return params[off-n : off]
	}
	for l := 1; l < len(widths); l++ {
		in, out := widths[l-1], widths[l]
		w, b := next(in*out), next(out)
		y := make([]float64, rows*out)
		for r := 0; r < rows; r++ {
			for j := 0; j < out; j++ {
				s := b[j]
				for k := 0; k < in; k++ {
					s += a[r*in+k] * w[k*out+j]
				}
				y[r*out+j] = s
			}
		}
		if l == len(widths)-1 {
			a = y
			break
		}
		if cfg.BatchNorm {
			gamma, beta := next(out), next(out)
			mean, variance := make([]float64, out), make([]float64, out)
			if training {
				for i, v := range y {
					mean[i%out] += v / float64(rows)
				}
				for i, v := range y {
					variance[i%out] += (v - mean[i%out]) * (v - mean[i%out]) / float64(rows)
				}
			} else {
				for j := range out {
					mean[j], variance[j] = float64(m.moving[offMoving+j]), float64(m.moving[offMoving+out+j])
				}
			}
			offMoving += 2 * out
			for i, v := range y {
				j := i % out
				y[i] = gamma[j]*(v-mean[j])/math.Sqrt(variance[j]+1e-3) + beta[j]
			}
		}
		for _, v := range w {
			penalty += cfg.L1*math.Abs(v) + cfg.L2*v*v
		}
		var activity float64
		for i, v := range y {
			y[i] = refActivation(cfg.Activation, v)
			activity += cfg.ActivityL1*math.Abs(y[i]) + cfg.ActivityL2*y[i]*y[i]
		}
		if !cfg.ActivityUndivided {
			activity /= float64(rows)
		}
		penalty += activity
		if training && masks != nil {
			for i := range y {
				y[i] *= float64(masks[l-1][i])
			}
		}
		if cfg.Residual && l >= 2 && in == out {
			for i := range y {
				y[i] += a[i]
			}
		}
		a = y
	}
	return a, penalty
}

func refSoftmax(z []float64) []float64 {
	p := make([]float64, len(z))
	var sum float64
	for j, v := range z {
		p[j] = math.Exp(v)
		sum += p[j]
	}
	for j := range p {
		p[j] /= sum
	}
	return p
}

func refActivation(name string, x float64) float64 {
	const alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
	switch name {
	case "relu":
		return math.Max(x, 0)
	case "tanh":
		return math.Tanh(x)
	case "sigmoid":
		return 1 / (1 + math.Exp(-x))
	case "elu":
		if x > 0 {
			return x
		}
		return math.Expm1(x)
	case "selu":
		if x > 0 {
			return scale * x
		}
		return scale * alpha * math.Expm1(x)
	case "linear":
		return x
	}
	panic("refActivation: " + name)
}

// testBatch returns random inputs x [rows×in] ~ N(0,1) and one-hot targets
// t [rows×out] from seed.
func testBatch(rows, in, out int, seed uint64) (x, t []float32) {
	r := rand.New(rand.NewPCG(seed, 1))
	x = make([]float32, rows*in)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	t = make([]float32, rows*out)
	for i := 0; i < rows; i++ {
		t[i*out+r.IntN(out)] = 1
	}
	return x, t
}

// newTestModel builds a model for cfg with every parameter (biases too)
// redrawn from N(0, 0.5²), so that gradient checks see non-zero biases.
func newTestModel(t *testing.T, cfg Config, in, out int) *Model {
	t.Helper()
	m, err := New(cfg, in, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 99))
	for i := range m.params {
		m.params[i] = float32(0.5 * r.NormFloat64())
	}
	return m
}

func float64s(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}
