//go:build amd64 && !purego

package kernels

// packTransposeGatherSIMD packs the leading columns of one full w-row
// panel of gathered rows (see packGatheredRows) with the asm packer of
// width w, and returns how many: the multiple of 8 below cols, or 0 for a
// width without one.
func packTransposeGatherSIMD(panel, src []float32, offs []int, cols, w int) int {
	switch w {
	case 6:
		packTransposeGather6AVX2(panel, src, offs, cols)
	case 12:
		packTransposeGather12AVX2(panel, src, offs, cols)
	default:
		return 0
	}
	return cols &^ 7
}

// packCopyGatherSIMD packs panels (≥ 1) full w-row panels of the gathered
// columns offs (see packGatheredColumns) with the asm packer of width w,
// and reports whether there is one.
func packCopyGatherSIMD(dst, src []float32, offs []int, cols, w, panels int) bool {
	switch w {
	case 6:
		packCopyGather6AVX2(dst, src, offs, cols, panels)
	case 12:
		packCopyGather12AVX2(dst, src, offs, cols, panels)
	default:
		return false
	}
	return true
}
