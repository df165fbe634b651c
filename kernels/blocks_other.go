//go:build purego || !amd64

package kernels

// packTransposeGatherSIMD packs nothing without asm; see the amd64 version.
func packTransposeGatherSIMD(panel, src []float32, offs []int, cols, w int) int { return 0 }

// packCopyGatherSIMD packs nothing without asm; see the amd64 version.
func packCopyGatherSIMD(dst, src []float32, offs []int, cols, w, panels int) bool { return false }

// packTransposeGatherPixelsSIMD packs nothing without asm; see the amd64 version.
func packTransposeGatherPixelsSIMD(panel []float32, src []uint8, offs []int, cols, w int) int {
	return 0
}

// packCopyGatherPixelsSIMD packs nothing without asm; see the amd64 version.
func packCopyGatherPixelsSIMD(dst []float32, src []uint8, offs []int, cols, w, panels int) int {
	return 0
}
