package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkPackGathered measures the packing of a gathered op(A) alone,
// single-threaded, as blocksGemm.runPart calls it on the active ISA path
// for the first layer of a 784-input model at batch 128: the forward's A
// (128 gathered rows × 784; on AVX-512 12-row panels, four 196-deep
// k-blocks; packGatheredRows) and the weight gradient's op(A) = Xᵀ (784 ×
// 128 gathered columns, packGatheredColumns).
// The batches are successive 128-row slices of a permutation of the rows of
// a stored [rows×784] array: "L2" packs the same batch every time, "L3"
// walks 5,000 stored rows (15.7 MB: each batch was last read 39 batches
// ago), "DRAM" 45,000 (141 MB, the epoch benchmark's data: each batch's
// rows come from memory). Read GB/s (gathered bytes read per second)
// against each other: the gap between L2 and DRAM is what hiding the first
// touch of the rows could win (bench/NOTES.md, issue #10). The "pixels"
// rows pack the same batches from stored bytes (SgemmBlocksPixels: an
// image data set's first layer), each converted to float32 as packed.
func BenchmarkPackGathered(b *testing.B) {
	const in, batch = 784, 128
	isa := ActiveISA()
	bs, simd := activeBlocks[isa], isa != Generic
	for _, c := range []struct {
		name   string
		stored int
	}{{"L2", batch}, {"L3", 5000}, {"DRAM", 45000}} {
		r := rand.New(rand.NewPCG(3, 4))
		x := randVec(r, c.stored*in)     // [stored×In]
		px := make([]uint8, c.stored*in) // [stored×In]
		for i := range px {
			px[i] = uint8(r.UintN(256))
		}
		perm := r.Perm(c.stored)
		batches := len(perm) / batch
		for _, transA := range []bool{false, true} {
			name := "rows"
			m, k := batch, in
			if transA {
				name, m, k = "columns", in, batch
			}
			kcMax := blockLen(k, bs.kc, 1)
			aLen := roundUp(m, bs.mr)
			dst := alignedFloats(aLen * k)
			for _, a := range []struct {
				kind string
				a    storedA
				size int64
			}{{"", storedA{f: x}, 4}, {"pixels/", storedA{p: px}, 1}} {
				b.Run(fmt.Sprintf("%s/%s%s", name, a.kind, c.name), func(b *testing.B) {
					s := 0
					for b.Loop() {
						rows := perm[s*batch : (s+1)*batch]
						if s++; s == batches {
							s = 0
						}
						packGathered(dst, aLen, a.a, in, rows, transA, 0, m, k, kcMax, bs.mr, simd)
					}
					b.SetBytes(batch * in * a.size)
				})
			}
		}
	}
}

// BenchmarkSgemmBlocksCold is BenchmarkSgemmBlocks's forward (m 128, k 784,
// bias and ReLU) single-threaded on a new batch every time: successive
// 128-row slices of a permutation of 45,000 stored rows (141 MB), so that
// the gathered rows come from memory, as in an epoch; for one member of
// 128 units and for 12.
func BenchmarkSgemmBlocksCold(b *testing.B) {
	const in, batch, stored = 784, 128, 45000
	r := rand.New(rand.NewPCG(5, 6))
	x := randVec(r, stored*in) // [stored×In]
	perm := r.Perm(stored)
	for _, n := range []int{128, 1536} {
		fwd := []ColumnBlock{{N: n, B: randVec(r, in*n), Ldb: n, C: make([]float32, batch*n), Ldc: n, Bias: randVec(r, n), Act: ReLU}}
		b.Run(fmt.Sprintf("fwd/m128k784/n%d", n), func(b *testing.B) {
			ctx := NewContext(1)
			s := 0
			for b.Loop() {
				rows := perm[s*batch : (s+1)*batch]
				if s++; s == stored/batch {
					s = 0
				}
				ctx.SgemmBlocks(false, batch, in, 1, x, in, rows, 0, fwd, true)
			}
			b.ReportMetric(2*float64(batch)*float64(n)*float64(in)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
