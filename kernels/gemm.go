package kernels

// Sgemm computes C = alpha·op(A)·op(B) + beta·C; see the package-level Sgemm
// for the contract. It runs on ctx.Backend(), the BLIS GEMM with up to
// ctx.Threads() goroutines or OpenBLAS. Invalid
// arguments (negative sizes, short slices, small leading dimensions) panic
// with a message naming the argument, as BLAS implementations do.
func (ctx *Context) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, nil); err != nil {
		panic(err)
	}
	if ctx.backend == OpenBLAS && m > 0 && n > 0 && k > 0 { // CBLAS wrappers reject some empty shapes
		netlibSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ctx.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, Linear, false)
}

// SgemmBiasAct computes C = act(op(A)·op(B) + bias), bias broadcast over the
// m rows (len(bias) = n; nil means no bias). It is the forward pass of a
// Dense layer in one call: C is only written. Bias and activation are
// applied right after the last k-block, while C is in cache: to each
// column panel of C (at most MC×NR), or to the whole MC-row block when it
// spans C's rows.
func (ctx *Context) SgemmBiasAct(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias []float32, act Activation, c []float32, ldc int) {
	if err := checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, bias); err != nil {
		panic(err)
	}
	if ctx.backend == OpenBLAS && m > 0 && n > 0 && k > 0 {
		netlibSgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
		for i := 0; i < m; i++ {
			finishRow(c[i*ldc:i*ldc+n], bias, act)
		}
		return
	}
	ctx.sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc, bias, act, true)
}

// sgemm is the BLIS implementation behind Sgemm and SgemmBiasAct, on
// checked arguments; epilogue asks for bias and act on the result.
func (ctx *Context) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, act Activation, epilogue bool) {
	if m == 0 || n == 0 {
		return
	}
	g := &ctx.call
	*g = gemm{
		m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: operand(a, lda, transA),
		b: operand(b, ldb, transB),
		c: c, ldc: ldc,
		bias: bias, act: act, epilogue: epilogue,
	}
	isa := ActiveISA()
	g.setISA(isa)
	g.plan(ctx.threads)
	switch {
	case k == 0 || alpha == 0:
		g.scaleC()
	case g.narrowOK(isa):
		g.runNarrow(&ctx.ws)
	case g.parts > 1:
		ctx.workers().run(g, &ctx.ws)
	default:
		g.runPart(0, &ctx.ws)
	}
	*g = gemm{} // drop the references to the caller's slices
}

// operand returns the view of op(X) for X stored row-major with leading
// dimension ld.
func operand(x []float32, ld int, trans bool) strided {
	v := strided{data: x, rs: ld, cs: 1}
	if trans {
		return v.t()
	}
	return v
}

// gemm is one call's problem, C = alpha·op(A)·op(B) + beta·C then
// optionally C = act(C + bias), and how it is run.
type gemm struct {
	m, n, k     int
	alpha, beta float32
	a           strided // op(A) [m×k]
	b           strided // op(B) [k×n]
	c           []float32
	ldc         int       // C [m×n]
	bias        []float32 // [n] or nil
	act         Activation
	epilogue    bool // apply bias and act after the last k-block

	blocks    blockSizes
	kernel    microKernel
	packA     bool // false: A's full micro-panels are read in place
	inPlaceB  bool // loopsResidentA reads op(B)'s full micro-panels in place
	simdPack  bool // pack full panels with the SIMD packers
	splitRows bool // threads split the rows of C instead of its columns
	parts     int  // number of threads; C is split into parts slices

	// kernelInB is the micro-kernel for B micro-panels read in place, or
	// nil: kernel (see microKernelsNext).
	kernelInB microKernel
}

// setISA selects the block sizes (with this CPU's Tuning), micro-kernel
// and packers of isa. The SIMD packers are AVX2 code: isa is above the
// CPU's only where a test emulates the AVX-512 path, and there a CPU
// without AVX2 packs with Go.
func (g *gemm) setISA(isa ISA) {
	g.blocks, g.kernel = activeBlocks[isa], microKernels[isa]
	g.simdPack = isa != Generic && detectedISA >= AVX2
	g.kernelInB = nil
	if tuning[isa].NextPanel {
		g.kernelInB = microKernelsNext[isa]
	}
}

// scaleC handles k = 0 or alpha = 0, where op(A)·op(B) is not referenced:
// C = beta·C (beta = 0: C is only written), then the epilogue.
func (g *gemm) scaleC() {
	for i := 0; i < g.m; i++ {
		row := g.c[i*g.ldc : i*g.ldc+g.n]
		if g.beta == 0 {
			clear(row)
		} else {
			for j := range row {
				row[j] *= g.beta
			}
		}
		if g.epilogue {
			finishRow(row, g.bias, g.act)
		}
	}
}

// finishRow applies the epilogue to a row segment of C: row = act(row+bias).
func finishRow(row, bias []float32, act Activation) {
	if bias != nil {
		AddBias(row, bias[:len(row)])
	}
	ActForward(act, row)
}

