//go:build amd64 && !purego

package kernels

// microKernels holds the micro-kernel of each ISA path this build has.
var microKernels = [...]microKernel{Generic: microKernelGo, AVX2: microKernelAVX2, AVX512: microKernelAVX512}

// microKernelsNext holds, per ISA path, the micro-kernel for B
// micro-panels read in place (loopsResidentA, SgemmBlocks), or nil:
// microKernels'. Same bits; its first tile also prefetches the same rows of
// the next micro-panel, on the same pages: the rows of a wide B are a page
// or more apart, beyond the hardware prefetchers, and the first tile of
// each panel would miss on every row (bench/NOTES.md "Short-wide products:
// the next micro-panel prefetched by the first tile").
var microKernelsNext = [...]microKernel{AVX512: microKernelAVX512Next}

// narrowKernels are the AVX-512 narrow kernels by n (see narrowKernel).
var narrowKernels = [narrowMaxN + 1]narrowKernel{nil,
	gemm32x1NarrowAVX512, gemm32x2NarrowAVX512, gemm32x3NarrowAVX512, gemm32x4NarrowAVX512,
	gemm32x5NarrowAVX512, gemm32x6NarrowAVX512, gemm32x7NarrowAVX512, gemm32x8NarrowAVX512,
	gemm32x9NarrowAVX512, gemm32x10NarrowAVX512, gemm32x11NarrowAVX512, gemm32x12NarrowAVX512,
	gemm32x13NarrowAVX512, gemm32x14NarrowAVX512}

// microKernelAVX2 runs the 6×16 AVX2 kernel, and the last tile of a panel
// on the 4×16 or 2×16 kernel when it has at most 4 or 2 rows (m = 784 on
// MR = 6 ends with 4 rows, m = 128 with 2, which the 6×16 kernel would
// compute as 6). All three prefetch B a few rows ahead (the Ahead kernels:
// B read in place, rows 512 bytes apart, does not stay in L1 between
// tiles). Every element gets the same operations in the same order from
// any of them, gemm6x16AVX2 included: the choice never changes the bits
// (TestAVX2EdgeKernels).
func microKernelAVX2(k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int) {
	ks := &avx2Kernels
	rest := m % 6
	if rest == 0 || rest > 4 {
		ks.full(k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, m, nr)
		return
	}
	full := m - rest
	if full > 0 {
		ks.full(k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, full, nr)
	}
	edge := ks.rows4
	if rest <= 2 {
		edge = ks.rows2
	}
	edge(k, alpha, a[full/6*psA:], rsA, csA, psA, b, csB, beta, c[full*ldc:], ldc, rest, nr)
}

// avx2KernelSet are the kernels microKernelAVX2 picks from: the 6×16 and
// the row-edge 4×16 and 2×16, which read the first 4 or 2 rows of a 6-row
// A panel. The 4×16 keeps eight accumulators, enough to hide the FMA
// latency; the 2×16 has four, and still costs less than a 6×16 tile.
type avx2KernelSet struct{ full, rows4, rows2 microKernel }

// avx2Kernels is a variable so that tests can run the plain 6×16 kernel
// on every row (TestAVX2EdgeKernels) and the interpreted kernels.
var avx2Kernels = avx2KernelSet{gemm6x16AheadAVX2, gemm4x16AheadAVX2, gemm2x16AheadAVX2}

// microKernelAVX512 runs the 12×32 AVX-512 kernel on panels wider than 16
// columns, and the last tile of such a panel on the 8×32 or 4×32 kernel
// when it has at most 8 or 4 rows (m = 128 on MR = 12 ends with 8 rows,
// m = 784 with 4, which the 12×32 kernel would compute as 12). A narrower
// panel (a column edge; all of C when n ≤ 16) goes to the 12×16 AVX-512
// kernel or, with edgesAVX2 (Tuning.EdgesAVX2: where AVX-512 runs as two
// 256-bit halves, bench/NOTES.md "column edges"), to the 6×16 AVX2 kernel
// on the two 6-row halves of each 12-row A panel. All of them compute every element with
// the same operations in the same order: the choice never changes the
// bits (TestAVX512EdgeKernels).
func microKernelAVX512(k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int) {
	avx512Kernels.run(avx512Kernels.wide, k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, m, nr)
}

// microKernelAVX512Next is microKernelAVX512 with the 12×32 kernel that
// also asks for the next B micro-panel (see microKernelsNext).
func microKernelAVX512Next(k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int) {
	avx512Kernels.run(avx512Kernels.wideNext, k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, m, nr)
}

