package kernels

import "fmt"

// ColumnBlock is one owner's share of the columns of a product whose B and
// C are split by columns among owners that keep them in buffers of their
// own (the members of a fused training group, each with its own weights):
// N columns, B_b [k×N] with leading dimension Ldb, C_b [m×N] with leading
// dimension Ldc, and, for the forward epilogue, Bias [N] (nil: none) and
// Act.
type ColumnBlock struct {
	N    int
	B    []float32
	Ldb  int
	C    []float32
	Ldc  int
	Bias []float32
	Act  Activation
}

// SgemmBlocks computes, for every block b,
//
//	C_b = alpha·op(A)·B_b + beta·C_b                 (epilogue false)
//	C_b = act_b(op(A)·B_b + bias_b)                  (epilogue true: alpha 1, beta 0)
//
// as one product op(A)·[B_1 | B_2 | …] whose A is read (and packed) once
// for all blocks. Each C_b is bit for bit what Sgemm (or SgemmBiasAct) of
// block b alone gives: every output column's sum runs over k in the same
// order whatever the product's width, so a fused group trains as its
// members would alone.
//
// rows, when not nil, gathers A: the i-th row of the stored matrix A is
// a[rows[i]·lda:], so a shuffled batch is read in place (no gathered copy).
// Without transA that is op(A)'s row i (m = len(rows)); with transA it is
// op(A)'s column i (k = len(rows)). Reference loop, per block b:
//
//	for i := range m { for j := range N_b {
//		s := Σ_p op(A)[i,p]·B_b[p,j]   (p = 0 … k−1 in order)
//		C_b[i,j] = epilogue ? act_b(s + bias_b[j]) : alpha·s + beta·C_b[i,j]
//	}}
func (ctx *Context) SgemmBlocks(transA bool, m, k int, alpha float32, a []float32, lda int, rows []int,
	beta float32, blocks []ColumnBlock, epilogue bool) {
	if epilogue && (alpha != 1 || beta != 0) {
		panic(fmt.Sprintf("kernels: SgemmBlocks with epilogue needs alpha 1 and beta 0 (have %v, %v)", alpha, beta))
	}
	if rows != nil {
		want := m
		if transA {
			want = k
		}
		if len(rows) != want {
			panic(fmt.Sprintf("kernels: SgemmBlocks: %d gathered rows of A, want %d", len(rows), want))
		}
		a, lda = ctx.gatherRows(a, lda, rows, k, m, transA)
	}
	for i := range blocks {
		bl := &blocks[i]
		if epilogue {
			ctx.SgemmBiasAct(transA, false, m, bl.N, k, a, lda, bl.B, bl.Ldb, bl.Bias, bl.Act, bl.C, bl.Ldc)
		} else {
			ctx.Sgemm(transA, false, m, bl.N, k, alpha, a, lda, bl.B, bl.Ldb, beta, bl.C, bl.Ldc)
		}
	}
}

// gatherRows copies the stored rows of A that rows names into ctx's
// gather buffer and returns it with its leading dimension: each stored row
// holds k values without transA and m values with it.
func (ctx *Context) gatherRows(a []float32, lda int, rows []int, k, m int, transA bool) ([]float32, int) {
	width := k
	if transA {
		width = m
	}
	if lda < max(1, width) {
		panic(fmt.Sprintf("kernels: SgemmBlocks: lda %d < %d", lda, width))
	}
	n := len(rows) * width
	if cap(ctx.gather) < n {
		ctx.gather = alignedFloats(n)
	}
	g := ctx.gather[:n]
	for i, r := range rows {
		if r < 0 || r*lda+width > len(a) {
			panic(fmt.Sprintf("kernels: SgemmBlocks: gathered row %d = %d is outside A", i, r))
		}
		copy(g[i*width:(i+1)*width], a[r*lda:r*lda+width])
	}
	return g, max(1, width)
}
