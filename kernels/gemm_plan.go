package kernels

// parallelMinFlops is the smallest GEMM (2·m·n·k) worth splitting over
// threads: below it waking a helper costs more than it saves. Measured with
// BenchmarkSgemmThreads.
const parallelMinFlops = 4 << 20

// packAMinN is the width of C from which packing A pays. A is read in
// place by default: each A micro-panel is reused across the n/NR B panels,
// and below this width the packing costs what the packed layout saves. For
// wide C, in-place rows with a power-of-two lda also thrash the caches. A
// transposed A panel read in place touches a new cache line at every k
// step (its MR floats per step are a row of the stored A), so packing it,
// a plain copy, may pay sooner: from the ISA path's PackAT (blockSizes).
// BenchmarkPackPolicy and BenchmarkSgemm placed the thresholds (figures in
// bench/NOTES.md).
const packAMinN = 1024

// plan decides, once per call, whether to pack A, whether loopsResidentA
// reads B in place, and how to split C over threads. The standard loop
// order always packs B: its KC×NC block is reused across the MC blocks of
// A. loopsResidentA reads each B element into registers once per MR rows
// of C, right away, so a copy gains nothing when op(B)'s rows are
// contiguous (BenchmarkResidentA).
func (g *gemm) plan(threads int) {
	bs := &g.blocks
	colPanels := (g.n + bs.nr - 1) / bs.nr
	rowPanels := (g.m + bs.mr - 1) / bs.mr
	g.packA = g.n >= packAMinN || g.a.rs == 1 && g.n >= bs.packAT
	g.inPlaceB = g.b.cs == 1
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
