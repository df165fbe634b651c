package engine

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// Data is a set of examples: X [N×In] inputs, Y [N×Out] one-hot targets and
// Rows, the row indices used (nil: all N rows, in order). Rows lets folds
// and validation splits share one dataset without copies.
//
// Image data holds its inputs as Pixels [N×In] instead, bytes whose values
// are float32(b)/255 (kernels.PixelValue), and X nil: the first layer's
// products read the bytes (kernels.SgemmBlocksPixels), a quarter of the
// memory of a float32 copy, for the same bits. When both are set, Pixels
// must be X as bytes (checked on three rows) and the products read Pixels.
type Data struct {
	X, Y   []float32
	Pixels []uint8
	Rows   []int
}

// DataOf is the examples of data set d that rows names (nil: all of them,
// in order): its X, or its pixels for image data.
func DataOf(d *datasets.Dataset, rows []int) Data {
	return Data{X: d.X, Y: d.Y, Pixels: d.Pixels, Rows: rows}
}

// stored is the number of values the inputs hold, N·In: X's, or Pixels'
// without X.
func (d Data) stored() int {
	if d.X == nil {
		return len(d.Pixels)
	}
	return len(d.X)
}

// CheckData reports whether d fits the model: the inputs (X, or Pixels
// without X) and Y hold the same number N ≥ 1 of In- and Out-wide rows,
// every index in Rows is in [0, N) (and Rows, when non-nil, is not empty),
// and Pixels beside X are X as bytes.
func (m *Model) CheckData(d Data) error {
	_, err := d.Size(m.in, m.out)
	return err
}

// Size validates d for in inputs and out classes and returns the number of
// rows used.
func (d Data) Size(in, out int) (int, error) {
	if d.stored() == 0 || d.stored()%in != 0 {
		what := "X"
		if d.X == nil && d.Pixels != nil {
			what = "Pixels"
		}
		return 0, fmt.Errorf("engine: data %s has %d values, not a positive multiple of %d inputs", what, d.stored(), in)
	}
	n := d.stored() / in
	if len(d.Y) != n*out {
		return 0, fmt.Errorf("engine: data Y has %d values (want %d rows × %d classes = %d)", len(d.Y), n, out, n*out)
	}
	if err := d.checkPixels(in); err != nil {
		return 0, err
	}
	if d.Rows == nil {
		return n, nil
	}
	if len(d.Rows) == 0 {
		return 0, fmt.Errorf("engine: data Rows is empty")
	}
	for i, r := range d.Rows {
		if r < 0 || r >= n {
			return 0, fmt.Errorf("engine: data Rows[%d] = %d is out of range [0, %d)", i, r, n)
		}
	}
	return len(d.Rows), nil
}

// Row returns the dataset row of the i-th row used.
func (d Data) Row(i int) int {
	if d.Rows == nil {
		return i
	}
	return d.Rows[i]
}

// Targets copies rows rows[k] of Y into t [len(rows)×out]: the one-hot
// targets of the batch TrainBatch, Diagnose and SetDiagnosticBatch read
// from d's inputs by the same rows.
func (d Data) Targets(rows []int, t []float32, out int) {
	gatherRows(d.Y, out, rows, t)
}

// Head is d restricted to its first n rows used (all of them when d uses
// fewer): the rows' indices are d's, so no data is copied.
func (d Data) Head(n, in int) Data {
	if d.Rows != nil {
		d.Rows = d.Rows[:min(n, len(d.Rows))]
		return d
	}
	rows := make([]int, min(n, d.stored()/in))
	for i := range rows {
		rows[i] = i
	}
	d.Rows = rows
	return d
}

// checkPixels checks that Pixels, when set beside X, is X as bytes: as
// long, and equal to X on the first, middle and last rows (a cheap check
// that catches pixels of other data; every row would cost a pass over X).
func (d Data) checkPixels(in int) error {
	if d.Pixels == nil || d.X == nil {
		return nil
	}
	if len(d.Pixels) != len(d.X) {
		return fmt.Errorf("engine: data Pixels has %d values, X %d", len(d.Pixels), len(d.X))
	}
	n := len(d.X) / in
	for _, r := range []int{0, n / 2, n - 1} {
		for i := r * in; i < (r+1)*in; i++ {
			if kernels.PixelValue(d.Pixels[i]) != d.X[i] {
				return fmt.Errorf("engine: data Pixels[%d] = %d is not X[%d] = %v as a byte over %d", i, d.Pixels[i], i, d.X[i], kernels.PixelMax)
			}
		}
	}
	return nil
}

// input is what the first layer's products read from: x, or its pixels
// px (nil: none), read instead of x (which may then be nil). Pixels are
// read gathered only (a contiguous run of rows by the indices 0, 1, …).
type input struct {
	x  []float32
	px []uint8
}

// input returns d's inputs for the first layer's products.
func (d Data) input() input { return input{x: d.X, px: d.Pixels} }

// firstProduct is the fused first layer's product (kernels.SgemmBlocks) on
// x, or on its pixels when x has them (the rows are then gathered).
func firstProduct(kc *kernels.Context, transA bool, m, k, in int, x input, idx []int, blocks []kernels.ColumnBlock, epilogue bool) {
	if x.px != nil {
		kc.SgemmBlocksPixels(transA, m, k, 1, x.px, in, idx, 0, blocks, epilogue)
		return
	}
	kc.SgemmBlocks(transA, m, k, 1, x.x, in, idx, 0, blocks, epilogue)
}
