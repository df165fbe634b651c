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
// the AVX2 packers (see pack) and returns how many it packed: all cols when
// the panel rows are contiguous in src, the multiple of 8 below cols when
// transposing, and 0 for widths without a packer.
func packFullPanel(panel, src []float32, ld, cols, w int, transpose bool) int {
	packers, ok := simdPackers[w]
	if !ok {
		return 0
	}
	if transpose {
		packers.transpose(panel, src, ld, cols)
		return cols &^ 7
	}
	packers.copy(panel, src, ld, cols)
	return cols
}

// simdPackers are the asm packers by panel width: the MR and NR of the
// AVX2 and AVX-512 kernels.
var simdPackers = map[int]struct {
	copy, transpose func(panel, src []float32, ld, cols int)
}{
	6:  {packCopy6AVX2, packTranspose6AVX2},
	12: {packCopy12AVX2, packTranspose12AVX2},
	16: {packCopy16AVX2, packTranspose16AVX2},
	32: {packCopy32AVX2, packTranspose32AVX2},
}
