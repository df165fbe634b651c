//go:build netlib

package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// netlibSgemm is the OpenBLAS backend of Context.Sgemm (and of the GEMM of
// SgemmBiasAct): the system CBLAS through cgo, in builds with -tags netlib,
// where it is the DefaultBackend. Build and run with Debian's
// libopenblas-dev:
//
//	CGO_LDFLAGS=-lopenblas OPENBLAS_NUM_THREADS=1 go test -tags netlib ./kernels
//
// OpenBLAS picks its kernels from the CPU (OPENBLAS_CORETYPE overrides it;
// leave it unset unless the named core's ISA is present) and its threads
// from OPENBLAS_NUM_THREADS, not from Context.Threads. Context.SetBackend(BLIS)
// selects this package's GEMM in the same build: the conformance suite and
// BenchmarkSgemm (…/ours, …/openblas) run both.
var netlibSgemm = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	netlib.Implementation{}.Sgemm(blasTrans(transA), blasTrans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func blasTrans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}
