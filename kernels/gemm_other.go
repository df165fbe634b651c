//go:build purego || !amd64

package kernels

// microKernels holds the micro-kernel of each ISA path this build has.
var microKernels = [...]microKernel{Generic: microKernelGo}

// packFullPanel packs nothing without asm; see the amd64 version.
func packFullPanel(panel, src []float32, ld, cols, w int, transpose bool) int { return 0 }
