package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// runTuned runs one single-threaded GEMM of shape s on the active ISA with
// the block sizes bs and the packing choices forced (nil: plan's), as
// Context.sgemm would.
func runTuned(ctx *Context, s GEMMShape, bs blockSizes, packA, inPlaceB *bool, a, b, c []float32) {
	lda, ldb, _ := s.Leading()
	g := &ctx.call
	*g = gemm{m: s.M, n: s.N, k: s.K, alpha: 1, a: operand(a, lda, s.TransA), b: operand(b, ldb, s.TransB), c: c, ldc: s.N}
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
func tuneOperands(s GEMMShape) (a, b, c []float32) {
	r := rand.New(rand.NewPCG(5, 6))
	a, b, c = make([]float32, s.M*s.K), make([]float32, s.K*s.N), make([]float32, s.M*s.N)
	for _, x := range [][]float32{a, b} {
		for i := range x {
			x[i] = float32(r.Float64()*2 - 1)
		}
	}
	return a, b, c
}

// BenchmarkPackPolicy compares packing A with reading it in place, on the
// active ISA: the data behind plan's packAMinN and the paths' PackAT.
func BenchmarkPackPolicy(b *testing.B) {
	// Besides benchShapes, the transposed products of deeper networks'
	// weight gradients, which placed the paths' PackAT.
	shapes := append(slices.Clone(benchShapes), GEMMShape{M: 256, N: 128, K: 128, TransA: true},
		GEMMShape{M: 512, N: 256, K: 128, TransA: true}, GEMMShape{M: 784, N: 512, K: 128, TransA: true},
		GEMMShape{M: 784, N: 128, K: 512, TransA: true}, GEMMShape{M: 784, N: 768, K: 256, TransA: true})
	for _, s := range shapes {
		if s.M*s.N*s.K > 1<<30 { // not 2048³: too slow to sweep
			continue
		}
		a, bm, c := tuneOperands(s)
		for _, packA := range []bool{true, false} {
			b.Run(fmt.Sprintf("%v/packA=%v", s, packA), func(b *testing.B) {
				ctx := NewContext(1)
				for b.Loop() {
					runTuned(ctx, s, activeBlocks[ActiveISA()], &packA, nil, a, bm, c)
				}
				b.ReportMetric(2*float64(s.M*s.N*s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
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
	base := activeBlocks[ActiveISA()]
	for _, s := range []GEMMShape{{M: 1024, N: 1024, K: 1024}, {M: 128, N: 128, K: 784}, {M: 784, N: 128, K: 128, TransA: true}} {
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
					b.ReportMetric(2*float64(s.M*s.N*s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkResidentA sweeps NCA, the pass width of loopsResidentA, with
// B read in place or packed, on the active ISA (nca0: the standard loop
// order), on short products from narrow to wide.
func BenchmarkResidentA(b *testing.B) {
	base := activeBlocks[ActiveISA()]
	for _, s := range []GEMMShape{{M: 128, N: 128, K: 784}, {M: 128, N: 784, K: 128}, {M: 128, N: 1024, K: 784}, {M: 128, N: 4224, K: 784}, {M: 128, N: 4224, K: 128, TransB: true}} {
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
					b.ReportMetric(2*float64(s.M*s.N*s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
