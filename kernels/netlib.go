//go:build netlib

package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// netlibSgemm routes Context.Sgemm (and the GEMM of SgemmBiasAct) to the
// system CBLAS through cgo, in builds with -tags netlib. Build and run with
// Debian's libopenblas-dev:
//
//	CGO_LDFLAGS=-lopenblas OPENBLAS_NUM_THREADS=1 go test -tags netlib ./kernels
//
// OPENBLAS_CORETYPE picks OpenBLAS's kernel (SkylakeX for AVX-512).
// The BLIS implementation stays reachable for comparisons: the conformance
// suite and BenchmarkSgemm (…/ours, …/openblas) run both.
var netlibSgemm = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	netlib.Implementation{}.Sgemm(blasTrans(transA), blasTrans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func blasTrans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}