// run is microKernelAVX512 with wide as the 12×32 kernel.
func (ks *avx512KernelSet) run(wide microKernel, k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int) {
	switch {
	case nr > 16:
		rest := m % 12
		if rest == 0 || rest > 8 {
			wide(k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, m, nr)
			return
		}
		full := m - rest
		if full > 0 {
			wide(k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, full, nr)
		}
		edge := ks.rows8
		if rest <= 4 {
			edge = ks.rows4
		}
		edge(k, alpha, a[full/12*psA:], rsA, csA, psA, b, csB, beta, c[full*ldc:], ldc, rest, nr)
	case !edgesAVX2:
		ks.half(k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, m, nr)
	case psA == 12*rsA: // the halves are 6·rsA apart throughout (A in place)
		gemm6x16AVX2(k, alpha, a, rsA, csA, 6*rsA, b, csB, beta, c, ldc, m, nr)
	default:
		for i := 0; i < m; i += 12 {
			gemm6x16AVX2(k, alpha, a[i/12*psA:], rsA, csA, 6*rsA, b, csB, beta, c[i*ldc:], ldc, min(12, m-i), nr)
		}
	}
}

// avx512KernelSet are the kernels microKernelAVX512 picks from: the 12×32
// (wide; wideNext for B in place), the 12×16 (half) and the row-edge 8×32
// and 4×32, which read the first 8 or 4 rows of a 12-row A panel.
type avx512KernelSet struct{ wide, wideNext, half, rows8, rows4 microKernel }

// avx512Kernels is a variable so that the emulator test runs the same
// choices on the interpreted kernels.
var avx512Kernels = avx512KernelSet{gemm12x32AVX512, gemm12x32NextAVX512, gemm12x16AVX512, gemm8x32AVX512, gemm4x32AVX512}

// packFullPanels packs the first panels full w-wide panels of a block whose
// panel rows are contiguous in src (see pack), walking src row by row, and
// returns how many it packed: all, or 0 for widths without a packer. The
// AVX-512 path's 12-row A panels are packed with AVX-512 code when the
// rows come in fours, else with AVX2, like every other width.
func packFullPanels(dst, src []float32, ld, cols, w, panels int) int {
	packers := packersOf(w)
	switch {
	case packers == nil:
		return 0
	case w == 12 && detectedISA == AVX512 && cols%4 == 0: // the AVX-512 path's A panels, four rows at a time
		packCopy12AVX512(dst, src, ld, cols, panels)
	default:
		packers.copy(dst, src, ld, cols, panels)
	}
	return panels
}

// packPanelSIMD packs the leading columns of one w-wide panel of h rows
// with the AVX2 packers (see pack) and returns how many it packed: the
// multiple of 8 below cols when transposing a full panel (all cols for a
// 32-wide one on AVX-512, transposed with AVX-512 code), all cols for a
// partial panel of width 16 or 32 whose columns are contiguous, otherwise 0.
func packPanelSIMD(panel, src []float32, ld, cols, w, h int, transpose bool) int {
	packers := packersOf(w)
	switch {
	case packers == nil:
		return 0
	case transpose && h == w && w == 32 && detectedISA == AVX512: // A's narrow panels, B's 12×32 ones
		packTranspose32AVX512(panel, src, ld, cols)
		return cols
	case transpose && h == w:
		packers.transpose(panel, src, ld, cols)
		return cols &^ 7
	case !transpose && h < w && packers.copyMasked != nil:
		packers.copyMasked(panel, src, ld, cols, h)
		return cols
	}
	return 0
}

// simdPackers are the asm packers by panel width: the MR and NR of the
// AVX2 and AVX-512 kernels. An array, not a map: a map lookup per packed
// block was 2–3 % of a product with k = 10.
var simdPackers = [...]simdPackerSet{
	6:  {packCopy6AVX2, packTranspose6AVX2, nil},
	12: {packCopy12AVX2, packTranspose12AVX2, nil},
	16: {packCopy16AVX2, packTranspose16AVX2, packCopyMasked16AVX2},
	32: {packCopy32AVX2, packTranspose32AVX2, packCopyMasked32AVX2},
}

// simdPackerSet are the packers of one panel width.
type simdPackerSet struct {
	copy       func(dst, src []float32, ld, cols, panels int)
	transpose  func(panel, src []float32, ld, cols int)
	copyMasked func(panel, src []float32, ld, cols, h int)
}

// packersOf returns the packers of width w, or nil.
func packersOf(w int) *simdPackerSet {
	if w < len(simdPackers) && simdPackers[w].copy != nil {
		return &simdPackers[w]
	}
	return nil
}
