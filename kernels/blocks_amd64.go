//go:build amd64 && !purego

package kernels

// packTransposeGatherSIMD packs the leading columns of one full w-row
// panel of gathered rows (see packGatheredRows) with the asm packer of
// width w, and returns how many: the multiple of 8 below cols (of 4 for
// the 6-row panels of the AVX2 path, whose k-blocks of k = 784 are 196
// deep), or 0 for a width without one. The 12-row panels of the AVX-512
// path are packed 16 columns at a time with AVX-512 code, an 8-column rest
// with AVX2.
func packTransposeGatherSIMD(panel, src []float32, offs []int, cols, w int) int {
	switch {
	case w == 6:
		packTransposeGather6AVX2(panel, src, offs, cols)
		return cols &^ 3
	case w == 12 && detectedISA == AVX512:
		done := cols &^ 15
		if done > 0 {
			packTransposeGather12AVX512(panel, src, offs, done)
		}
		if cols&8 != 0 {
			packTransposeGather12AVX2(panel[done*w:], src[done:], offs, 8)
		}
	case w == 12:
		packTransposeGather12AVX2(panel, src, offs, cols)
	default:
		return 0
	}
	return cols &^ 7
}

// packCopyGatherSIMD packs panels (≥ 1) full w-row panels of the gathered
// columns offs (see packGatheredColumns) with the asm packer of width w,
// and reports whether there is one. The 12-row panels of the AVX-512 path
// take four gathered columns at a time with AVX-512 code, the rest with
// AVX2.
func packCopyGatherSIMD(dst, src []float32, offs []int, cols, w, panels int) bool {
	switch {
	case w == 6:
		packCopyGather6AVX2(dst, src, offs, cols, panels)
	case w == 12 && detectedISA == AVX512:
		n4 := len(offs) &^ 3
		if n4 > 0 {
			packCopyGather12AVX512(dst, src, offs[:n4], cols, panels)
		}
		if n4 < len(offs) {
			packCopyGather12AVX2(dst[n4*w:], src, offs[n4:], cols, panels)
		}
	case w == 12:
		packCopyGather12AVX2(dst, src, offs, cols, panels)
	default:
		return false
	}
	return true
}

// packTransposeGatherPixelsSIMD is packTransposeGatherSIMD on stored
// pixels: the 6-row panels of the AVX2 path (4 columns at a time) and the
// 12-row panels of the AVX-512 path (16 at a time); the rest in Go, and 0
// for any other width.
func packTransposeGatherPixelsSIMD(panel []float32, src []uint8, offs []int, cols, w int) int {
	var done int
	switch {
	case w == 6:
		done = cols &^ 3
		if done > 0 {
			packTransposeGatherBytes6AVX2(panel, src, offs, done, PixelMax)
		}
	case w == 12 && detectedISA == AVX512:
		done = cols &^ 15
		if done > 0 {
			packTransposeGatherBytes12AVX512(panel, src, offs, done, PixelMax)
		}
	}
	return done
}

// packCopyGatherPixelsSIMD is packCopyGatherSIMD on stored pixels: the
// 6-row panels of the AVX2 path and the 12-row panels of the AVX-512 path,
// four gathered columns at a time; it returns how many columns it packed
// (the rest are Go's).
func packCopyGatherPixelsSIMD(dst []float32, src []uint8, offs []int, cols, w, panels int) int {
	n4 := len(offs) &^ 3
	switch {
	case n4 == 0:
	case w == 6:
		packCopyGatherBytes6AVX2(dst, src, offs[:n4], cols, panels, PixelMax)
	case w == 12 && detectedISA == AVX512:
		packCopyGatherBytes12AVX512(dst, src, offs[:n4], cols, panels, PixelMax)
	default:
		return 0
	}
	return n4
}
