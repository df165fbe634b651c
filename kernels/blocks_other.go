//go:build purego || !amd64

package kernels

// packTransposeGatherSIMD packs nothing without asm; see the amd64 version.
func packTransposeGatherSIMD(panel, src []float32, offs []int, cols, w int) int { return 0 }

// packCopyGatherSIMD packs nothing without asm; see the amd64 version.
func packCopyGatherSIMD(dst, src []float32, offs []int, cols, w, panels int) bool { return false }
