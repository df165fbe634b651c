package engine

import "fmt"

// TrainBatch runs one training step on the batch x [rows×In] with one-hot
// targets t [rows×Out], 1 ≤ rows ≤ B: new dropout masks, forward, backward,
// one optimizer update. It returns the batch loss as Keras reports it (mean
// cross-entropy plus the regularization terms) and the rows classified
// correctly, both measured before the update. Fit calls the same step; once
// the model exists, TrainBatch allocates nothing, which makes it the unit
// to benchmark.
func (m *Model) TrainBatch(x, t []float32, rows int) (loss float32, correct int, err error) {
	if rows < 1 || rows > m.cfg.Batch {
		return 0, 0, fmt.Errorf("engine: TrainBatch with %d rows (want 1 … %d)", rows, m.cfg.Batch)
	}
	if len(x) < rows*m.in || len(t) < rows*m.out {
		return 0, 0, fmt.Errorf("engine: TrainBatch with %d rows needs %d inputs and %d targets (have %d and %d)",
			rows, rows*m.in, rows*m.out, len(x), len(t))
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

// forward runs the layers on x [rows×In], filling ws.y (and ws.a); with
// training set the hidden outputs go through dropout with ws.mask.
func (m *Model) forward(ws *workspace, x []float32, rows int, training bool) {
	for i := range m.layers {
		d := &m.layers[i]
		n := rows * d.out
		m.denseForward(d, ws.input(i, x, rows, d.in), ws.y[i][:n], rows)
		if d.hidden && training && ws.mask != nil {
			dropoutForward(ws.y[i][:n], ws.mask[i][:n], ws.a[i][:n])
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
		h := i - 1 // the hidden layer feeding layer i: dx is the gradient w.r.t. its output a_h
		if ws.mask != nil {
			dropoutBackward(dx, ws.mask[h][:rows*d.in])
		}
		y := ws.y[h][:rows*d.in]
		m.activityRegBackward(y, dx, rows)
		activationBackward(m.layers[h].act, y, dx)
	}
	m.kernelRegBackward()
}
