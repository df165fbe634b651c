//go:build !netlib

package kernels

// netlibSgemm is the OpenBLAS backend in builds with -tags netlib; without
// the tag it is nil and BLIS is the only backend.
var netlibSgemm func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