// finishRows applies the epilogue to whole rows of C, c [rows×len(bias)]
// contiguous (bias nil: act only): c = act(c + bias).
func finishRows(c, bias []float32, act Activation) {
	if bias != nil {
		AddBias(c, bias)
	}
	ActForward(act, c)
}

// runPart computes slice t of C, rows or columns aligned to the register
// tile, using the packing buffers of ws.
func (g *gemm) runPart(t int, ws *workspace) {
	if g.splitRows {
		i0, i1 := partRange(g.m, g.blocks.mr, t, g.parts)
		g.loops(ws, i0, i1, 0, g.n)
	} else {
		j0, j1 := partRange(g.n, g.blocks.nr, t, g.parts)
		g.loops(ws, 0, g.m, j0, j1)
	}
}

// partRange returns slice t of parts of [0, n), cut at multiples of unit.
func partRange(n, unit, t, parts int) (lo, hi int) {
	units := (n + unit - 1) / unit
	lo = min(n, units*t/parts*unit)
	hi = min(n, units*(t+1)/parts*unit)
	return lo, hi
}

// blockLen splits n into the fewest blocks of at most max (a multiple of
// unit) and returns their common length, rounded up to unit.
func blockLen(n, max, unit int) int {
	blocks := (n + max - 1) / max
	l := (n + blocks - 1) / blocks
	return (l + unit - 1) / unit * unit
}

// loops runs the BLIS loops over rows [i0, i1) and columns [j0, j1) of C.
// The k-blocking depends on k alone, and every element of C sums its
// k-blocks in ascending order whatever the loop order, so each element's
// bits depend neither on the thread count nor on n.
func (g *gemm) loops(ws *workspace, i0, i1, j0, j1 int) {
	bs := &g.blocks
	kcMax := blockLen(g.k, bs.kc, 1)
	if g.residentA(i1 - i0) {
		g.loopsResidentA(ws, i0, i1, j0, j1, kcMax)
		return
	}
	mcMax := blockLen(i1-i0, bs.mc, bs.mr)
	ncMax := blockLen(j1-j0, bs.nc, bs.nr)
	ws.reserve(mcMax*kcMax, ncMax*kcMax, max(bs.mr, bs.nr)*kcMax)
	for jc := j0; jc < j1; jc += ncMax { // loop 5: NC columns of B and C
		nc := min(ncMax, j1-jc)
		for pc := 0; pc < g.k; pc += kcMax { // loop 4: KC-deep slices of A and B
			kc := min(kcMax, g.k-pc)
			bBlk := g.prepareB(ws, pc, kc, jc, nc)
			for ic := i0; ic < i1; ic += mcMax { // loop 3: MC rows of A and C
				mc := min(mcMax, i1-ic)
				aBlk := g.blockA(ws.a, ic, mc, pc, kc)
				aBlk.prepare(ws.stage, g.simdPack)
				g.macroKernel(&aBlk, &bBlk, ic, jc, pc)
			}
		}
	}
}

// residentA reports whether rows rows of op(A), packed whole (all of k),
// fit the AL2 floats the block table keeps of A in L2 (NCA 0
// turns loopsResidentA off, for benchmarks).
func (g *gemm) residentA(rows int) bool {
	bs := &g.blocks
	return bs.nca > 0 && rows <= bs.mc && roundUp(rows, bs.mr)*g.k <= bs.al2
}

// loopsResidentA is loops for a short op(A) (residentA): its k-blocks are
// made ready once and stay in L2 while B and C stream past in NCA-column
// passes. Each pass's C block stays in L2 across the k-blocks, and op(B)'s
// micro-panels are read in place when its rows are contiguous (inPlaceB),
// else packed KC×NCA at a time and read right after. The standard order
// would instead write and re-read a KC×NC packed block of B and stream the
// whole of C through memory once per k-block, which dominates short-wide
// products (m ≤ MC, n in the thousands).
func (g *gemm) loopsResidentA(ws *workspace, i0, i1, j0, j1, kcMax int) {
	bs := &g.blocks
	mc := i1 - i0
	aLen := roundUp(mc, bs.mr) // floats per column of a packed k-block: A block (pc) at ws.a[aLen·pc:]
	ncMax := blockLen(j1-j0, bs.nca, bs.nr)
	ws.reserve(aLen*g.k, ncMax*kcMax, max(bs.mr, bs.nr)*kcMax)
	for pc := 0; pc < g.k; pc += kcMax {
		aBlk := g.blockA(ws.a[aLen*pc:], i0, mc, pc, min(kcMax, g.k-pc))
		aBlk.prepare(ws.stage, g.simdPack)
	}
	for jc := j0; jc < j1; jc += ncMax { // NCA columns of B and C
		nc := min(ncMax, j1-jc)
		for pc := 0; pc < g.k; pc += kcMax { // KC-deep slices of A and B
			kc := min(kcMax, g.k-pc)
			bBlk := newBlock(ws.b, g.b.t(), jc, nc, pc, kc, bs.nr, !g.inPlaceB)
			bBlk.prepare(ws.stage, g.simdPack)
			aBlk := g.blockA(ws.a[aLen*pc:], i0, mc, pc, kc)
			g.macroKernel(&aBlk, &bBlk, i0, jc, pc)
		}
	}
}

