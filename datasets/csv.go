package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// CSVOptions says how LoadCSV reads a table.
type CSVOptions struct {
	// LabelColumn is the class-label column: a header name, or a 0-based
	// index (a value that parses as an integer is always an index); "" means
	// the last column.
	LabelColumn string
	// Scale is the feature scaling: "standardize" (the default, used when
	// empty: z-score per feature with the file's mean and population
	// standard deviation, as scikit-learn's StandardScaler), "minmax"
	// (to [0,1] per feature) or "none". A constant column scales to 0.
	Scale string
}

// Scalings LoadCSV accepts.
const (
	ScaleStandardize = "standardize"
	ScaleMinMax      = "minmax"
	ScaleNone        = "none"
)

// Scalings lists the scalings LoadCSV accepts, the default first.
func Scalings() []string { return []string{ScaleStandardize, ScaleMinMax, ScaleNone} }

// fewRows is the smallest table whose number of distinct labels LoadCSV
// judges: a smaller one may well have a class per row or two.
const fewRows = 20

// LoadCSV reads a comma-separated table of numeric features and one label
// column. The header row is optional: the first row is a header when one of
// its feature fields is not a number (or when LabelColumn names a column).
// Labels may be integers or strings; their distinct values, sorted
// (numerically when all are numbers), become classes 0..C−1, with the
// label text in ClassNames. A label column that looks continuous rather
// than categorical is refused: numeric labels that are not all integers,
// or (from 20 rows on) more distinct labels than half the rows. Errors
// name the file, line and column (both counted from 1).
func LoadCSV(path string, opt CSVOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := decodeCSV(path, f, opt)
	if err != nil {
		return nil, err
	}
	d.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return d, nil
}

// csvTable is the parsed content before scaling.
type csvTable struct {
	name     string
	header   []string  // column names; nil without a header
	labelCol int       // column index of the labels
	raw      []float64 // [rows×features] unscaled features
	labels   []string  // [rows] label text
	features int
}

// decodeCSV parses r (named name in errors) into a scaled Dataset.
func decodeCSV(name string, r io.Reader, opt CSVOptions) (*Dataset, error) {
	scale := opt.Scale
	if scale == "" {
		scale = ScaleStandardize
	}
	if !slices.Contains(Scalings(), scale) {
		return nil, fmt.Errorf("%s: unknown scaling %q (want %s, %s or %s)", name, opt.Scale, ScaleStandardize, ScaleMinMax, ScaleNone)
	}
	t, err := readCSVTable(name, r, opt.LabelColumn)
	if err != nil {
		return nil, err
	}
	labels, classNames, err := t.classes()
	if err != nil {
		return nil, err
	}
	x, err := t.scaled(scale)
	if err != nil {
		return nil, err
	}
	d := &Dataset{X: x, N: len(labels), Features: t.features, ClassNames: classNames}
	d.setLabels(labels, len(classNames))
	return d, nil
}

// readCSVTable reads every row, checking shape and numbers.
func readCSVTable(name string, r io.Reader, labelColumn string) (*csvTable, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\uFEFF")) {
		br.Discard(3) // spreadsheet programs start UTF-8 files with a byte-order mark
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked here, to say which line is ragged
	cr.TrimLeadingSpace = true
	t := &csvTable{name: name}

	first, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: file is empty", name)
	}
	if err != nil {
		return nil, t.readError(err)
	}
	for i := range first {
		first[i] = strings.TrimSpace(first[i])
	}
	columns := len(first)
	if columns < 2 {
		return nil, fmt.Errorf("%s: line 1 has %d column; need at least one feature column and a label column", name, columns)
	}
	isHeader, err := t.findLabelColumn(first, labelColumn)
	if err != nil {
		return nil, err
	}
	t.features = columns - 1
	if isHeader {
		t.header = first
	} else if err := t.addRow(first, cr); err != nil {
		return nil, err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, t.readError(err)
		}
		if len(rec) != columns {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("%s: line %d has %d fields, expected %d like the first line", name, line, len(rec), columns)
		}
		if err := t.addRow(rec, cr); err != nil {
			return nil, err
		}
	}
	if len(t.labels) == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header", name)
	}
	return t, nil
}

// findLabelColumn sets t.labelCol from the option and reports whether the
// first row is a header: it is when the option names a column, or when a
// feature field of it is not a number.
func (t *csvTable) findLabelColumn(first []string, labelColumn string) (isHeader bool, err error) {
	columns := len(first)
	idx, convErr := strconv.Atoi(labelColumn)
	switch {
	case labelColumn == "":
		t.labelCol = columns - 1
	case convErr == nil:
		if idx < 0 || idx >= columns {
			return false, fmt.Errorf("%s: label column index %d is out of range: line 1 has %d columns (0..%d)", t.name, idx, columns, columns-1)
		}
		t.labelCol = idx
	default:
		t.labelCol = slices.Index(first, labelColumn)
		if t.labelCol < 0 {
			return false, fmt.Errorf("%s: no column named %q in the header (line 1)", t.name, labelColumn)
		}
		return true, nil
	}
	for j, field := range first {
		if _, err := strconv.ParseFloat(field, 64); j != t.labelCol && field != "" && err != nil && !errors.Is(err, strconv.ErrRange) {
			return true, nil
		}
	}
	return false, nil
}

