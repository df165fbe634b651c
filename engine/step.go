package engine

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// A training step is split into phases so that a Group can issue the first
// layer's two products (forward x·W_1 and weight gradient xᵀ·dz_1) for all
// its members at once; a model alone runs the same phases as a group of
// one (group.go), so fused and alone share one code path:
//
//	beginStep           per member: new dropout masks
//	firstForward        fused: y_1 = act(x·W_1 + b_1)           (kernels.SgemmBlocks)
//	lossAndGradAbove    per member: the rest of the forward pass, the loss,
//	                    the backward pass down to dz_1 and db_1
//	firstBackward       fused: dW_1 = xᵀ·dz_1                   (kernels.SgemmBlocks, beta 0)
//	kernelRegBackward   per member: the kernel penalties' gradient
//	endStep             per member: optimizer update, batch norm moving statistics

// TrainBatch runs one training step on the batch whose rows are rows
// (indices into d's inputs, X or Pixels [N×In], 1 ≤ len(rows) ≤ B), read
// in place, with one-hot targets t [len(rows)×Out] in the batch's order
// (Data.Targets gathers them; d.Y and d.Rows are not read): new dropout
// masks, forward, backward, one optimizer update, and batch norm's moving
// statistics updated. It returns the batch loss as Keras reports it (mean
// cross-entropy plus the regularization terms) and the rows classified
// correctly, both measured before the update. It is Group.TrainBatch of
// the model alone, the step Fit takes; once the model exists, TrainBatch
// allocates nothing, which makes it the unit to benchmark.
func (m *Model) TrainBatch(d Data, rows []int, t []float32) (loss float32, correct int, err error) {
	l, c, err := m.solo.TrainBatch(d, rows, t)
	if err != nil {
		return 0, 0, err
	}
	return l[0], c[0], nil
}

// lossAndGrad runs the forward pass in training mode with the current
// dropout masks on rows rows of x (x [rows×In] itself when idx is nil,
// else rows idx[r] of x [N×In]), t [rows×Out], returns the batch loss and
// correct rows, and leaves the loss gradient in m.grads [P].
func (m *Model) lossAndGrad(x input, idx []int, t []float32, rows int) (loss float32, correct int) {
	g := m.solo
	m.train.atLeast(rows, m.cfg.Batch)
	m.use(&m.train)
	g.lossAndGrad(g.all, x, idx, t[:rows*m.out], rows)
	return g.loss[0], g.correct[0]
}

// beginStep draws the dropout masks of a step on rows rows.
func (m *Model) beginStep(rows int) {
	for i, mask := range m.train.mask {
		m.dropoutMask(mask[:rows*m.layers[i].out])
	}
}

// endStep applies the optimizer update to the gradient in m.grads and
// folds the step's batch statistics into batch norm's moving ones.
func (m *Model) endStep() {
	m.opt.update(m.params, m.grads)
	// Keras folds the batch statistics into the moving ones during the
	// forward pass; they do not enter the loss, so doing it here is the same.
	for i := range m.train.bn {
		m.layers[i].bn.updateMoving(&m.train.bn[i])
	}
}

// firstForward is the first layer's share of the forward product,
// y_1 = act(x·W_1 + b_1) into ws.y[0] [rows×H_1]: x·W_1 + b_1 alone with batch
// norm, which comes before the activation (forwardAbove applies both).
func (m *Model) firstForward(ws *workspace) kernels.ColumnBlock {
	d := &m.layers[0]
	act := d.act
	if d.bn != nil {
		act = kernels.Linear
	}
	return kernels.ColumnBlock{N: d.out, B: d.w, Ldb: d.out, C: ws.y[0], Ldc: d.out, Bias: d.b, Act: act}
}

// firstBackward is the first layer's share of the weight-gradient product,
// dW_1 = xᵀ·dz_1 [In×H_1], written (the group runs it with beta 0), from
// dz_1 = ws.dy[0] [rows×H_1] as backwardAbove leaves it.
func (m *Model) firstBackward(ws *workspace) kernels.ColumnBlock {
	d := &m.layers[0]
	return kernels.ColumnBlock{N: d.out, B: ws.dy[0], Ldb: d.out, C: d.dw, Ldc: d.out}
}

