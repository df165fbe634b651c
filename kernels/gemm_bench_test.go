package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the products of a 784-128-10 MLP step at batch 128 (with
// and without the transposes its backward pass uses), large squares, and
// the short-wide products of a first layer fused across sweep members
// (n = 4224: e.g. 33 members of 128 units).
var benchShapes = []GEMMShape{
	{M: 128, N: 128, K: 784},               // hidden forward x·W1
	{M: 784, N: 128, K: 128},               //
	{M: 784, N: 128, K: 128, TransA: true}, // hidden weight gradient xᵀ·dz
	{M: 128, N: 784, K: 128},               //
	{M: 128, N: 784, K: 128, TransB: true}, // input gradient dz·W1ᵀ
	{M: 128, N: 10, K: 128},                // output forward a1·W2
	{M: 128, N: 10, K: 128, TransA: true},  // output weight gradient a1ᵀ·dz
	{M: 128, N: 128, K: 10},                //
	{M: 128, N: 128, K: 10, TransB: true},  // output input gradient dz·W2ᵀ
	{M: 128, N: 512, K: 784},
	{M: 512, N: 512, K: 512},
	{M: 1024, N: 1024, K: 1024},
	{M: 2048, N: 2048, K: 2048},
	{M: 128, N: 4224, K: 784},               // short-wide: a fused first layer's forward
	{M: 784, N: 4224, K: 128, TransA: true}, // and its weight gradient
}

// benchBackends are the implementations BenchmarkSgemm compares in one run:
// ours (the BLIS GEMM on the active ISA; MLPSWEEP_ISA selects another) and,
// under -tags netlib, OpenBLAS.
func benchBackends() []gemmBackend {
	backends := []gemmBackend{{"ours", onBackend(BLIS)}}
	if netlibSgemm != nil {
		backends = append(backends, gemmBackend{"openblas", onBackend(OpenBLAS)})
	}
	return backends
}

// benchGemm times C = op(A)·op(B) on s with ctx and reports GFLOP/s.
func benchGemm(b *testing.B, be gemmBackend, ctx *Context, s GEMMShape) {
	r := rand.New(rand.NewPCG(5, 6))
	a := make([]float32, s.M*s.K)  // [m×k], or [k×m] when transA
	bm := make([]float32, s.K*s.N) // [k×n], or [n×k] when transB
	c := make([]float32, s.M*s.N)  // [m×n]
	for _, x := range [][]float32{a, bm} {
		for i := range x {
			x[i] = float32(r.Float64()*2 - 1)
		}
	}
	lda, ldb, _ := s.Leading()
	for b.Loop() {
		be.sgemm(ctx, s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, bm, ldb, 0, c, s.N)
	}
	b.ReportMetric(2*float64(s.M)*float64(s.N)*float64(s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm measures single-threaded GEMM on benchShapes, e.g.
// BenchmarkSgemm/m128n128k784/ours.
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.String(), func(b *testing.B) {
			for _, be := range benchBackends() {
				b.Run(be.name, func(b *testing.B) { benchGemm(b, be, NewContext(1), s) })
			}
		})
	}
}

// BenchmarkSgemmThreads measures our GEMM on 1024³ with 1 and 2 threads
// (BenchmarkSgemmThreads/m1024n1024k1024/2), and on the MLP shapes to place
// parallelMinFlops.
func BenchmarkSgemmThreads(b *testing.B) {
	ours := benchBackends()[0]
	for _, s := range []GEMMShape{benchShapes[0], benchShapes[2], benchShapes[4], {M: 1024, N: 1024, K: 1024}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/%d", s, threads), func(b *testing.B) { benchGemm(b, ours, NewContext(threads), s) })
		}
	}
}

// BenchmarkMicroKernel measures each ISA's micro-kernel alone on packed
// panels that stay in L1 (one tile, the same A panel for every tile), at
// k = KC/4, KC and 4·KC, for one tile and a column of 8: the ceiling of the
// whole GEMM and the weight of its per-call and per-tile costs.
func BenchmarkMicroKernel(b *testing.B) {
	for isa := Generic; isa <= DetectedISA(); isa++ {
		bs, kernel := blockTable[isa], microKernels[isa]
		for _, k := range []int{bs.kc / 4, bs.kc, 4 * bs.kc} {
			for _, tiles := range []int{1, 8} {
				b.Run(fmt.Sprintf("%v/k%d/tiles%d", isa, k, tiles), func(b *testing.B) {
					ap := make([]float32, bs.mr*k)
					bp := make([]float32, k*bs.nr)
					c := make([]float32, tiles*bs.mr*bs.nr)
					for b.Loop() {
						kernel(k, 1, ap, 1, bs.mr, 0, bp, bs.nr, 1, c, bs.nr, tiles*bs.mr, bs.nr)
					}
					b.ReportMetric(2*float64(tiles*bs.mr*bs.nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
