package engine

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// TrainBatch runs one training step on the batch x [rows×In] with one-hot
// targets t [rows×Out], 1 ≤ rows ≤ B: new dropout masks, forward, backward,
// one optimizer update, and batch norm's moving statistics updated. It returns the batch loss as Keras reports it (mean
// cross-entropy plus the regularization terms) and the rows classified
// correctly, both measured before the update. Fit calls the same step; once
// the model exists, TrainBatch allocates nothing, which makes it the unit
// to benchmark.
func (m *Model) TrainBatch(x, t []float32, rows int) (loss float32, correct int, err error) {
	if err := m.checkBatch("TrainBatch", x, t, rows); err != nil {
		return 0, 0, err
	}
	loss, correct = m.step(x[:rows*m.in], t[:rows*m.out], rows)
	return loss, correct, nil
}

// step is one training step on x [rows×In], t [rows×Out].
func (m *Model) step(x, t []float32, rows int) (loss float32, correct int) {
	ws := &m.train
	for i, mask := range ws.mask {
		m.dropoutMask(mask[:rows*m.layers[i].out])
	}
	loss, correct = m.lossAndGrad(x, t, rows)
	m.opt.update(m.params, m.grads)
	// Keras folds the batch statistics into the moving ones during the
	// forward pass; they do not enter the loss, so doing it here is the same.
	for i := range ws.bn {
		m.layers[i].bn.updateMoving(&ws.bn[i])
	}
	return loss, correct
}

// lossAndGrad runs the forward pass in training mode with the current
// dropout masks, returns the batch loss and correct rows, and leaves the
// loss gradient in m.grads [P].
func (m *Model) lossAndGrad(x, t []float32, rows int) (loss float32, correct int) {
	ws := &m.train
	last := len(m.layers) - 1
	m.forward(ws, x, rows, true)
	sum, correct := m.xentForward(ws.y[last], t, rows, ws.dy[last])
	loss = sum/float32(rows) + m.kernelRegForward()
	for i := range ws.a {
		loss += m.activityRegForward(ws.y[i][:rows*m.layers[i].out], rows)
	}
	clear(m.grads)
	m.backward(ws, x, rows)
	return loss, correct
}

// forward runs the layers on x [rows×In], filling ws.y (and ws.a). In
// training, batch norm uses the batch's statistics (kept in ws.bn) and the
// hidden outputs go through dropout with ws.mask; at inference batch norm
// uses the moving statistics.
func (m *Model) forward(ws *workspace, x []float32, rows int, training bool) {
	for i := range m.layers {
		d := &m.layers[i]
		n := rows * d.out
		y := ws.y[i][:n]
		if d.bn == nil {
			m.denseForward(d, ws.input(i, x, rows, d.in), y, d.act, rows)
		} else {
			m.denseForward(d, ws.input(i, x, rows, d.in), y, kernels.Linear, rows)
			if training {
				batchNormForward(d.bn, &ws.bn[i], y, rows)
			} else {
				batchNormInference(d.bn, y, rows)
			}
			kernels.ActForward(d.act, y)
		}
		if !d.hidden {
			continue
		}
		a := ws.a[i][:n]
		switch {
		case training && ws.mask != nil:
			dropoutForward(y, ws.mask[i][:n], a)
		case d.residual:
			copy(a, y)
		}
		if d.residual {
			residualForward(ws.a[i-1][:n], a)
		}
	}
}

// backward propagates ws.dy[L−1] (the loss gradient w.r.t. the logits, left
// by xentForward) through the layers in reverse, accumulating into m.grads.
func (m *Model) backward(ws *workspace, x []float32, rows int) {
	for i := len(m.layers) - 1; i >= 0; i-- {
		d := &m.layers[i]
		var dx []float32 // [rows×d.in] gradient w.r.t. the layer's input; the first layer needs none
		if i > 0 {
			dx = ws.dy[i-1][:rows*d.in]
		}
		m.denseBackward(d, ws.input(i, x, rows, d.in), ws.dy[i][:rows*d.out], dx, rows)
		if i == 0 {
			break
		}
		h := &m.layers[i-1] // the hidden layer feeding layer i: dx is the gradient w.r.t. its output a_{i−1}
		if h.residual {
			residualBackward(dx, ws.dy[i-2][:rows*h.in])
		}
		if ws.mask != nil {
			dropoutBackward(dx, ws.mask[i-1][:rows*d.in])
		}
		y := ws.y[i-1][:rows*d.in]
		m.activityRegBackward(y, dx, rows)
		activationBackward(h.act, y, dx)
		if h.bn != nil {
			batchNormBackward(h.bn, &ws.bn[i-1], dx, rows)
		}
	}
	m.kernelRegBackward()
}

// checkBatch validates a batch of rows rows for a training pass.
func (m *Model) checkBatch(what string, x, t []float32, rows int) error {
	if rows < 1 || rows > m.cfg.Batch {
		return fmt.Errorf("engine: %s with %d rows (want 1 … %d)", what, rows, m.cfg.Batch)
	}
	if len(x) < rows*m.in || len(t) < rows*m.out {
		return fmt.Errorf("engine: %s with %d rows needs %d inputs and %d targets (have %d and %d)",
			what, rows, rows*m.in, rows*m.out, len(x), len(t))
	}
	return nil
}
