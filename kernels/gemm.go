package kernels

// workspace holds a Context's reusable scratch memory (packing buffers).
type workspace struct{}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C; see the package-level Sgemm
// for the contract. It may use up to c.Threads() goroutines.
func (ctx *Context) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmBiasAct computes C = act(op(A)·op(B) + bias), bias broadcast over the
// m rows (len(bias) = n; nil means no bias). It is the forward pass of a
// Dense layer in one call: C is only written.
func (ctx *Context) SgemmBiasAct(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias []float32, act Activation, c []float32, ldc int) {
	ctx.Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if bias != nil {
			AddBias(row, bias)
		}
		ActForward(act, row)
	}
}
