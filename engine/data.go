package engine

import "fmt"

// Data is a set of examples: X [N×In] inputs, Y [N×Out] one-hot targets and
// Rows, the row indices used (nil: all N rows, in order). Rows lets folds
// and validation splits share one dataset without copies.
type Data struct {
	X, Y []float32
	Rows []int
}

// CheckData reports whether d fits the model: X and Y hold the same number
// N ≥ 1 of In- and Out-wide rows, and every index in Rows is in [0, N)
// (and Rows, when non-nil, is not empty).
func (m *Model) CheckData(d Data) error {
	_, err := d.Size(m.in, m.out)
	return err
}

// Size validates d for in inputs and out classes and returns the number of
// rows used.
func (d Data) Size(in, out int) (int, error) {
	if len(d.X) == 0 || len(d.X)%in != 0 {
		return 0, fmt.Errorf("engine: data X has %d values, not a positive multiple of %d inputs", len(d.X), in)
	}
	n := len(d.X) / in
	if len(d.Y) != n*out {
		return 0, fmt.Errorf("engine: data Y has %d values (want %d rows × %d classes = %d)", len(d.Y), n, out, n*out)
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

// Gather copies rows rows[k] of X and Y into x [len(rows)×in] and t [len(rows)×out].
func (d Data) Gather(rows []int, x, t []float32, in, out int) {
	for k, r := range rows {
		copy(x[k*in:(k+1)*in], d.X[r*in:(r+1)*in])
		copy(t[k*out:(k+1)*out], d.Y[r*out:(r+1)*out])
	}
}

// Head is d restricted to its first n rows used (all of them when d uses
// fewer): the rows' indices are d's, so no data is copied.
func (d Data) Head(n, in int) Data {
	if d.Rows != nil {
		d.Rows = d.Rows[:min(n, len(d.Rows))]
		return d
	}
	rows := make([]int, min(n, len(d.X)/in))
	for i := range rows {
		rows[i] = i
	}
	d.Rows = rows
	return d
}
