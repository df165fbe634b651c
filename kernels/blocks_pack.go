package kernels

//go:generate go run -C ../_gen ./gemm -set gather -out ../kernels/gather_gen_amd64.s -stubs ../kernels/gather_gen_amd64.go -pkg kernels

// packGathered is pack for an op(A) whose stored rows are gathered: stored
// row i of A is a[rows[i]·lda:], and it is op(A)'s row i (op(A) = A) or
// column i (transA: op(A) = Aᵀ). It packs the mc rows of op(A) from row i0,
// all k of its columns, k-block by k-block (kcMax deep, the last one
// shorter), each into w-row micro-panels, zero-padded, the layout pack
// writes, k-block pc at dst[aLen·pc:]:
//
//	dst[aLen·pc + q·w·kc + p·w + i] = op(A)[i0 + q·w + i, pc + p]   (kc: the k-block's depth)
//
// With simd set, the asm gathering packers do the full panels (and full
// 8-column steps) and Go the rest. The rows must lie inside a
// (checkGathered). Stored pixels are converted as they are packed, so the
// panels hold the floats a stored float32 copy would give.
func packGathered(dst []float32, aLen int, a storedA, lda int, rows []int, transA bool, i0, mc, k, kcMax, w int, simd bool) {
	if !transA {
		packGatheredRows(dst, aLen, a, lda, rows, i0, mc, k, kcMax, w, simd)
		return
	}
	for pc := 0; pc < k; pc += kcMax {
		packGatheredColumns(dst[aLen*pc:], a, lda, rows, i0, mc, pc, min(kcMax, k-pc), w, simd)
	}
}

// packGatheredRows packs a gathered op(A) = A: each panel transposes w
// gathered rows, op(A)[i, p] = a[rows[i]·lda + p]. It walks the panels'
// rows from end to end, every k-block of one panel before the next panel:
// the rows come from memory, and a row read in one run streams, where one
// read a k-block at a time starts cold at each piece (bench/NOTES.md
// "AVX2 path on Zen 4").
func packGatheredRows(dst []float32, aLen int, a storedA, lda int, rows []int, i0, mc, k, kcMax, w int, simd bool) {
	var offs [maxGatherW]int // [w] where the panel's rows start in a
	for q := 0; q < mc; q += w {
		h := min(w, mc-q)
		for j := range h {
			offs[j] = rows[i0+q+j] * lda
		}
		if simd {
			// A partial panel (m not a multiple of w) goes through the asm
			// packer too, its missing rows read from its last row and then
			// zeroed: a scalar transpose of those rows cost as much as all
			// the full panels together.
			for j := h; j < w; j++ {
				offs[j] = offs[h-1]
			}
		}
		for pc := 0; pc < k; pc += kcMax {
			kc := min(kcMax, k-pc)
			packGatheredPanel(dst[aLen*pc+q*kc:aLen*pc+q*kc+w*kc], a, offs[:w], h, kc, w, simd)
			for j := range w {
				offs[j] += kc
			}
		}
	}
}

// packGatheredPanel transposes into panel the kc columns of the h ≤ w
// gathered rows that start at offs[:h] (offs[h:w] repeat a row, for the
// asm packer), zero-padding rows h to w.
func packGatheredPanel(panel []float32, a storedA, offs []int, h, kc, w int, simd bool) {
	done := 0
	if simd {
		if a.p != nil {
			done = packTransposeGatherPixelsSIMD(panel, a.p, offs, kc, w)
		} else {
			done = packTransposeGatherSIMD(panel, a.f, offs, kc, w)
		}
		if h < w {
			for p := range done {
				clear(panel[p*w+h : p*w+w])
			}
		}
	}
	if done == kc {
		return
	}
	panel = panel[done*w:]
	if h < w {
		clear(panel)
	}
	for j := range h {
		if a.p != nil {
			for p, b := range a.p[offs[j]+done : offs[j]+kc] {
				panel[p*w+j] = PixelValue(b)
			}
			continue
		}
		for p, x := range a.f[offs[j]+done : offs[j]+kc] {
			panel[p*w+j] = x
		}
	}
}

// packGatheredColumns packs a gathered op(A) = Aᵀ: each gathered row is a
// column of op(A) and gives w contiguous floats to each panel,
// op(A)[i, p] = a[rows[p]·lda + i].
func packGatheredColumns(dst []float32, a storedA, lda int, rows []int, i0, mc, p0, kc, w int, simd bool) {
	full := mc / w
	h := mc - full*w // rows of the partial last panel
	var offs [64]int // where the next columns of op(A) (rows of a) start
	for p := 0; p < kc; p += len(offs) {
		n := min(len(offs), kc-p)
		for i := range n {
			offs[i] = rows[p0+p+i]*lda + i0
		}
		if full > 0 {
			done := 0
			if simd {
				done = packCopyGatherStoredSIMD(dst[p*w:], a, offs[:n], kc, w, full)
			}
			for i, off := range offs[done:n] {
				for q := range full {
					copyStored(dst[(q*kc+p+done+i)*w:(q*kc+p+done+i+1)*w], a, off+q*w)
				}
			}
		}
		if h > 0 {
			panel := dst[full*w*kc:]
			for i, off := range offs[:n] {
				d := panel[(p+i)*w : (p+i+1)*w]
				copyStored(d[:h], a, off+full*w)
				clear(d[h:])
			}
		}
	}
}

// packCopyGatherStoredSIMD packs with asm the leading gathered columns
// offs of panels full w-row panels (see packCopyGatherSIMD) and returns how
// many it packed.
func packCopyGatherStoredSIMD(dst []float32, a storedA, offs []int, cols, w, panels int) int {
	if a.p != nil {
		return packCopyGatherPixelsSIMD(dst, a.p, offs, cols, w, panels)
	}
	if packCopyGatherSIMD(dst, a.f, offs, cols, w, panels) {
		return len(offs)
	}
	return 0
}

// storedA is the matrix a gathered op(A) is read from (SgemmBlocks,
// SgemmBlocksPixels): floats f, or pixels p, each byte b read as
// PixelValue(b). Exactly one is set.
type storedA struct {
	f []float32
	p []uint8
}

// len is the number of values stored.
func (a storedA) len() int {
	if a.p != nil {
		return len(a.p)
	}
	return len(a.f)
}

// copyStored writes into d the len(d) values of a from off, as floats.
func copyStored(d []float32, a storedA, off int) {
	if a.p == nil {
		copy(d, a.f[off:off+len(d)])
		return
	}
	PixelsToFloats(d, a.p[off:off+len(d)])
}

// maxGatherW is the widest panel packGatheredRows packs (the largest MR).
const maxGatherW = 32
