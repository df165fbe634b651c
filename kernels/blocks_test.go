package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSgemmBlocksMatchesWideProduct checks, on every ISA path, that each
// block of SgemmBlocks is bit for bit the same columns of the one wide
// product op(A)·[B_1 | B_2 | …] (what fused training relies on: a column's
// sum does not depend on the product's width or the column's place in it),
// with A gathered by row indices or read whole, transposed or not, with and
// without the bias+activation epilogue; and that it allocates nothing once
// warm.
func TestSgemmBlocksMatchesWideProduct(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	widths := []int{1, 5, 16, 33, 128, 10, 200}
	total := 0
	for _, w := range widths {
		total += w
	}
	for isa := Generic; isa <= DetectedISA(); isa++ {
		for _, transA := range []bool{false, true} {
			for _, gather := range []bool{false, true} {
				for _, epilogue := range []bool{false, true} {
					restore := withISA(isa)
					m, k, stored := 37, 130, 300 // stored: rows of the data A gathers from
					if transA {
						m, k = 130, 37
					}
					width := k // a stored row of A
					if transA {
						width = m
					}
					data := randVec(r, stored*width)
					var rows []int
					a := data
					if gather {
						n := m
						if transA {
							n = k
						}
						rows = r.Perm(stored)[:n]
						a = make([]float32, 0, n*width)
						for _, i := range rows {
							a = append(a, data[i*width:(i+1)*width]...)
						}
					}
					bw := randVec(r, k*total) // the wide B [k×total]
					bias := randVec(r, total)
					alpha, beta := float32(1), float32(0)
					if !epilogue {
						alpha, beta = 0.5, 1
					}
					cw := make([]float32, m*total) // the wide C, starting from known values (read when beta is 1)
					for i := range cw {
						cw[i] = float32(i%7) - 3
					}
					ctx := NewContext(1)
					if epilogue {
						ctx.SgemmBiasAct(transA, false, m, total, k, a, width, bw, total, bias, Tanh, cw, total)
					} else {
						ctx.Sgemm(transA, false, m, total, k, alpha, a, width, bw, total, beta, cw, total)
					}
					// The same product split into blocks with buffers of their own.
					var blocks []ColumnBlock
					c0 := 0
					for _, w := range widths {
						b := make([]float32, k*w)
						c := make([]float32, m*w)
						for p := range k {
							copy(b[p*w:(p+1)*w], bw[p*total+c0:p*total+c0+w])
						}
						blocks = append(blocks, ColumnBlock{N: w, B: b, Ldb: w, C: c, Ldc: w, Bias: bias[c0 : c0+w], Act: Tanh})
						c0 += w
					}
					if !epilogue { // the blocks start from the wide C's initial values
						c0 = 0
						for _, bl := range blocks {
							for i := range m {
								for j := range bl.N {
									bl.C[i*bl.N+j] = float32((i*total+c0+j)%7) - 3
								}
							}
							c0 += bl.N
						}
					}
					src, lda := a, width
					if gather {
						src = data
					}
					ctx.SgemmBlocks(transA, m, k, alpha, src, lda, rows, beta, blocks, epilogue)
					c0 = 0
					for bi, bl := range blocks {
						for i := range m {
							got := bl.C[i*bl.N : (i+1)*bl.N]
							want := cw[i*total+c0 : i*total+c0+bl.N]
							if !slices.EqualFunc(got, want, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }) {
								t.Fatalf("%v transA=%v gather=%v epilogue=%v: block %d (width %d) row %d differs from the wide product",
									isa, transA, gather, epilogue, bi, bl.N, i)
							}
						}
						c0 += bl.N
					}
					if allocs := testing.AllocsPerRun(5, func() {
						ctx.SgemmBlocks(transA, m, k, alpha, src, lda, rows, 0, blocks, epilogue)
					}); allocs != 0 {
						t.Errorf("%v: SgemmBlocks allocates %v times per call", isa, allocs)
					}
					restore()
				}
			}
		}
	}
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}
