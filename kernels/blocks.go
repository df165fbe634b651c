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
//
// On the BLIS backend op(A) is packed once, straight from the gathered rows,
// and stays in L2 while every block's B streams past it, read in place (see
// blocksGemm). Invalid arguments panic, as Sgemm's do.
func (ctx *Context) SgemmBlocks(transA bool, m, k int, alpha float32, a []float32, lda int, rows []int,
	beta float32, blocks []ColumnBlock, epilogue bool) {
	ctx.sgemmBlocks(transA, m, k, alpha, storedA{f: a}, lda, rows, beta, blocks, epilogue)
}

// SgemmBlocksPixels is SgemmBlocks whose gathered A (rows must not be nil)
// is stored as pixels: byte b of a is the value PixelValue(b), as an
// image's float32 copy holds it. The products' bits are SgemmBlocks' on
// that copy; reading a quarter of its bytes, a shuffled batch costs a
// quarter of the memory traffic (the rows of an epoch come from DRAM).
func (ctx *Context) SgemmBlocksPixels(transA bool, m, k int, alpha float32, a []uint8, lda int, rows []int,
	beta float32, blocks []ColumnBlock, epilogue bool) {
	if rows == nil {
		panic("kernels: SgemmBlocksPixels needs gathered rows")
	}
	ctx.sgemmBlocks(transA, m, k, alpha, storedA{p: a}, lda, rows, beta, blocks, epilogue)
}

// sgemmBlocks is SgemmBlocks on stored floats or pixels (pixels gathered).
func (ctx *Context) sgemmBlocks(transA bool, m, k int, alpha float32, a storedA, lda int, rows []int,
	beta float32, blocks []ColumnBlock, epilogue bool) {
	if epilogue && (alpha != 1 || beta != 0) {
		panic(fmt.Sprintf("kernels: SgemmBlocks with epilogue needs alpha 1 and beta 0 (have %v, %v)", alpha, beta))
	}
	if rows != nil {
		checkGathered(a.len(), lda, rows, m, k, transA)
	}
	for i := range blocks {
		bl := &blocks[i]
		var bias []float32
		if epilogue {
			bias = bl.Bias
		}
		if err := checkBlock(transA, m, k, a.f, lda, rows != nil, bl, bias); err != nil {
			panic(fmt.Sprintf("kernels: SgemmBlocks block %d: %v", i, err))
		}
	}
	if ctx.backend == OpenBLAS {
		ctx.sgemmBlocksEach(transA, m, k, alpha, a, lda, rows, beta, blocks, epilogue)
		return
	}
	// A copy of the blocks, in a buffer of ctx's, so that keeping them for
	// the helpers does not move the caller's array to the heap.
	ctx.blockList = append(ctx.blockList[:0], blocks...)
	f := &ctx.blocks
	*f = blocksGemm{
		g: gemm{
			m: m, k: k, alpha: alpha, beta: beta,
			a:        operand(a.f, lda, transA),
			epilogue: epilogue,
		},
		src: a, lda: lda, rows: rows, transA: transA,
		blocks: ctx.blockList,
	}
	f.g.setISA(ActiveISA())
	f.plan(ctx.threads)
	switch {
	case m == 0 || f.panels == 0:
	case k == 0 || alpha == 0:
		f.scaleC()
	case f.parts > 1:
		ctx.workers().runJob(f, f.parts, &ctx.ws)
	default:
		f.runPart(0, &ctx.ws)
	}
	*f = blocksGemm{} // drop the references to the caller's slices
	clear(ctx.blockList)
}

// checkGathered checks that every gathered row of A lies inside the stored
// values of A: a stored row holds k values without transA and m with it.
func checkGathered(stored int, lda int, rows []int, m, k int, transA bool) {
	want, width := m, k
	if transA {
		want, width = k, m
	}
	if len(rows) != want {
		panic(fmt.Sprintf("kernels: SgemmBlocks: %d gathered rows of A, want %d", len(rows), want))
	}
	if lda < max(1, width) {
		panic(fmt.Sprintf("kernels: SgemmBlocks: lda %d < %d", lda, width))
	}
	for i, r := range rows {
		if r < 0 || r*lda+width > stored {
			panic(fmt.Sprintf("kernels: SgemmBlocks: gathered row %d = %d is outside A", i, r))
		}
	}
}