// macroKernel runs loops 2 and 1 on a ready mc×kc block of A at (ic, pc)
// and kc×nc block of B at (pc, jc), updating C's mc×nc block at (ic, jc),
// then the epilogue on each column panel when pc is the last k-block.
func (g *gemm) macroKernel(aBlk, bBlk *block, ic, jc, pc int) {
	bs := &g.blocks
	kc, mc, nc := aBlk.cols, aBlk.rows, bBlk.rows
	beta := g.beta
	if pc > 0 {
		beta = 1
	}
	last := pc+kc == g.k
	// When this block spans whole rows of a contiguous C, its epilogue is
	// two calls over the block instead of two per row of every panel
	// (about 1.5 % of a training step in calls alone); the same
	// elementwise operations on the same values.
	whole := last && g.epilogue && jc == 0 && nc == g.n && g.ldc == g.n
	for jr := 0; jr < nc; jr += bs.nr { // loop 2: one NR-column micro-panel of B
		nr := min(bs.nr, nc-jr)
		bp, _, csB, _, _ := bBlk.panels(jr)
		kern := g.kernel
		if jr < bBlk.full && g.kernelInB != nil { // B in place: also ask for the next panel
			kern = g.kernelInB
		}
		for ir := 0; ir < mc; { // loop 1, in the kernel: the MR-row micro-panels of A, a layout at a time
			ap, rsA, csA, psA, end := aBlk.panels(ir)
			ci := (ic+ir)*g.ldc + jc + jr
			kern(kc, g.alpha, ap, rsA, csA, psA, bp, csB, beta, g.c[ci:], g.ldc, end-ir, nr)
			ir = end
		}
		if last && g.epilogue && !whole {
			g.finishPanel(ic, jc+jr, mc, nr)
		}
	}
	if whole {
		var bias []float32 // [n]
		if g.bias != nil {
			bias = g.bias[:g.n]
		}
		finishRows(g.c[ic*g.ldc:(ic+mc)*g.ldc], bias, g.act)
	}
}

// roundUp rounds n up to a multiple of unit.
func roundUp(n, unit int) int { return (n + unit - 1) / unit * unit }

// finishPanel applies the epilogue to the mr×nr block of C at (i, j), a
// column panel just computed, while it is in cache.
func (g *gemm) finishPanel(i, j, mr, nr int) {
	var bias []float32 // [nr]
	if g.bias != nil {
		bias = g.bias[j : j+nr]
	}
	for r := i; r < i+mr; r++ {
		finishRow(g.c[r*g.ldc+j:r*g.ldc+j+nr], bias, g.act)
	}
}

// blockA locates the mc×kc block of op(A) at (ic, pc), packed into MR-row
// micro-panels in buf or read in place (see block.prepare).
func (g *gemm) blockA(buf []float32, ic, mc, pc, kc int) block {
	return newBlock(buf, g.a, ic, mc, pc, kc, g.blocks.mr, g.packA)
}

// prepareB packs the kc×nc block of op(B) at (pc, jc) into NR-column
// micro-panels (the MR-row layout of op(B)ᵀ).
func (g *gemm) prepareB(ws *workspace, pc, kc, jc, nc int) block {
	blk := newBlock(ws.b, g.b.t(), jc, nc, pc, kc, g.blocks.nr, true)
	blk.prepare(ws.stage, g.simdPack)
	return blk
}

// block locates the w-row micro-panels of a rows×cols block of x at (i0,
// p0): panels starting below row full are read in place from x, the others
// (all of them when packing, else only a partial last one) from packed.
type block struct {
	src           strided
	i0, p0        int
	rows, cols, w int
	full          int
	packed        []float32
}

// newBlock locates the block of x at (i0, p0) with its packed panels in
// buf: all of them when packAll is set, otherwise only a partial last
// panel, which would read past the block's end in place.
func newBlock(buf []float32, x strided, i0, rows, p0, cols, w int, packAll bool) block {
	blk := block{src: x, i0: i0, p0: p0, rows: rows, cols: cols, w: w, packed: buf}
	if !packAll {
		blk.full = rows / w * w
	}
	return blk
}

// prepare packs the panels of b that are not read in place, staging
// through stage (see pack).
func (b *block) prepare(stage []float32, simd bool) {
	if b.full < b.rows {
		pack(b.packed, stage, b.src, b.i0+b.full, b.rows-b.full, b.p0, b.cols, b.w, simd)
	}
}

// panels returns the micro-panels from row r (a multiple of w) up to end
// that share one layout, in place or packed: panel q of them starts at
// p[q·ps:], with row and column strides rs and cs.
func (b *block) panels(r int) (p []float32, rs, cs, ps, end int) {
	if r < b.full {
		return b.src.data[(b.i0+r)*b.src.rs+b.p0*b.src.cs:], b.src.rs, b.src.cs, b.w * b.src.rs, b.full
	}
	return b.packed[(r-b.full)*b.cols:], 1, b.w, b.w * b.cols, b.rows
}
