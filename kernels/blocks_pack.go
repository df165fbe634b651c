package kernels

//go:generate go run -C ../_gen ./gemm -set gather -out ../kernels/gather_gen_amd64.s -stubs ../kernels/gather_gen_amd64.go -pkg kernels

// packGathered is pack for an op(A) whose stored rows are gathered: stored
// row i of A is a[rows[i]·lda:], and it is op(A)'s row i (op(A) = A) or
// column i (transA: op(A) = Aᵀ). It packs the mc×kc block of op(A) at (i0,
// p0) into w-row micro-panels, zero-padded, the layout pack writes:
//
//	dst[q·w·kc + p·w + i] = op(A)[i0 + q·w + i, p0 + p]
//
// With simd set, the asm gathering packers do the full panels (and full
// 8-column steps) and Go the rest. The rows must lie inside a
// (checkGathered).
func packGathered(dst, a []float32, lda int, rows []int, transA bool, i0, mc, p0, kc, w int, simd bool) {
	if transA {
		packGatheredColumns(dst, a, lda, rows, i0, mc, p0, kc, w, simd)
	} else {
		packGatheredRows(dst, a, lda, rows, i0, mc, p0, kc, w, simd)
	}
}

// packGatheredRows packs a gathered op(A) = A: each panel transposes w
// gathered rows, op(A)[i, p] = a[rows[i]·lda + p].
func packGatheredRows(dst, a []float32, lda int, rows []int, i0, mc, p0, kc, w int, simd bool) {
	var offs [maxGatherW]int // [w] where the panel's rows start in a
	for q := 0; q < mc; q += w {
		h := min(w, mc-q)
		panel := dst[q*kc : q*kc+w*kc]
		for j := range h {
			offs[j] = rows[i0+q+j]*lda + p0
		}
		done := 0
		if simd {
			// A partial panel (m not a multiple of w) goes through the asm
			// packer too, its missing rows read from its last row and then
			// zeroed: a scalar transpose of those rows cost as much as all
			// the full panels together.
			for j := h; j < w; j++ {
				offs[j] = offs[h-1]
			}
			done = packTransposeGatherSIMD(panel, a, offs[:w], kc, w)
			if h < w {
				for p := range done {
					clear(panel[p*w+h : p*w+w])
				}
			}
		}
		if done == kc {
			continue
		}
		panel = panel[done*w:]
		if h < w {
			clear(panel)
		}
		for j := range h {
			for p, x := range a[offs[j]+done : offs[j]+kc] {
				panel[p*w+j] = x
			}
		}
	}
}

// packGatheredColumns packs a gathered op(A) = Aᵀ: each gathered row is a
// column of op(A) and gives w contiguous floats to each panel,
// op(A)[i, p] = a[rows[p]·lda + i].
func packGatheredColumns(dst, a []float32, lda int, rows []int, i0, mc, p0, kc, w int, simd bool) {
	full := mc / w
	h := mc - full*w // rows of the partial last panel
	var offs [64]int // where the next columns of op(A) (rows of a) start
	for p := 0; p < kc; p += len(offs) {
		n := min(len(offs), kc-p)
		for i := range n {
			offs[i] = rows[p0+p+i]*lda + i0
		}
		if full > 0 && !(simd && packCopyGatherSIMD(dst[p*w:], a, offs[:n], kc, w, full)) {
			for i, off := range offs[:n] {
				for q := range full {
					copy(dst[(q*kc+p+i)*w:(q*kc+p+i+1)*w], a[off+q*w:off+q*w+w])
				}
			}
		}
		if h > 0 {
			panel := dst[full*w*kc:]
			for i, off := range offs[:n] {
				d := panel[(p+i)*w : (p+i+1)*w]
				copy(d[:h], a[off+full*w:off+full*w+h])
				clear(d[h:])
			}
		}
	}
}

// maxGatherW is the widest panel packGatheredRows packs (the largest MR).
const maxGatherW = 32