// addRow appends one data row, already checked to have every column.
func (t *csvTable) addRow(rec []string, cr *csv.Reader) error {
	for j, field := range rec {
		field = strings.TrimSpace(field)
		if j == t.labelCol {
			if field == "" {
				return t.fieldError(cr, j, "the label is empty")
			}
			t.labels = append(t.labels, strings.Clone(field))
			continue
		}
		v, err := strconv.ParseFloat(field, 64)
		switch {
		case field == "":
			return t.fieldError(cr, j, "the value is empty")
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return t.fieldError(cr, j, fmt.Sprintf("%q is not a number", field))
		case math.IsNaN(v) || math.IsInf(v, 0):
			return t.fieldError(cr, j, fmt.Sprintf("%q is not a finite number", field))
		}
		t.raw = append(t.raw, v)
	}
	return nil
}

// fieldError locates a bad field of the record just read.
func (t *csvTable) fieldError(cr *csv.Reader, col int, what string) error {
	line, _ := cr.FieldPos(col)
	return fmt.Errorf("%s: line %d, %s: %s", t.name, line, t.column(col), what)
}

// column names column j for errors: `column 3 ("age")`.
func (t *csvTable) column(j int) string {
	if t.header != nil {
		return fmt.Sprintf("column %d (%q)", j+1, t.header[j])
	}
	return fmt.Sprintf("column %d", j+1)
}

// readError prefixes csv syntax errors (which carry line and column) with
// the file name.
func (t *csvTable) readError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: line %d, column %d: %v", t.name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %v", t.name, err)
}

// classes maps label text to class indices: distinct values sorted,
// numerically when every label is a finite number ("2" before "10", and
// "1" and "1.0" the same class), else as strings. It refuses a column
// that looks continuous (see LoadCSV).
func (t *csvTable) classes() (labels []int, names []string, err error) {
	values := make([]float64, len(t.labels))
	numeric := true
	for i, s := range t.labels {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			numeric = false
			break
		}
		values[i] = v
	}
	labels = make([]int, len(t.labels))
	if numeric {
		distinct := slices.Clone(values)
		slices.Sort(distinct)
		distinct = slices.Compact(distinct)
		for i, v := range values {
			labels[i], _ = slices.BinarySearch(distinct, v)
		}
		for _, v := range distinct {
			names = append(names, strconv.FormatFloat(v, 'g', -1, 64))
		}
	} else {
		names = slices.Clone(t.labels)
		slices.Sort(names)
		names = slices.Compact(names)
		for i, s := range t.labels {
			labels[i], _ = slices.BinarySearch(names, s)
		}
	}
	const pick = "pick the column of class labels (--label-column, or label: in a study file)"
	if numeric {
		for i, v := range values {
			if v != math.Trunc(v) {
				return nil, nil, fmt.Errorf("%s: the label %s holds non-integer numbers such as %q: it looks like a continuous feature, not class labels; %s",
					t.name, t.column(t.labelCol), t.labels[i], pick)
			}
		}
	}
	switch rows := len(labels); {
	case len(names) < 2:
		return nil, nil, fmt.Errorf("%s: the label %s holds only the value %q; need at least 2 classes", t.name, t.column(t.labelCol), names[0])
	case rows >= fewRows && 2*len(names) > rows:
		return nil, nil, fmt.Errorf("%s: the label %s has %d distinct values in %d rows, more than one class per 2 rows: it looks like a continuous feature or an ID, not class labels; %s",
			t.name, t.column(t.labelCol), len(names), rows, pick)
	}
	return labels, names, nil
}

// scaled returns the features [rows×features] as float32 after scaling
// each column.
func (t *csvTable) scaled(scale string) ([]float32, error) {
	rows, cols := len(t.labels), t.features
	x := make([]float32, rows*cols)
	for j := 0; j < cols; j++ {
		unit, shift, factor := t.columnScaling(j, scale)
		for i := 0; i < rows; i++ {
			v := float32((t.raw[i*cols+j]/unit - shift) * factor)
			if math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%s: %s: value %g is out of float32 range after %q scaling", t.name, t.column(t.featureColumn(j)), t.raw[i*cols+j], scale)
			}
			x[i*cols+j] = v
		}
	}
	return x, nil
}

// columnScaling returns (unit, shift, factor) with
// scaled = (x/unit − shift)·factor for feature j; factor 0 for a constant
// column. Statistics are computed on x/unit, unit being the power of two
// with max|x|/unit in [1, 2): dividing by it is exact, and even values near
// the float64 limit cannot overflow.
func (t *csvTable) columnScaling(j int, scale string) (unit, shift, factor float64) {
	rows, cols := len(t.labels), t.features
	if scale == ScaleNone {
		return 1, 0, 1
	}
	maxAbs := 0.0
	for i := 0; i < rows; i++ {
		maxAbs = max(maxAbs, math.Abs(t.raw[i*cols+j]))
	}
	if maxAbs == 0 {
		return 1, 0, 0 // all zeros
	}
	_, exp := math.Frexp(maxAbs)
	unit = math.Ldexp(1, exp-1)
	switch scale {
	case ScaleMinMax:
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i < rows; i++ {
			v := t.raw[i*cols+j] / unit
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi > lo {
			return unit, lo, 1 / (hi - lo)
		}
		return unit, lo, 0
	default: // ScaleStandardize
		// Welford's running mean and sum of squared deviations.
		mean, m2 := 0.0, 0.0
		for i := 0; i < rows; i++ {
			v := t.raw[i*cols+j] / unit
			delta := v - mean
			mean += delta / float64(i+1)
			m2 += delta * (v - mean)
		}
		if std := math.Sqrt(m2 / float64(rows)); std > 0 {
			return unit, mean, 1 / std
		}
		return unit, mean, 0
	}
}

// featureColumn maps feature index j to its column in the file.
func (t *csvTable) featureColumn(j int) int {
	if j >= t.labelCol {
		return j + 1
	}
	return j
}
