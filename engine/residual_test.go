package engine

import (
	"math"
	"testing"
)

// TestResidualForwardByHand builds 2-2-2-2 nets with hand-set weights and
// checks a_2 = a_1 + act(a_1·W_2 + b_2) (and a_2 = act(…) without skips).
func TestResidualForwardByHand(t *testing.T) {
	for _, residual := range []bool{true, false} {
		m := mustNew(t, Config{Hidden: []int{2, 2}, Activation: "relu", Residual: residual, Batch: 2}, 2, 2)
		copy(m.layers[0].w, []float32{1, 0, 0, 1}) // a_1 = relu(x + b_1)
		copy(m.layers[0].b, []float32{0, 1})
		copy(m.layers[1].w, []float32{1, 2, -1, 1}) // a_1·W_2: (u − v, 2u + v)
		copy(m.layers[1].b, []float32{0.5, -4})
		x := []float32{2, 3, 1, -1}
		// row 0: a_1 = (2, 4); branch relu(2−4+0.5, 4+4−4) = (0, 4)
		// row 1: a_1 = (1, 0); branch relu(1+0.5, 2−4) = (1.5, 0)
		branch := []float32{0, 4, 1.5, 0}
		want := []float32{2, 8, 2.5, 0}
		if !residual {
			want = branch
		}
		m.forward(&m.eval, input{x: x}, nil, 2, false)
		for i := range want {
			if got := m.eval.a[1][i]; math.Abs(float64(got-want[i])) > 1e-6 || m.eval.y[1][i] != branch[i] {
				t.Fatalf("residual %v: a_2 = %v, y_2 = %v; want %v, %v", residual, m.eval.a[1][:4], m.eval.y[1][:4], want, branch)
			}
		}
		if m.layers[0].residual || m.layers[1].residual != residual {
			t.Errorf("residual %v: layer flags %v %v (the first layer never has a skip)", residual, m.layers[0].residual, m.layers[1].residual)
		}
	}
}
