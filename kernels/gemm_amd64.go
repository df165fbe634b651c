//go:build amd64 && !purego

package kernels

// microKernels holds the micro-kernel of each ISA path this build has.
var microKernels = [...]microKernel{Generic: microKernelGo, AVX2: gemm6x16AVX2, AVX512: microKernelAVX512}

// microKernelAVX512 runs the 12×32 AVX-512 kernel, or its 12×16 half when
// the tile is at most 16 columns wide (a column edge).
func microKernelAVX512(k int, alpha float32, a []float32, rsA, csA int, b []float32, csB int, beta float32, c []float32, ldc, mr, nr int) {
	if nr <= 16 {
		gemm12x16AVX512(k, alpha, a, rsA, csA, b, csB, beta, c, ldc, mr, nr)
		return
	}
	gemm12x32AVX512(k, alpha, a, rsA, csA, b, csB, beta, c, ldc, mr, nr)
}

// packFullPanel packs the leading columns of a full panel of width w with
// the AVX2 packers (see pack) and returns how many it packed: all cols for
// w = 16 or 32 when the panel rows are contiguous in src, the multiple of 8
// below cols when transposing, 0 for other widths.
func packFullPanel(panel, src []float32, ld, cols, w int, transpose bool) int {
	switch {
	case w == 16 && !transpose:
		packCopy16AVX2(panel, src, ld, cols)
	case w == 32 && !transpose:
		packCopy32AVX2(panel, src, ld, cols)
	case w == 16 && transpose:
		packTranspose16AVX2(panel, src, ld, cols)
	case w == 32 && transpose:
		packTranspose32AVX2(panel, src, ld, cols)
	default:
		return 0
	}
	if transpose {
		return cols &^ 7
	}
	return cols
}
