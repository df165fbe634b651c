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
