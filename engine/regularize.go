package engine

import "github.com/mlpsweep/mlpsweep/kernels"

// Regularizers act on the hidden layers only: the kernel penalty
// l1·Σ|W| + l2·ΣW² (bias not regularized) and the activity penalty
// (l1·Σ|y| + l2·Σy²)/rows on each hidden output y after activation and before
// dropout (undivided with cfg.ActivityUndivided), as Keras adds them to the loss.

// kernelRegForward returns Σ over hidden layers of l1·Σ|W_l| + l2·ΣW_l².
func (m *Model) kernelRegForward() float32 {
	l1, l2 := float32(m.cfg.L1), float32(m.cfg.L2)
	if l1 == 0 && l2 == 0 {
		return 0
	}
	var sum float32
	for i := range m.layers {
		if m.layers[i].hidden {
			sum += kernels.L1L2Penalty(m.layers[i].w, l1, l2)
		}
	}
	return sum
}

// kernelRegBackward accumulates dW_l += l1·sign(W_l) + 2·l2·W_l on hidden layers.
func (m *Model) kernelRegBackward() {
	l1, l2 := float32(m.cfg.L1), float32(m.cfg.L2)
	if l1 == 0 && l2 == 0 {
		return
	}
	for i := range m.layers {
		if d := &m.layers[i]; d.hidden {
			kernels.AddL1L2Grad(d.w, d.dw, l1, l2)
		}
	}
}

// activityScale returns the activity coefficients for a batch of rows rows:
// l1/rows and l2/rows, or l1 and l2 when undivided.
func (m *Model) activityScale(rows int) (l1, l2 float32) {
	l1, l2 = float32(m.cfg.ActivityL1), float32(m.cfg.ActivityL2)
	if !m.cfg.ActivityUndivided {
		l1, l2 = l1/float32(rows), l2/float32(rows)
	}
	return l1, l2
}

// activityRegForward returns the activity penalty of one hidden output
// y [rows×H] of a batch of rows rows.
func (m *Model) activityRegForward(y []float32, rows int) float32 {
	l1, l2 := m.activityScale(rows)
	if l1 == 0 && l2 == 0 {
		return 0
	}
	return kernels.L1L2Penalty(y, l1, l2)
}

// activityRegBackward accumulates the activity penalty's gradient into
// dy [rows×H], the gradient w.r.t. the hidden output y [rows×H].
func (m *Model) activityRegBackward(y, dy []float32, rows int) {
	l1, l2 := m.activityScale(rows)
	if l1 == 0 && l2 == 0 {
		return
	}
	kernels.AddL1L2Grad(y, dy, l1, l2)
}
