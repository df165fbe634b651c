package kernels

// parallelMinFlops is the smallest GEMM (2·m·n·k) worth splitting over
// threads: below it waking a helper costs more than it saves. Measured with
// BenchmarkSgemmThreads.
const parallelMinFlops = 4 << 20

// packAMinN is the width of C from which packing A pays. A is read in
// place by default: each A micro-panel is reused across the n/NR B panels,
// and below this width the packing (about 0.2 ns per float in asm, 1–2 ns in
// Go) costs what the packed layout saves. For wide C, in-place rows with a
// power-of-two lda also thrash the caches. Measured with BenchmarkPackPolicy
// (AVX2, Zen 3): 1024³ gains 15–20 %, 512³ and n ≤ 784 tie or lose.
const packAMinN = 1024

// plan decides, once per call, whether to pack A and how to split C over
// threads. B is always packed: its micro-panel is the one kept in L1.
func (g *gemm) plan(threads int) {
	bs := &g.blocks
	colPanels := (g.n + bs.nr - 1) / bs.nr
	rowPanels := (g.m + bs.mr - 1) / bs.mr
	g.packA = g.n >= packAMinN
	g.parts, g.splitRows = 1, false
	if threads < 2 || 2*g.m*g.n*g.k < parallelMinFlops {
		return
	}
	// Each slice reads all of the operand the split does not cut: a column
	// split re-reads op(A) (m×k) per thread, a row split op(B) (k×n).
	g.splitRows = g.m > g.n && rowPanels >= threads || colPanels < threads
	panels := colPanels
	if g.splitRows {
		panels = rowPanels
	}
	g.parts = min(threads, panels)
}
