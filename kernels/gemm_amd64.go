//go:build amd64 && !purego

package kernels

// microKernels holds the micro-kernel of each ISA path this build has.
var microKernels = [...]microKernel{Generic: microKernelGo, AVX2: gemm6x16AVX2, AVX512: microKernelAVX512}

// microKernelAVX512 runs the 12×32 AVX-512 kernel, or its 12×16 half when
// the panel is at most 16 columns wide (a column edge).
func microKernelAVX512(k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int) {
	if nr <= 16 {
		gemm12x16AVX512(k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, m, nr)
		return
	}
	gemm12x32AVX512(k, alpha, a, rsA, csA, psA, b, csB, beta, c, ldc, m, nr)
}

// packFullPanels packs the first panels full w-wide panels of a block whose
// panel rows are contiguous in src (see pack), walking src row by row, and
// returns how many it packed: all, or 0 for widths without a packer.
func packFullPanels(dst, src []float32, ld, cols, w, panels int) int {
	packers, ok := simdPackers[w]
	if !ok {
		return 0
	}
	packers.copy(dst, src, ld, cols, panels)
	return panels
}

// packPanelSIMD packs the leading columns of one w-wide panel of h rows
// with the AVX2 packers (see pack) and returns how many it packed: the
// multiple of 8 below cols when transposing a full panel, all cols for a
// partial panel of width 16 or 32 whose columns are contiguous, otherwise 0.
func packPanelSIMD(panel, src []float32, ld, cols, w, h int, transpose bool) int {
	packers, ok := simdPackers[w]
	switch {
	case !ok:
		return 0
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
// AVX2 and AVX-512 kernels.
var simdPackers = map[int]struct {
	copy       func(dst, src []float32, ld, cols, panels int)
	transpose  func(panel, src []float32, ld, cols int)
	copyMasked func(panel, src []float32, ld, cols, h int)
}{
	6:  {packCopy6AVX2, packTranspose6AVX2, nil},
	12: {packCopy12AVX2, packTranspose12AVX2, nil},
	16: {packCopy16AVX2, packTranspose16AVX2, packCopyMasked16AVX2},
	32: {packCopy32AVX2, packTranspose32AVX2, packCopyMasked32AVX2},
}
