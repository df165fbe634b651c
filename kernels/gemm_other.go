//go:build purego || !amd64

package kernels

// microKernels holds the micro-kernel of each ISA path this build has.
var microKernels = [...]microKernel{Generic: microKernelGo}

// microKernelsNext holds no kernels for B read in place: the portable
// kernel serves both.
var microKernelsNext = [...]microKernel{Generic: nil}

// packFullPanels packs nothing without asm; see the amd64 version.
func packFullPanels(dst, src []float32, ld, cols, w, panels int) int { return 0 }

// packPanelSIMD packs nothing without asm; see the amd64 version.
func packPanelSIMD(panel, src []float32, ld, cols, w, h int, transpose bool) int { return 0 }

// narrowKernels are none without asm: the narrow path is the AVX-512 one.
var narrowKernels [narrowMaxN + 1]narrowKernel
