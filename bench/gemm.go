package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// GEMMShapes are the products one training step of 784-128-10 at batch 128
// runs, and a large square one for reference.
var GEMMShapes = []kernels.GEMMShape{
	{M: 128, N: 128, K: 784},               // hidden forward: x[B×784]·W1[784×128]
	{M: 784, N: 128, K: 128, TransA: true}, // hidden weight gradient: xᵀ·dy1
	{M: 128, N: 784, K: 128, TransB: true}, // input gradient (first layer of deeper nets): dy1·W1ᵀ
	{M: 128, N: 10, K: 128},                // output forward: a1[B×128]·W2[128×10]
	{M: 1024, N: 1024, K: 1024},            // large square
}

// SgemmFunc is the row-major BLAS sgemm contract of kernels.Sgemm.
type SgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// Backend is one sgemm implementation to measure.
type Backend struct {
	Name   string
	Detail string // version and settings, for reports
	Sgemm  SgemmFunc
}

// Backends lists the implementations this build can measure: mlpsweep's
// BLIS GEMM (a single-threaded kernels.Context on the active ISA path)
// first, then the pure-Go gonum sgemm, and OpenBLAS (the same Context type
// on its OpenBLAS backend) when built with -tags netlib.
func Backends() []Backend {
	bs := []Backend{kernelsBackend(kernels.BLIS, fmt.Sprintf("kernels BLIS GEMM, %v path", kernels.ActiveISA()))}
	bs = append(bs, Backend{Name: "gonum", Detail: "gonum.org/v1/gonum/blas/gonum, pure Go", Sgemm: blasSgemm(gonum.Implementation{}.Sgemm)})
	return append(bs, extraBackends...)
}

// backendNames are the report names of the kernels' GEMM backends.
var backendNames = map[kernels.GEMMBackend]string{kernels.BLIS: "mlpsweep", kernels.OpenBLAS: "openblas"}

// kernelsBackend is a single-threaded kernels.Context on GEMM backend be,
// which the build must have.
func kernelsBackend(be kernels.GEMMBackend, detail string) Backend {
	kc := kernels.NewContext(1)
	if err := kc.SetBackend(be); err != nil {
		panic(err) // a build-tag mismatch between bench and kernels
	}
	return Backend{Name: backendNames[be], Detail: detail, Sgemm: kc.Sgemm}
}

// KernelsGEMM names the GEMM the engine trains with, the kernels'
// DefaultBackend: "mlpsweep", or "openblas" in builds with -tags netlib.
func KernelsGEMM() string { return backendNames[kernels.DefaultBackend()] }

// extraBackends holds the backends of optional build tags (netlib).
var extraBackends []Backend

// blasSgemm adapts a gonum-style blas.Float32Level3 Sgemm to SgemmFunc.
func blasSgemm(f func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) SgemmFunc {
	op := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		f(op(transA), op(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// Effort sets how long each measurement runs.
type Effort struct {
	Samples int           // timings per measurement; the median is reported
	MinTime time.Duration // minimum length of one timing
	Epochs  int           // measured epochs, after one warm-up epoch
}

var (
	// FullEffort is `mlpsweep bench`'s default.
	FullEffort = Effort{Samples: 7, MinTime: 100 * time.Millisecond, Epochs: 3}
	// QuickEffort is `mlpsweep bench --quick`.
	QuickEffort = Effort{Samples: 3, MinTime: 20 * time.Millisecond, Epochs: 1}
)

// MeasureGEMM returns the median GFLOP/s of be on shape s, computing
// C = A·B (alpha 1, beta 0) on fixed pseudo-random operands.
func MeasureGEMM(be Backend, s kernels.GEMMShape, e Effort) float64 {
	a := randomMatrix(s.M*s.K, 1) // [M×K], or [K×M] when TransA
	b := randomMatrix(s.K*s.N, 2) // [K×N], or [N×K] when TransB
	c := make([]float32, s.M*s.N) // [M×N]
	lda, ldb, ldc := s.Leading()
	perCall := medianPerCall(func() {
		be.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, ldc)
	}, e.Samples, e.MinTime)
	return s.FLOPs() / perCall.Seconds() / 1e9
}

// randomMatrix returns n values uniform in [-1, 1) from a fixed stream.
func randomMatrix(n int, seed uint64) []float32 {
	x := make([]float32, n)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range x {
		x[i] = 2*r.Float32() - 1
	}
	return x
}
