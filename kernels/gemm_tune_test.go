package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// runTuned runs one single-threaded GEMM of shape s on the active ISA with
// the block sizes bs and the packing choices forced (nil: plan's), as
// Context.sgemm would.
func runTuned(ctx *Context, s benchShape, bs blockSizes, packA, inPlaceB *bool, a, b, c []float32) {
	lda, ldb := s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	g := &ctx.call
	*g = gemm{m: s.m, n: s.n, k: s.k, alpha: 1, a: operand(a, lda, s.transA), b: operand(b, ldb, s.transB), c: c, ldc: s.n}
	g.setISA(ActiveISA())
	g.blocks = bs
	g.plan(1)
	if packA != nil {
		g.packA = *packA
	}
	if inPlaceB != nil {
		g.inPlaceB = *inPlaceB && g.b.cs == 1
	}
	g.runPart(0, &ctx.ws)
}

// tuneOperands returns random A and B and a C for s.
func tuneOperands(s benchShape) (a, b, c []float32) {
	r := rand.New(rand.NewPCG(5, 6))
	a, b, c = make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
	for _, x := range [][]float32{a, b} {
		for i := range x {
			x[i] = float32(r.Float64()*2 - 1)
		}
	}
	return a, b, c
}

// BenchmarkPackPolicy compares packing A with reading it in place, on the
// active ISA: the data behind plan's packAMinN and packATransposedMinN.
func BenchmarkPackPolicy(b *testing.B) {
	for _, s := range benchShapes {
		if s.m*s.n*s.k > 1<<30 { // not 2048³: too slow to sweep
			continue
		}
		a, bm, c := tuneOperands(s)
		for _, packA := range []bool{true, false} {
			b.Run(fmt.Sprintf("%v/packA=%v", s, packA), func(b *testing.B) {
				ctx := NewContext(1)
				for b.Loop() {
					runTuned(ctx, s, blockTable[ActiveISA()], &packA, nil, a, bm, c)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkPack measures packing speed (ns per packed float) for both
// orientations of the source at each ISA's micro-panel width.
func BenchmarkPack(b *testing.B) {
	const rows, cols, ld = 240, 256, 260
	src := make([]float32, rows*ld+cols*ld)
	for _, w := range []int{6, 12, 16, 32} {
		dst, stage := make([]float32, (rows+w)*cols), make([]float32, w*cols)
		for _, x := range []struct {
			name string
			v    strided
		}{{"rowsContiguous", strided{src, ld, 1}}, {"columnsContiguous", strided{src, 1, ld}}} {
			b.Run(fmt.Sprintf("w%d/%s", w, x.name), func(b *testing.B) {
				for b.Loop() {
					pack(dst, stage, x.v, 0, rows, 0, cols, w, DetectedISA() != Generic)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(rows*cols), "ns/float")
			})
		}
	}
}

// BenchmarkBlockSizes sweeps MC and KC around the table's values on the
// active ISA (the source of blockTable's tuned numbers), with plan's
// packing rule.
func BenchmarkBlockSizes(b *testing.B) {
	base := blockTable[ActiveISA()]
	for _, s := range []benchShape{{m: 1024, n: 1024, k: 1024}, {m: 128, n: 128, k: 784}, {m: 784, n: 128, k: 128, transA: true}} {
		a, bm, c := tuneOperands(s)
		for _, kc := range []int{base.kc / 2, base.kc * 3 / 4, base.kc, base.kc * 3 / 2, base.kc * 2} {
			for _, mcPanels := range []int{base.mc / base.mr / 2, base.mc / base.mr, base.mc / base.mr * 2} {
				bs := base
				bs.kc, bs.mc = kc, mcPanels*bs.mr
				b.Run(fmt.Sprintf("%v/mc%d/kc%d", s, bs.mc, bs.kc), func(b *testing.B) {
					ctx := NewContext(1)
					for b.Loop() {
						runTuned(ctx, s, bs, nil, nil, a, bm, c)
					}
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkResidentA sweeps NCA, the pass width of loopsResidentA, with
// B read in place or packed, on the active ISA (nca0: the standard loop
// order), on short products from narrow to wide.
func BenchmarkResidentA(b *testing.B) {
	base := blockTable[ActiveISA()]
	for _, s := range []benchShape{{m: 128, n: 128, k: 784}, {m: 128, n: 784, k: 128}, {m: 128, n: 1024, k: 784}, {m: 128, n: 4224, k: 784}, {m: 128, n: 4224, k: 128, transB: true}} {
		a, bm, c := tuneOperands(s)
		for _, nca := range []int{0, 32, 64, 128, 256, 512} {
			for _, inPlaceB := range []bool{false, true} {
				bs := base
				bs.nca = nca
				b.Run(fmt.Sprintf("%v/nca%d/inPlaceB=%v", s, nca, inPlaceB), func(b *testing.B) {
					ctx := NewContext(1)
					for b.Loop() {
						runTuned(ctx, s, bs, nil, &inPlaceB, a, bm, c)
					}
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
