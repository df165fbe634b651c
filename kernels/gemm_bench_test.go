package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShape is one BenchmarkSgemm problem: C m×n, inner dimension k.
type benchShape struct {
	m, n, k        int
	transA, transB bool
}

func (s benchShape) String() string {
	name := fmt.Sprintf("m%dn%dk%d", s.m, s.n, s.k)
	if s.transA || s.transB {
		name += trans(s.transA) + trans(s.transB)
	}
	return name
}

// benchShapes are the products of a 784-128-10 MLP step at batch 128 (with
// and without the transposes its backward pass uses), large squares, and
// the short-wide products of a first layer fused across sweep members
// (n = 4224: e.g. 33 members of 128 units).
var benchShapes = []benchShape{
	{m: 128, n: 128, k: 784},               // hidden forward x·W1
	{m: 784, n: 128, k: 128},               //
	{m: 784, n: 128, k: 128, transA: true}, // hidden weight gradient xᵀ·dz
	{m: 128, n: 784, k: 128},               //
	{m: 128, n: 784, k: 128, transB: true}, // input gradient dz·W1ᵀ
	{m: 128, n: 10, k: 128},                // output forward a1·W2
	{m: 128, n: 10, k: 128, transA: true},  // output weight gradient a1ᵀ·dz
	{m: 128, n: 128, k: 10},                //
	{m: 128, n: 128, k: 10, transB: true},  // output input gradient dz·W2ᵀ
	{m: 128, n: 512, k: 784},
	{m: 512, n: 512, k: 512},
	{m: 1024, n: 1024, k: 1024},
	{m: 2048, n: 2048, k: 2048},
	{m: 128, n: 4224, k: 784},               // short-wide: a fused first layer's forward
	{m: 784, n: 4224, k: 128, transA: true}, // and its weight gradient
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
func benchGemm(b *testing.B, be gemmBackend, ctx *Context, s benchShape) {
	r := rand.New(rand.NewPCG(5, 6))
	a := make([]float32, s.m*s.k)  // [m×k], or [k×m] when transA
	bm := make([]float32, s.k*s.n) // [k×n], or [n×k] when transB
	c := make([]float32, s.m*s.n)  // [m×n]
	for _, x := range [][]float32{a, bm} {
		for i := range x {
			x[i] = float32(r.Float64()*2 - 1)
		}
	}
	lda, ldb := s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	for b.Loop() {
		be.sgemm(ctx, s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
	}
	b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
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
	for _, s := range []benchShape{benchShapes[0], benchShapes[2], benchShapes[4], {m: 1024, n: 1024, k: 1024}} {
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
