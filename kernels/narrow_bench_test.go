//go:build amd64 && !purego

package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/mlpsweep/mlpsweep/internal/cpuclock"
)

// BenchmarkNarrow measures products with few columns on the AVX-512 path
// with the narrow kernels (narrow), without them (edges: the 12×16 or 6×16
// kernels of the tuning) and, under -tags netlib, on OpenBLAS, in one
// binary, e.g. BenchmarkNarrow/m128n10k128TN/narrow. Besides ns/op it
// reports GFLOP/s by the thread's CPU time (cpu-GFLOP/s), which on a
// shared machine leaves out the time other processes take.
func BenchmarkNarrow(b *testing.B) {
	if DetectedISA() < AVX512 {
		b.Skip("CPU has no AVX-512")
	}
	defer withISA(AVX512)()
	for _, s := range []GEMMShape{
		{M: 128, N: 10, K: 128}, {M: 128, N: 10, K: 128, TransA: true}, // the output layer's z = h·W and dW = hᵀ·dz
		{M: 784, N: 10, K: 128}, {M: 784, N: 10, K: 128, TransA: true},
		{M: 128, N: 2, K: 128, TransA: true}, {M: 128, N: 14, K: 128},
	} {
		b.Run(s.String(), func(b *testing.B) {
			variants := []struct {
				name  string
				n     int
				blas  bool
				avail bool
			}{{"edges", 0, false, true}, {"narrow", narrowMaxN, false, true}, {"openblas", 0, true, netlibSgemm != nil}}
			for _, v := range variants {
				if !v.avail {
					continue
				}
				b.Run(v.name, func(b *testing.B) {
					defer useNarrow(v.n, narrowKernels)()
					ctx := NewContext(1)
					if v.blas {
						if err := ctx.SetBackend(OpenBLAS); err != nil {
							b.Fatal(err)
						}
					} else if err := ctx.SetBackend(BLIS); err != nil {
						b.Fatal(err)
					}
					benchGemmCPU(b, ctx, s)
				})
			}
		})
	}
}

// benchGemmCPU times C = op(A)·op(B) on s with ctx and reports GFLOP/s by
// the wall clock and by the thread's CPU time.
func benchGemmCPU(b *testing.B, ctx *Context, s GEMMShape) {
	r := rand.New(rand.NewPCG(5, 6))
	a, bm, c := make([]float32, s.M*s.K), make([]float32, s.K*s.N), make([]float32, s.M*s.N)
	for _, x := range [][]float32{a, bm} {
		for i := range x {
			x[i] = float32(r.Float64()*2 - 1)
		}
	}
	lda, ldb, _ := s.Leading()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := cpuclock.Thread()
	for b.Loop() {
		ctx.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, bm, ldb, 0, c, s.N)
	}
	flops := 2 * float64(s.M) * float64(s.N) * float64(s.K) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(flops/(cpuclock.Thread()-start).Seconds()/1e9, "cpu-GFLOP/s")
}
