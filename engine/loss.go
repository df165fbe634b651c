package engine

import "github.com/mlpsweep/mlpsweep/kernels"

// xentForward is the softmax output with categorical cross-entropy over the
// logits z [rows×Out] and targets t [rows×Out]. It returns the SUM over rows
// of the cross-entropy and the number of rows whose argmax matches the
// target's. Forward and backward are fused, as TF does for a softmax output:
// when dz [rows×Out] is non-nil it also receives the gradient of the batch
// mean, dz = (softmax(z) − t)/rows.
func (m *Model) xentForward(z, t []float32, rows int, dz []float32) (sum float32, correct int) {
	n := rows * m.out
	if dz != nil {
		dz = dz[:n]
	}
	return kernels.SoftmaxXent(z[:n], t[:n], rows, m.out, 1/float32(rows), dz, nil)
}
