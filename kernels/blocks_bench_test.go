package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// blocksBenchShapes are fused first layers of 784-input members at batch
// 128: the forward x·[W_1|…] (m 128, k 784) and the weight gradient
// xᵀ·[dz_1|…] (m 784, k 128, beta 1), for 12 members of 128 units (1,536
// columns) and for the mix of one fold of the seed study (40 members of
// 128 units, one each of 256, 512 and 64: 5,952 columns).
var blocksBenchShapes = []struct {
	name   string
	transA bool
	widths []int
}{
	{"fwd/m128k784/12x128", false, repeat(128, 12)},
	{"fwd/m128k784/seedmix", false, seedMix()},
	{"grad/m784k128TN/12x128", true, repeat(128, 12)},
	{"grad/m784k128TN/seedmix", true, seedMix()},
}

func repeat(w, n int) []int {
	ws := make([]int, n)
	for i := range ws {
		ws[i] = w
	}
	return ws
}

func seedMix() []int { return append(repeat(128, 40), 256, 512, 64) }

// BenchmarkSgemmBlocks measures SgemmBlocks single-threaded on
// blocksBenchShapes, A gathered by 128 shuffled row indices from 10,000
// stored rows of 784 inputs, as one fused product ("fused") and as one
// Sgemm per block on a gathered copy ("each", the reference path), e.g.
// BenchmarkSgemmBlocks/fwd/m128k784/seedmix/fused. Read GFLOP/s against
// BenchmarkPeak in the same run.
func BenchmarkSgemmBlocks(b *testing.B) {
	const in, batch, stored = 784, 128, 10000
	r := rand.New(rand.NewPCG(9, 10))
	x := randVec(r, stored*in) // [stored×In]
	rows := r.Perm(stored)[:batch]
	for _, s := range blocksBenchShapes {
		m, k := batch, in
		if s.transA {
			m, k = in, batch
		}
		var blocks []ColumnBlock
		n := 0
		for _, w := range s.widths {
			blocks = append(blocks, ColumnBlock{N: w, B: randVec(r, k*w), Ldb: w, C: make([]float32, m*w), Ldc: w,
				Bias: randVec(r, w), Act: ReLU})
			n += w
		}
		beta, epilogue := float32(0), true
		if s.transA {
			beta, epilogue = 1, false
		}
		for _, path := range []string{"fused", "each"} {
			b.Run(fmt.Sprintf("%s/%s", s.name, path), func(b *testing.B) {
				ctx := NewContext(1)
				for b.Loop() {
					if path == "fused" {
						ctx.SgemmBlocks(s.transA, m, k, 1, x, in, rows, beta, blocks, epilogue)
					} else {
						ctx.sgemmBlocksEach(s.transA, m, k, 1, storedA{f: x}, in, rows, beta, blocks, epilogue)
					}
				}
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
