package engine

import (
	"math"
	"testing"
)

// TestOptimizerSteps runs each optimizer on one scalar parameter w₀ = 1 with
// the gradient sequence 0.5, −0.25, 1.0 (or as stated) and compares w after
// each step with values worked out from the Keras formulas in float64.
func TestOptimizerSteps(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		grads []float32
		want  []float64
	}{
		// w −= 0.1·g: 1 − 0.05, + 0.025, − 0.1
		{"sgd", Config{Optimizer: "sgd", LR: 0.1}, []float32{0.5, -0.25, 1}, []float64{0.95, 0.975, 0.875}},
		// v = 0.9v − 0.1g; w += v: v = −0.05, −0.095, −0.1355
		{"sgd momentum", Config{Optimizer: "sgd", LR: 0.1, Momentum: 0.9}, []float32{0.5, 0.5, 0.5}, []float64{0.95, 0.855, 0.7195}},
		// v as above; w += 0.9v − 0.1g: 1 − 0.045 − 0.05; −0.0855 − 0.05
		{"sgd nesterov", Config{Optimizer: "sgd", LR: 0.1, Momentum: 0.9, Nesterov: true}, []float32{0.5, 0.5}, []float64{0.905, 0.7695}},
		// lr_t = 0.1/(1 + 0.5t) = 0.1, 0.0666…, 0.05; g = 1
		{"sgd decay", Config{Optimizer: "sgd", LR: 0.1, Decay: 0.5}, []float32{1, 1, 1}, []float64{0.9, 0.9 - 0.1/1.5, 0.9 - 0.1/1.5 - 0.05}},
		// m += (g−m)·0.1; v += (g²−v)·0.001; α = 0.001·√(1−0.999^t)/(1−0.9^t);
		// step 1: m = 0.05, v = 0.00025, α = 0.001·√0.001/0.1, Δ = α·m/(√v+1e-7) = 0.00099999368
		{"adam", Config{Optimizer: "adam"}, []float32{0.5, -0.25, 1}, []float64{0.9990000063245154, 0.9987336707920792, 0.9980755610087696}},
		// v = 0.9v + 0.1g²; w −= 0.01·g/√(v+1e-7); step 1: 1 − 0.005/√0.0250001
		{"rmsprop", Config{Optimizer: "rmsprop", LR: 0.01}, []float32{0.5, -0.25, 1}, []float64{0.9683772866436797, 0.983121456617157, 0.9549356748047833}},
		// acc starts at 0.1: acc = 0.35, 0.4125, 1.4125; w −= 0.1·g/√(acc+1e-7)
		{"adagrad", Config{Optimizer: "adagrad", LR: 0.1}, []float32{0.5, -0.25, 1}, []float64{0.9154845866007779, 0.9544095290906796, 0.8702688996867746}},
		// Eg = 0.95Eg + 0.05g²; Δ = −√(Edx+1e-7)/√(Eg+1e-7)·g; Edx = 0.95Edx + 0.05Δ²; w += 1·Δ
		// step 1: Eg = 0.0125, Δ = −√1e-7/√0.0125001·0.5 = −0.0014142079
		{"adadelta", Config{Optimizer: "adadelta", LR: 1}, []float32{0.5, -0.25, 1}, []float64{0.9985857920944472, 0.9994986581550116, 0.9975794126244116}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := c.cfg.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			o := &optimizer{}
			o.reset(cfg, 1)
			w := []float32{1}
			for step, g := range c.grads {
				o.update(w, []float32{g})
				if math.Abs(float64(w[0])-c.want[step]) > 3e-7 {
					t.Errorf("step %d: w = %.9g, want %.9g", step+1, w[0], c.want[step])
				}
			}
			if o.t != int64(len(c.grads)) {
				t.Errorf("optimizer counted %d steps, want %d", o.t, len(c.grads))
			}
		})
	}
}

// TestOptimizerDefaults pins the Keras default learning rates Normalize fills in.
func TestOptimizerDefaults(t *testing.T) {
	want := map[string]float64{"sgd": 0.01, "adam": 0.001, "rmsprop": 0.001, "adagrad": 0.001, "adadelta": 0.001}
	for _, name := range Optimizers {
		cfg, err := Config{Optimizer: name}.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LR != want[name] {
			t.Errorf("%s: default lr %v, want %v", name, cfg.LR, want[name])
		}
	}
}