// checkBlock checks one block's B, C and bias (and A, unless gathered:
// checkGathered checks it) by Sgemm's rules.
func checkBlock(transA bool, m, k int, a []float32, lda int, gathered bool, bl *ColumnBlock, bias []float32) error {
	if bl.N < 0 {
		return fmt.Errorf("negative width %d", bl.N)
	}
	if gathered {
		if err := checkMatrix("B", bl.B, k, bl.N, bl.Ldb); err != nil {
			return err
		}
		if err := checkMatrix("C", bl.C, m, bl.N, bl.Ldc); err != nil {
			return err
		}
		if bias != nil && len(bias) < bl.N {
			return fmt.Errorf("len(bias)=%d < n=%d", len(bias), bl.N)
		}
		return nil
	}
	return checkSgemm(transA, false, m, bl.N, k, a, lda, bl.B, bl.Ldb, bl.C, bl.Ldc, bias)
}

// sgemmBlocksEach is SgemmBlocks as one Sgemm per block on a gathered copy
// of A: the OpenBLAS backend's path, and the reference the tests compare
// with.
func (ctx *Context) sgemmBlocksEach(transA bool, m, k int, alpha float32, s storedA, lda int, rows []int,
	beta float32, blocks []ColumnBlock, epilogue bool) {
	a := s.f
	if rows != nil {
		a, lda = ctx.gatherRows(s, lda, rows, k, m, transA)
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
func (ctx *Context) gatherRows(a storedA, lda int, rows []int, k, m int, transA bool) ([]float32, int) {
	width := k
	if transA {
		width = m
	}
	n := len(rows) * width
	if cap(ctx.gather) < n {
		ctx.gather = alignedFloats(n)
	}
	g := ctx.gather[:n]
	for i, r := range rows {
		copyStored(g[i*width:(i+1)*width], a, r*lda)
	}
	return g, max(1, width)
}

// blocksGemm is one SgemmBlocks call on the BLIS backend. op(A) is packed
// once (per thread, per group of rows) into the layout loopsResidentA
// keeps in L2, straight from the gathered rows, then every block's B
// streams past it, read in place (only a partial last micro-panel is
// packed), each block's C written and finished (bias, act) directly. The
// blocks run the same k-blocking, micro-kernel and NR-column panels (from
// each block's column 0) as Sgemm of the block alone, so each element's
// bits are those of Sgemm; threads split the blocks' panels (or the rows)
// and change no sum.
//
// A group of rows is as many as fit the AL2 floats the block table keeps
// of A in L2 (all of m for the MLP shapes on AVX-512, m = 784 too);
// more rows are done a group at a time, each group streaming all of B.
type blocksGemm struct {
	g      gemm    // what the blocks share: m, k, alpha, beta, op(A) (unless gathered), ISA, epilogue
	src    storedA // the stored A
	lda    int
	rows   []int // gathered rows of A, or nil
	transA bool
	blocks []ColumnBlock

	panels    int  // NR-column micro-panels of all blocks
	splitRows bool // threads split the rows of C instead of the panels
	parts     int  // number of threads
}

// plan counts the panels and splits the call over up to threads threads,
// as gemm.plan does: by panels (columns), by rows when there are fewer
// panels than threads or C is taller than wide.
func (f *blocksGemm) plan(threads int) {
	bs := &f.g.blocks
	n := 0
	f.panels = 0
	for i := range f.blocks {
		n += f.blocks[i].N
		f.panels += (f.blocks[i].N + bs.nr - 1) / bs.nr
	}
	f.parts, f.splitRows = 1, false
	if threads < 2 || 2*f.g.m*n*f.g.k < parallelMinFlops {
		return
	}
	rowPanels := (f.g.m + bs.mr - 1) / bs.mr
	f.splitRows = f.g.m > n && rowPanels >= threads || f.panels < threads
	units := f.panels
	if f.splitRows {
		units = rowPanels
	}
	f.parts = min(threads, units)
}

// scaleC handles k = 0 or alpha = 0: C_b = beta·C_b, then the epilogue.
func (f *blocksGemm) scaleC() {
	g := f.g
	for i := range f.blocks {
		f.setBlock(&g, i)
		g.scaleC()
	}
}

// setBlock points g at block i's B, C, bias and activation.
func (f *blocksGemm) setBlock(g *gemm, i int) {
	bl := &f.blocks[i]
	g.n = bl.N
	g.b = operand(bl.B, bl.Ldb, false)
	g.c, g.ldc = bl.C, bl.Ldc
	g.bias, g.act = bl.Bias, bl.Act
	g.inPlaceB = true // op(B) = B_b, its rows contiguous
}

// runPart computes slice t of the call: rows [i0, i1) of every block's
// panels [p0, p1) (counted over all blocks in order), with ws's buffers.
func (f *blocksGemm) runPart(t int, ws *workspace) {
	bs := &f.g.blocks
	i0, i1, p0, p1 := 0, f.g.m, 0, f.panels
	if f.splitRows {
		i0, i1 = partRange(f.g.m, bs.mr, t, f.parts)
	} else {
		p0, p1 = partRange(f.panels, 1, t, f.parts)
	}
	k := f.g.k
	kcMax := blockLen(k, bs.kc, 1)
	groupMax := blockLen(i1-i0, max(bs.mr, bs.al2/k/bs.mr*bs.mr), bs.mr)
	ws.reserve(groupMax*k, bs.nr*kcMax, max(bs.mr, bs.nr)*kcMax)
	for ig := i0; ig < i1; ig += groupMax {
		mg := min(groupMax, i1-ig)
		aLen := roundUp(mg, bs.mr) // floats per column of a packed k-block: k-block pc at ws.a[aLen·pc:]
		f.packA(ws.a, aLen, ws.stage, ig, mg, kcMax)
		f.stream(ws, ig, mg, aLen, kcMax, p0, p1)
	}
}

// packA packs the mc rows of op(A) from row ic, all of k, into MR-row
// micro-panels in dst, k-block pc (kcMax deep) at dst[aLen·pc:], gathering
// its rows when the call does.
func (f *blocksGemm) packA(dst []float32, aLen int, stage []float32, ic, mc, kcMax int) {
	mr, k := f.g.blocks.mr, f.g.k
	if f.rows != nil {
		packGathered(dst, aLen, f.src, f.lda, f.rows, f.transA, ic, mc, k, kcMax, mr, f.g.simdPack)
		return
	}
	for pc := 0; pc < k; pc += kcMax {
		pack(dst[aLen*pc:], stage, f.g.a, ic, mc, pc, min(kcMax, k-pc), mr, f.g.simdPack)
	}
}

// stream runs panels [p0, p1) of the blocks past the packed rows [ig,
// ig+mg) of op(A) (k-block pc at ws.a[aLen·pc:]): per block, NCA-column
// passes, each pass's C block in L2 across the k-blocks, as
// loopsResidentA does for one product.
func (f *blocksGemm) stream(ws *workspace, ig, mg, aLen, kcMax, p0, p1 int) {
	bs := &f.g.blocks
	k := f.g.k
	g := f.g
	first := 0 // the block's first panel, counted over all blocks
	for i := range f.blocks {
		np := (f.blocks[i].N + bs.nr - 1) / bs.nr
		lo, hi := max(p0, first)-first, min(p1, first+np)-first
		first += np
		if lo >= hi {
			continue
		}
		f.setBlock(&g, i)
		j0, j1 := lo*bs.nr, min(g.n, hi*bs.nr)
		ncMax := blockLen(j1-j0, bs.nca, bs.nr)
		for jc := j0; jc < j1; jc += ncMax { // NCA columns of B_b and C_b
			nc := min(ncMax, j1-jc)
			for pc := 0; pc < k; pc += kcMax { // KC-deep slices of A and B_b
				kc := min(kcMax, k-pc)
				bBlk := newBlock(ws.b, g.b.t(), jc, nc, pc, kc, bs.nr, false)
				bBlk.prepare(ws.stage, g.simdPack)
				aBlk := newBlock(ws.a[aLen*pc:], strided{}, ig, mg, pc, kc, bs.mr, true)
				g.macroKernel(&aBlk, &bBlk, ig, jc, pc)
			}
		}
	}
}
