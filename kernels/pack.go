package kernels

// strided is a matrix view: element (i, j) at data[i·rs + j·cs]. A row-major
// matrix with leading dimension ld is {rs: ld, cs: 1}; its transpose is
// {rs: 1, cs: ld}. Packing reads op(A) and op(B) through such views, so it is
// the only place transposes are handled.
type strided struct {
	data   []float32
	rs, cs int
}

// t returns the transposed view.
func (x strided) t() strided { return strided{x.data, x.cs, x.rs} }

// pack copies the rows×cols block of x at (i0, p0) into micro-panels of w
// rows, each stored column by column:
//
//	dst[q·w·cols + p·w + i] = x[i0 + q·w + i, p0 + p]
//
// with the rows past the block's end of the last panel zero. A's MR-row
// micro-panels are pack(A block, MR); B's NR-column micro-panels are the
// same layout of the transposed view, pack(Bᵀ block, NR). With simd set,
// the asm packers do what they can (packFullPanels, packPanelSIMD) and Go
// the rest; a partial panel to transpose is first copied into stage (w·cols
// floats), zero-padded to w rows, so the asm transposes it too.
func pack(dst, stage []float32, x strided, i0, rows, p0, cols, w int, simd bool) {
	q0 := 0
	if simd && x.rs == 1 && rows >= w && cols > 0 {
		q0 = w * packFullPanels(dst, x.data[p0*x.cs+i0:], x.cs, cols, w, rows/w)
	}
	for q := q0; q < rows; q += w {
		h := min(w, rows-q)
		panel := dst[q*cols : q*cols+w*cols]
		transpose := x.rs != 1 // rows of x contiguous, not its columns
		var src []float32
		ld := x.cs
		if transpose {
			src, ld = x.data[(i0+q)*x.rs+p0:], x.rs
		} else {
			src = x.data[p0*x.cs+i0+q:]
		}
		if simd && transpose && h < w {
			src, ld, h = padRows(stage, src, ld, h, cols, w), cols, w
		}
		done := 0
		if simd {
			done = packPanelSIMD(panel, src, ld, cols, w, h, transpose)
		}
		if done == cols {
			continue
		}
		panel = panel[done*w:]
		if h < w {
			clear(panel)
		}
		if transpose {
			packRows(panel, src[done:], ld, h, cols-done, w)
		} else {
			packColumns(panel, src[done*ld:], ld, h, cols-done, w)
		}
	}
}

// padRows copies h < w rows of cols floats, ld apart in src, into stage
// (w·cols floats) as w rows cols apart, the rows past h zero, and returns
// the staged rows.
func padRows(stage, src []float32, ld, h, cols, w int) []float32 {
	stage = stage[:w*cols]
	for i := 0; i < h; i++ {
		copy(stage[i*cols:(i+1)*cols], src[i*ld:i*ld+cols])
	}
	clear(stage[h*cols:])
	return stage
}

// packColumns fills one w-row panel (rows h… already zero) from h ≤ w
// rows whose columns are contiguous: column p is src[p·ld : p·ld+h].
func packColumns(panel, src []float32, ld, h, cols, w int) {
	for p := 0; p < cols; p++ {
		copy(panel[p*w:p*w+h], src[p*ld:p*ld+h])
	}
}

// packRows fills one w-row panel (rows h… already zero) from h ≤ w rows
// that are contiguous: row i is src[i·ld : i·ld+cols]. Each row is read
// once, sequentially; its floats land w apart in the panel.
func packRows(panel, src []float32, ld, h, cols, w int) {
	for i := 0; i < h; i++ {
		dst := panel[i:]
		for p, x := range src[i*ld : i*ld+cols] {
			dst[p*w] = x
		}
	}
}
