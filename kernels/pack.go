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
// same layout of the transposed view, pack(Bᵀ block, NR).
func pack(dst []float32, x strided, i0, rows, p0, cols, w int) {
	for q := 0; q < rows; q += w {
		h := min(w, rows-q)
		panel := dst[q*cols : q*cols+w*cols]
		if x.rs == 1 { // columns of x are contiguous: copy h values per column
			for p := 0; p < cols; p++ {
				copy(panel[p*w:p*w+h], x.data[(p0+p)*x.cs+i0+q:])
			}
		} else { // rows of x are contiguous (cs = 1): scatter each row
			for i := 0; i < h; i++ {
				src := x.data[(i0+q+i)*x.rs+p0:][:cols]
				for p, v := range src {
					panel[p*w+i] = v
				}
			}
		}
		if h < w {
			for p := 0; p < cols; p++ {
				clear(panel[p*w+h : p*w+w])
			}
		}
	}
}
