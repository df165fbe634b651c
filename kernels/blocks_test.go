package kernels

import (
	"fmt"
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
//
// Under -tags netlib the same runs on OpenBLAS too, which promises less:
// a BLAS picks its kernels and its order of summation by shape (OpenBLAS
// runs an n = 1 product as a GEMV), so a column's bits may depend on the
// product's width there. On OpenBLAS the blocks must match the wide
// product within 1e-5·(k + |c|), far above the float32 rounding of a
// sum of k terms of unit size and far below one wrong term;
// TestSgemmBlocksMatchesSgemmAlone holds it to what
// SgemmBlocks promises on every backend, each block bit for bit Sgemm of
// that block alone.
func TestSgemmBlocksMatchesWideProduct(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	widths := []int{1, 5, 16, 33, 128, 10, 200}
	total := 0
	for _, w := range widths {
		total += w
	}
	type backend struct {
		name  string
		isa   ISA
		be    GEMMBackend
		exact bool // bit for bit (BLIS), or within rounding (OpenBLAS)
	}
	var backends []backend
	for isa := Generic; isa <= DetectedISA(); isa++ {
		backends = append(backends, backend{isa.String(), isa, BLIS, true})
	}
	if netlibSgemm != nil {
		backends = append(backends, backend{OpenBLAS.String(), ActiveISA(), OpenBLAS, false})
	}
	for _, bk := range backends {
		for _, transA := range []bool{false, true} {
			for _, gather := range []bool{false, true} {
				for _, epilogue := range []bool{false, true} {
					restore := withISA(bk.isa)
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
					if err := ctx.SetBackend(bk.be); err != nil {
						t.Fatal(err)
					}
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
							same := func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }
							if !bk.exact {
								same = func(x, y float32) bool { return math.Abs(float64(x-y)) <= 1e-5*(float64(k)+math.Abs(float64(y))) }
							}
							if !slices.EqualFunc(got, want, same) {
								t.Fatalf("%v transA=%v gather=%v epilogue=%v: block %d (width %d) row %d differs from the wide product",
									bk.name, transA, gather, epilogue, bi, bl.N, i)
							}
						}
						c0 += bl.N
					}
					if allocs := testing.AllocsPerRun(5, func() {
						ctx.SgemmBlocks(transA, m, k, alpha, src, lda, rows, 0, blocks, epilogue)
					}); allocs != 0 {
						t.Errorf("%v: SgemmBlocks allocates %v times per call", bk.name, allocs)
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

// TestSgemmBlocksMatchesSgemmAlone checks SgemmBlocks against its contract
// on the fused first layer's shapes: each block's C bit for bit what Sgemm
// (or SgemmBiasAct) of that block alone gives on a gathered copy of A, on
// every ISA path, with 1 and 2 threads; the forward x·W (m 128, k 784,
// more than one group of rows on AVX2) and the weight gradient xᵀ·dz
// (m 784 > MC on every path, and m 1000 with k 130: more rows than fit the
// resident budget on AVX-512 too), block widths that are and are not
// multiples of NR, padded leading dimensions, A, B and C inside guard
// bands that must stay intact, and A and B unchanged.
func TestSgemmBlocksMatchesSgemmAlone(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	widths := []int{128, 10, 200, 33, 256, 1, 64}
	acts := []Activation{ReLU, Tanh, Linear, Sigmoid, ELU, SELU}
	cases := []struct {
		transA, epilogue bool
		m, k             int
	}{
		{false, true, 128, 784},
		{false, false, 37, 300},
		{true, false, 784, 128},
		{true, false, 1000, 130},
	}
	const stored = 400 // rows of the data A gathers from
	for isa := Generic; isa <= DetectedISA(); isa++ {
		for _, tc := range cases {
			restore := withISA(isa)
			m, k := tc.m, tc.k
			width, gathered := k, m // a stored row of A; how many are gathered
			if tc.transA {
				width, gathered = m, k
			}
			data := newGuarded(stored, width, width+3)
			data.fill(uniform(r))
			rows := r.Perm(stored)[:gathered]
			copyA := make([]float32, 0, gathered*width) // the gathered rows, for the reference
			for _, i := range rows {
				copyA = append(copyA, data.data[i*data.ld:i*data.ld+width]...)
			}
			alpha, beta := float32(1), float32(0)
			if !tc.epilogue {
				alpha, beta = 0.5, 1
			}
			var blocks, want []ColumnBlock
			var bs, cs []*guarded
			var c0 [][]float32
			for i, w := range widths {
				b := newGuarded(k, w, w+i%3)
				b.fill(uniform(r))
				c := newGuarded(m, w, w+(i+1)%3)
				c.fill(uniform(r))
				bias := randVec(r, w)
				bs, cs, c0 = append(bs, b), append(cs, c), append(c0, c.clone())
				blocks = append(blocks, ColumnBlock{N: w, B: b.data, Ldb: b.ld, C: c.data, Ldc: c.ld, Bias: bias, Act: acts[i%len(acts)]})
				wc := append([]float32(nil), c.data...)
				want = append(want, ColumnBlock{N: w, B: b.data, Ldb: b.ld, C: wc, Ldc: c.ld, Bias: bias, Act: acts[i%len(acts)]})
			}
			ref := NewContext(1)
			for _, bl := range want {
				if tc.epilogue {
					ref.SgemmBiasAct(tc.transA, false, m, bl.N, k, copyA, width, bl.B, bl.Ldb, bl.Bias, bl.Act, bl.C, bl.Ldc)
				} else {
					ref.Sgemm(tc.transA, false, m, bl.N, k, alpha, copyA, width, bl.B, bl.Ldb, beta, bl.C, bl.Ldc)
				}
			}
			a0 := data.clone()
			b0 := make([][]float32, len(bs))
			for i, b := range bs {
				b0[i] = b.clone()
			}
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("%v transA=%v m%dk%d threads=%d", isa, tc.transA, m, k, threads)
				for i, c := range cs {
					copy(c.buf, c0[i])
				}
				ctx := NewContext(threads)
				ctx.SgemmBlocks(tc.transA, m, k, alpha, data.data, data.ld, rows, beta, blocks, tc.epilogue)
				for bi, bl := range blocks {
					for i := range m {
						got, w := bl.C[i*bl.Ldc:i*bl.Ldc+bl.N], want[bi].C[i*bl.Ldc:i*bl.Ldc+bl.N]
						if !bitsEqual(got, w) {
							t.Fatalf("%s: block %d (width %d) row %d differs from Sgemm of the block alone", name, bi, bl.N, i)
						}
					}
					if err := cs[bi].checkGuards(fmt.Sprintf("%s: C of block %d", name, bi)); err != nil {
						t.Fatal(err)
					}
					if !bitsEqual(bs[bi].buf, b0[bi]) {
						t.Fatalf("%s: B of block %d modified", name, bi)
					}
				}
				if !bitsEqual(data.buf, a0) {
					t.Fatalf("%s: A modified", name)
				}
				if allocs := testing.AllocsPerRun(3, func() {
					ctx.SgemmBlocks(tc.transA, m, k, alpha, data.data, data.ld, rows, beta, blocks, tc.epilogue)
				}); allocs != 0 {
					t.Errorf("%s: SgemmBlocks allocates %v times per call", name, allocs)
				}
				if allocs := testing.AllocsPerRun(3, func() { // blocks in the caller's stack frame stay there
					one := [1]ColumnBlock{blocks[0]}
					ctx.SgemmBlocks(tc.transA, m, k, alpha, data.data, data.ld, rows, beta, one[:], tc.epilogue)
				}); allocs != 0 {
					t.Errorf("%s: SgemmBlocks on a block array of the caller allocates %v times per call", name, allocs)
				}
			}
			restore()
		}
	}
}

// bitsEqual reports whether x and y hold the same float32 bits.
func bitsEqual(x, y []float32) bool {
	return slices.EqualFunc(x, y, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
}
