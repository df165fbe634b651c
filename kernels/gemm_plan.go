package kernels

// parallelMinFlops is the smallest GEMM (2·m·n·k) worth splitting over
// threads: below it waking a helper costs more than it saves. Measured with
// BenchmarkSgemmThreads.
const parallelMinFlops = 4 << 20

// plan decides, once per call, which operands to pack and how to split C
// over threads.
func (g *gemm) plan(threads int) {
	bs := &g.blocks
	g.packA, g.packB = true, true
	g.parts, g.splitRows = 1, false
	if threads < 2 || 2*g.m*g.n*g.k < parallelMinFlops {
		return
	}
	rowPanels := (g.m + bs.mr - 1) / bs.mr
	colPanels := (g.n + bs.nr - 1) / bs.nr
	// Each slice reads all of the operand the split does not cut: a column
	// split re-reads op(A) (m×k) per thread, a row split op(B) (k×n).
	g.splitRows = g.m > g.n && rowPanels >= threads || colPanels < threads
	panels := colPanels
	if g.splitRows {
		panels = rowPanels
	}
	g.parts = min(threads, panels)
}
