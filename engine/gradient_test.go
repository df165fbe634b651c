package engine

import (
	"fmt"
	"math"
	"testing"
)

// TestGradients checks lossAndGrad's loss against the float64 reference and
// its gradient against central differences of the reference, for every
// activation, regularizer and dropout, on small nets with partial batches.
func TestGradients(t *testing.T) {
	base := Config{Hidden: []int{7}, Activation: "tanh", Optimizer: "sgd", Batch: 4, Epochs: 1, Seed: 3}
	type tc struct {
		name string
		edit func(*Config)
		rows int
	}
	var cases []tc
	for _, act := range Activations {
		cases = append(cases, tc{"act=" + act, func(c *Config) { c.Activation = act }, 3})
	}
	cases = append(cases,
		tc{"full batch", func(c *Config) {}, 4},
		tc{"single row", func(c *Config) {}, 1},
		tc{"kernel l1", func(c *Config) { c.L1 = 0.01 }, 3},
		tc{"kernel l2", func(c *Config) { c.L2 = 0.02 }, 3},
		tc{"kernel l1_l2", func(c *Config) { c.L1, c.L2 = 0.01, 0.02 }, 3},
		tc{"activity l1", func(c *Config) { c.ActivityL1 = 0.03 }, 3},
		tc{"activity l2", func(c *Config) { c.ActivityL2 = 0.05 }, 3},
		tc{"activity l1_l2 undivided", func(c *Config) { c.ActivityL1, c.ActivityL2, c.ActivityUndivided = 0.03, 0.05, true }, 3},
		tc{"dropout", func(c *Config) { c.Dropout = 0.4 }, 3},
		tc{"two hidden relu", func(c *Config) { c.Hidden, c.Activation = []int{7, 6}, "relu" }, 3},
		tc{"three hidden everything", func(c *Config) {
			c.Hidden, c.Activation, c.Dropout = []int{6, 7, 5}, "selu", 0.3
			c.L1, c.L2, c.ActivityL1, c.ActivityL2 = 0.01, 0.02, 0.01, 0.02
		}, 3},
		tc{"batch norm", func(c *Config) { c.Hidden, c.BatchNorm = []int{7, 6}, true }, 3},
		tc{"batch norm full batch sigmoid", func(c *Config) { c.Hidden, c.Activation, c.BatchNorm = []int{6}, "sigmoid", true }, 4},
		tc{"batch norm single row", func(c *Config) { c.BatchNorm = true }, 1},
		tc{"residual", func(c *Config) { c.Hidden, c.Residual = []int{6, 6, 6}, true }, 3},
		tc{"residual sigmoid, skips at layers 2 and 4 only", func(c *Config) {
			c.Hidden, c.Activation, c.Residual = []int{6, 6, 5, 5}, "sigmoid", true
		}, 3},
		tc{"residual batch norm everything", func(c *Config) {
			c.Hidden, c.Activation, c.Residual, c.BatchNorm, c.Dropout = []int{6, 6, 6}, "elu", true, true, 0.3
			c.L1, c.L2, c.ActivityL1, c.ActivityL2 = 0.01, 0.02, 0.01, 0.02
		}, 3},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			c.edit(&cfg)
			m := newTestModel(t, cfg, 5, 4)
			x, y := testBatch(c.rows, 5, 4, 7)
			checkGradient(t, m, x, y, c.rows)
		})
	}
}

func checkGradient(t *testing.T, m *Model, x, y []float32, rows int) {
	t.Helper()
	var masks [][]float32
	for i, mask := range m.use(&m.train).mask {
		m.dropoutMask(mask[:rows*m.layers[i].out])
		masks = append(masks, mask)
	}
	loss, _ := m.lossAndGrad(input{x: x}, nil, y, rows)
	p := float64s(m.params)
	want := refLoss(m, p, x, y, rows, true, masks)
	if math.Abs(float64(loss)-want) > 1e-5*math.Abs(want) {
		t.Errorf("loss %.8g, float64 reference %.8g", loss, want)
	}
	const h = 1e-6
	worst, worstAt := 0.0, ""
	for i := range p {
		saved := p[i]
		p[i] = saved + h
		up := refLoss(m, p, x, y, rows, true, masks)
		p[i] = saved - h
		down := refLoss(m, p, x, y, rows, true, masks)
		p[i] = saved
		numeric, analytic := (up-down)/(2*h), float64(m.grads[i])
		if err := math.Abs(analytic - numeric); err > 2e-5+1e-3*math.Abs(numeric) {
			t.Errorf("param %d (%s): gradient %.7g, central difference %.7g", i, m.paramName(i), analytic, numeric)
		} else if rel := err / (math.Abs(numeric) + 1e-3); rel > worst {
			worst, worstAt = rel, m.paramName(i)
		}
	}
	t.Logf("loss %.6g; worst relative gradient error %.2g at %s", loss, worst, worstAt)
}

// paramName names flat parameter i as "W2[3,1]", "b1[0]", "gamma1[2]" or
// "beta1[2]" (layers 1-based).
func (m *Model) paramName(i int) string {
	for l, d := range m.layers {
		if i < d.in*d.out {
			return fmt.Sprintf("W%d[%d,%d]", l+1, i/d.out, i%d.out)
		}
		i -= d.in * d.out
		vectors := []string{"b"}
		if d.bn != nil {
			vectors = append(vectors, "gamma", "beta")
		}
		for _, name := range vectors {
			if i < d.out {
				return fmt.Sprintf("%s%d[%d]", name, l+1, i)
			}
			i -= d.out
		}
	}
	return "?"
}