// lossAndGradAbove continues a training pass on rows rows whose first
// product (firstForward) is done: the rest of the forward pass with the
// current dropout masks, the loss against t [rows×Out], and the backward
// pass into m.grads but for dW_1 (firstBackward) and the kernel penalties
// (kernelRegBackward). The weight gradients are written by their products
// (beta 0), so only the small gradients that are accumulated (the biases'
// row sums, batch norm's γ and β) are cleared first: the same float
// operations as clearing all of m.grads, without rewriting every dW.
func (m *Model) lossAndGradAbove(t []float32, rows int) (loss float32, correct int) {
	ws := &m.train
	last := len(m.layers) - 1
	m.forwardAbove(ws, rows, true)
	sum, correct := m.xentForward(ws.y[last], t, rows, ws.dy[last])
	loss = sum/float32(rows) + m.kernelRegForward()
	for i := range ws.a {
		loss += m.activityRegForward(ws.y[i][:rows*m.layers[i].out], rows)
	}
	for i := range m.layers {
		d := &m.layers[i]
		clear(d.db)
		if d.bn != nil {
			clear(d.bn.dgamma)
			clear(d.bn.dbeta)
		}
	}
	m.backwardAbove(ws, rows)
	return loss, correct
}

// forward runs the layers on rows rows of x, filling ws.y (and ws.a):
// the rows are x [rows×In] itself when idx is nil, else rows idx[r] of
// x [N×In] (or of its pixels), read in place. In training, batch norm uses the batch's
// statistics (kept in ws.bn) and the hidden outputs go through dropout
// with ws.mask; at inference batch norm uses the moving statistics.
func (m *Model) forward(ws *workspace, x input, idx []int, rows int, training bool) {
	m.use(ws)
	first := [1]kernels.ColumnBlock{m.firstForward(ws)}
	firstProduct(m.kc, false, rows, m.in, m.in, x, idx, first[:], true)
	m.forwardAbove(ws, rows, training)
}

// forwardAbove is forward once the first layer's product is in ws.y[0].
func (m *Model) forwardAbove(ws *workspace, rows int, training bool) {
	for i := range m.layers {
		d := &m.layers[i]
		n := rows * d.out
		y := ws.y[i][:n]
		if i > 0 {
			act := d.act
			if d.bn != nil {
				act = kernels.Linear
			}
			m.denseForward(d, ws.a[i-1][:rows*d.in], y, act, rows)
		}
		if d.bn != nil {
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
		case training && len(ws.mask) > 0:
			dropoutForward(y, ws.mask[i][:n], a)
		case d.residual:
			copy(a, y)
		}
		if d.residual {
			residualForward(ws.a[i-1][:n], a)
		}
	}
}

// backwardAbove propagates ws.dy[L−1] (the loss gradient w.r.t. the
// logits, left by xentForward) through the layers in reverse, writing the
// weight gradients and accumulating the others (cleared by the caller) into m.grads, down to the first layer's dz_1 (left in ws.dy[0]) and db_1;
// dW_1 is firstBackward's.
func (m *Model) backwardAbove(ws *workspace, rows int) {
	for i := len(m.layers) - 1; i >= 0; i-- {
		d := &m.layers[i]
		if i == 0 {
			kernels.SumRows(ws.dy[0][:rows*d.out], d.db)
			break
		}
		dx := ws.dy[i-1][:rows*d.in] // gradient w.r.t. the layer's input
		m.denseBackward(d, ws.a[i-1][:rows*d.in], ws.dy[i][:rows*d.out], dx, rows)
		h := &m.layers[i-1] // the hidden layer feeding layer i: dx is the gradient w.r.t. its output a_{i−1}
		if h.residual {
			residualBackward(dx, ws.dy[i-2][:rows*h.in])
		}
		if len(ws.mask) > 0 {
			dropoutBackward(dx, ws.mask[i-1][:rows*d.in])
		}
		y := ws.y[i-1][:rows*d.in]
		m.activityRegBackward(y, dx, rows)
		activationBackward(h.act, y, dx)
		if h.bn != nil {
			batchNormBackward(h.bn, &ws.bn[i-1], dx, rows)
		}
	}
}

// checkBatch validates a batch for a training pass (what names the call):
// rows, 1 … B indices of rows of d's inputs, targets t [len(rows)×Out] at
// least, and d's pixels beside X (Data.checkPixels).
func (m *Model) checkBatch(what string, d Data, rows []int, t []float32) error {
	b := len(rows)
	if b < 1 || b > m.cfg.Batch {
		return fmt.Errorf("engine: %s with %d rows (want 1 … %d)", what, b, m.cfg.Batch)
	}
	if len(t) < b*m.out {
		return fmt.Errorf("engine: %s with %d rows needs %d targets (have %d)", what, b, b*m.out, len(t))
	}
	if err := d.checkPixels(m.in); err != nil {
		return err
	}
	for i, r := range rows {
		if r < 0 || (r+1)*m.in > d.stored() {
			return fmt.Errorf("engine: %s row %d = %d is outside the data (%d rows of %d inputs)", what, i, r, d.stored()/m.in, m.in)
		}
	}
	return nil
}
