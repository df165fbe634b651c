package engine

import "github.com/mlpsweep/mlpsweep/kernels"

// dense is one Dense layer: y = act(x·W + b), kernel in Keras's [in×out]
// layout, or y = act(BN(x·W + b)) with batch normalization. Its slices are
// views into the model's flat buffers.
type dense struct {
	in, out  int
	w, dw    []float32          // [in×out] kernel W and its gradient
	b, db    []float32          // [out] bias and its gradient
	act      kernels.Activation // Linear on the output layer
	hidden   bool               // hidden layers carry the regularizers and dropout
	bn       *batchNorm         // batch normalization before act; nil without
	residual bool               // the layer's input is added to its output (a skip connection; in == out)
}

// denseForward computes y = x·W + b for x [rows×in] into y [rows×out]
// (only written), with act fused into the GEMM (Linear: none).
func (m *Model) denseForward(d *dense, x, y []float32, act kernels.Activation, rows int) {
	m.kc.SgemmBiasAct(false, false, rows, d.out, d.in, x, d.in, d.w, d.out, d.b, act, y, d.out)
}

// denseBackward takes dz [rows×out], the gradient w.r.t. the layer's
// pre-activation x·W + b, writes the weight gradient and accumulates the
// bias gradient (cleared by the caller)
//
//	dW = xᵀ·dz   [in×out]
//	db += Σ_rows dz   [out]
//
// then writes the input gradient dx = dz·Wᵀ [rows×in]. A residual layer
// adds it instead, dx += dz·Wᵀ, to the skip connection's share that dx
// already holds. The first layer's gradients are not computed here: its
// dW is one product for a whole group (firstBackward) and it needs no dx.
func (m *Model) denseBackward(d *dense, x, dz, dx []float32, rows int) {
	m.kc.Sgemm(true, false, d.in, d.out, rows, 1, x, d.in, dz, d.out, 0, d.dw, d.out)
	kernels.SumRows(dz[:rows*d.out], d.db)
	var beta float32
	if d.residual {
		beta = 1
	}
	m.kc.Sgemm(false, true, rows, d.in, d.out, 1, dz, d.out, d.w, d.out, beta, dx, d.in)
}
