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

	"github.com/mlpsweep/mlpsweep/internal/hugepages"
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
	// Scaling, when set, is applied instead of a scaling fitted to this
	// file (Scale is then ignored): a saved model's, so that new rows are
	// scaled as its training rows were.
	Scaling *Scaling
	// ClassNames, when set, fixes the classes (a saved model's): every label
	// must be one of them, compared numerically when all of them are
	// numbers ("1.0" is class "1").
	ClassNames []string
	// Features, when > 0, is the number of feature columns the file must
	// have. A file with exactly Features columns then has no label column:
	// Labels and Y are nil (rows to predict); one with Features+1 columns
	// has one; any other width is an error.
	Features int
	// FeatureNames, when set (a saved model's, or a study's training
	// file's for its test set), are the names the feature
	// columns must have, in this order, when the file has a header: the
	// same columns in another order would be read as other features. A
	// file without a header is read by position.
	FeatureNames []string
}

// Scaling is the per-feature affine map LoadCSV applies to the raw values:
//
//	scaled_j = float32((x_j/Unit_j − Shift_j)·Factor_j)     (in float64)
//
// Unit_j is a power of two (dividing by it is exact); Factor_j is 0 for a
// constant column. A model trained on a CSV file stores it, so that new
// rows get exactly the numbers its training rows got.
type Scaling struct {
	Method string    `json:"method"` // standardize, minmax or none
	Unit   []float64 `json:"unit"`   // [Features]
	Shift  []float64 `json:"shift"`  // [Features]
	Factor []float64 `json:"factor"` // [Features]
}

// Check reports whether s is usable: a known method, three equally long
// vectors of finite numbers and positive units.
func (s *Scaling) Check() error {
	if !slices.Contains(Scalings(), s.Method) {
		return fmt.Errorf("scaling: unknown method %q", s.Method)
	}
	n := len(s.Unit)
	if n == 0 || len(s.Shift) != n || len(s.Factor) != n {
		return fmt.Errorf("scaling: %d units, %d shifts and %d factors (want the same number ≥ 1)", n, len(s.Shift), len(s.Factor))
	}
	for j := 0; j < n; j++ {
		for _, v := range []float64{s.Unit[j], s.Shift[j], s.Factor[j]} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("scaling: feature %d has a non-finite value", j+1)
			}
		}
		if s.Unit[j] <= 0 {
			return fmt.Errorf("scaling: feature %d has unit %v (want > 0)", j+1, s.Unit[j])
		}
	}
	return nil
}

// scale returns feature j of raw value v scaled.
func (s *Scaling) scale(j int, v float64) float32 {
	return float32((v/s.Unit[j] - s.Shift[j]) * s.Factor[j])
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
	labelCol int       // column index of the labels; −1: no label column
	raw      []float64 // [rows×features] unscaled features
	labels   []string  // [rows] label text; nil without a label column
	labelPos []int     // [rows] line of each label, for errors
	rows     int
	features int
}

// decodeCSV parses r (named name in errors) into a scaled Dataset.
func decodeCSV(name string, r io.Reader, opt CSVOptions) (*Dataset, error) {
	scale := opt.Scale
	if scale == "" {
		scale = ScaleStandardize
	}
	if opt.Scaling != nil {
		if err := opt.Scaling.Check(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if opt.Features > 0 && len(opt.Scaling.Unit) != opt.Features {
			return nil, fmt.Errorf("%s: the scaling has %d features, not %d", name, len(opt.Scaling.Unit), opt.Features)
		}
	} else if !slices.Contains(Scalings(), scale) {
		return nil, fmt.Errorf("%s: unknown scaling %q (want %s, %s or %s)", name, opt.Scale, ScaleStandardize, ScaleMinMax, ScaleNone)
	}
	t, err := readCSVTable(name, r, opt.LabelColumn, opt.Features, opt.FeatureNames)
	if err != nil {
		return nil, err
	}
	names := t.featureNames()
	if err := sameFeatures(name, names, opt.FeatureNames); err != nil {
		return nil, err
	}
	if j := t.labelNamed(); opt.LabelColumn == "" && opt.ClassNames == nil && j >= 0 {
		return nil, fmt.Errorf("%s: the header names %s, but with no label column given the last, %s, is read as the labels and %s as a feature: "+
			"give the label column (--label-column %s, or label: %s in a study file; --label-column %d keeps the last)",
			name, t.column(j), t.column(t.labelCol), brief(t.header[j]), t.header[j], t.header[j], t.labelCol)
	}
	if opt.Scaling != nil && len(opt.Scaling.Unit) != t.features {
		return nil, fmt.Errorf("%s: %d feature columns, but the scaling has %d features", name, t.features, len(opt.Scaling.Unit))
	}
	s := opt.Scaling
	if s == nil {
		s = t.fitScaling(scale)
	}
	x, err := t.scaled(s)
	if err != nil {
		return nil, err
	}
	d := &Dataset{X: x, N: t.rows, Features: t.features, Scaling: s, FeatureNames: names}
	if t.labelCol < 0 {
		d.ClassNames = opt.ClassNames
		d.Classes = len(opt.ClassNames)
		return d, nil
	}
	var labels []int
	if opt.ClassNames != nil {
		labels, err = t.fixedClasses(opt.ClassNames)
		d.ClassNames = opt.ClassNames
	} else {
		labels, d.ClassNames, err = t.classes()
		if err == nil {
			err = t.headerOfNumbers(labels)
		}
	}
	if err != nil {
		return nil, err
	}
	d.setLabels(labels, len(d.ClassNames))
	return d, nil
}

// MaxCSVRecordBytes bounds one record (line) of a CSV file: 8 MiB, half
// a million columns of 16 characters. Memory then grows only with the rows
// actually read, and a file that is no CSV at all (a device such as
// /dev/zero, a sparse or binary file) fails at once: a NUL byte is refused.
const MaxCSVRecordBytes = 8 << 20

// recordLimiter passes a CSV file through, failing on a NUL byte or once
// more than MaxCSVRecordBytes arrive between two calls of next (one per
// record read; the CSV reader's read-ahead of a few KiB counts too).
// Its error is sticky: a reader that gets it once (bufio's Peek for a
// byte-order mark drops it) gets it again, instead of the bytes after the
// chunk refused.
type recordLimiter struct {
	r      io.Reader
	n      int   // bytes since next
	offset int64 // bytes so far
	err    error // the refusal, once made
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	if i := bytes.IndexByte(p[:n], 0); i >= 0 {
		l.err = fmt.Errorf("a NUL byte at offset %d: not a text CSV file", l.offset+int64(i))
		return 0, l.err
	}
	l.n += n
	l.offset += int64(n)
	if l.n > MaxCSVRecordBytes {
		l.err = fmt.Errorf("a record longer than %d bytes (the limit) near offset %d: not a CSV file of numbers?", MaxCSVRecordBytes, l.offset)
		return 0, l.err
	}
	return n, err
}

func (l *recordLimiter) next() { l.n = 0 }

// brief quotes a value from the file for a message, cut after 60 bytes: a
// message quotes a cell, not a megabyte.
func brief(s string) string {
	if len(s) <= 60 {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.ToValidUTF8(s[:60], "")) + fmt.Sprintf("… (%d bytes)", len(s))
}

// readCSVTable reads every row, checking shape and numbers.
// With features > 0 the file must have features columns (then it has no
// label column) or features+1. A first row whose feature fields are
// featureNames (a model's) is a header, even if the names are numbers.
func readCSVTable(name string, r io.Reader, labelColumn string, features int, featureNames []string) (*csvTable, error) {
	lim := &recordLimiter{r: r}
	br := bufio.NewReader(lim)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\uFEFF")) {
		br.Discard(3) // spreadsheet programs start UTF-8 files with a byte-order mark
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked here, to say which line is ragged
	cr.TrimLeadingSpace = true
	t := &csvTable{name: name}

	first, err := cr.Read()
	lim.next()
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
	unlabeled := features > 0 && columns == features
	switch {
	case features > 0 && columns != features && columns != features+1:
		return nil, fmt.Errorf("%s: line 1 has %d columns; want %d feature columns, plus optionally a label column", name, columns, features)
	case columns < 2 && !unlabeled:
		return nil, fmt.Errorf("%s: line 1 has %d column; need at least one feature column and a label column%s", name, columns, otherSeparator(first))
	}
	isHeader, err := t.findLabelColumn(first, labelColumn, unlabeled)
	if err != nil {
		return nil, err
	}
	t.features = columns - 1
	if unlabeled {
		t.features = columns
	}
	if !isHeader && featureNames != nil {
		t.header = first
		isHeader = slices.Equal(t.featureNames(), featureNames)
		t.header = nil
	}
	if isHeader {
		t.header = first
		if err := t.namedColumns(); err != nil {
			return nil, err
		}
	} else if err := t.addRow(first, cr); err != nil {
		return nil, err
	}
	for {
		rec, err := cr.Read()
		lim.next()
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
	if t.rows == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header", name)
	}
	return t, nil
}

// otherSeparator says, for the fields of a line 1 read as one column, when
// they look separated by a semicolon (spreadsheets of locales whose
// decimal mark is a comma) or a tab, what to do; else "".
func otherSeparator(first []string) string {
	for _, sep := range []struct{ char, name string }{{";", "semicolons"}, {"\t", "tabs"}} {
		if len(first) == 1 && strings.Contains(first[0], sep.char) {
			return fmt.Sprintf(" (its fields look separated by %s: mlpsweep reads comma-separated values, with a point as the decimal mark; write the file so, e.g. pandas to_csv(path, index=False))", sep.name)
		}
	}
	return ""
}

// findLabelColumn sets t.labelCol from the option (−1 when unlabeled) and
// reports whether the first row is a header: it is when the option names a
// column, or when a feature field of it is not a number (nor a missing
// value such as NA: that row is data with a value missing).
func (t *csvTable) findLabelColumn(first []string, labelColumn string, unlabeled bool) (isHeader bool, err error) {
	columns := len(first)
	idx, convErr := strconv.Atoi(labelColumn)
	switch {
	case unlabeled:
		t.labelCol = -1
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
			return false, fmt.Errorf("%s: no column named %s in the header (line 1)", t.name, brief(labelColumn))
		}
		return true, nil
	}
	for j, field := range first {
		if _, err := strconv.ParseFloat(field, 64); j != t.labelCol && field != "" && !missingMarker(field) && err != nil && !errors.Is(err, strconv.ErrRange) {
			return true, nil
		}
	}
	return false, nil
}

// namedColumns refuses a header that leaves a feature column unnamed:
// that is the row index DataFrame.to_csv writes by default, which would
// train as a feature (on a sorted file, a feature that gives the label
// away).
func (t *csvTable) namedColumns() error {
	for j := range t.features {
		if c := t.featureColumn(j); t.header[c] == "" {
			return fmt.Errorf("%s: the header (line 1) names no column %d: if it is the row index pandas writes (DataFrame.to_csv without index=False), "+
				"it would be read as a feature: write the file with index=False or drop that column; if it is a feature, name it", t.name, c+1)
		}
	}
	return nil
}

// addRow appends one data row, already checked to have every column.
func (t *csvTable) addRow(rec []string, cr *csv.Reader) error {
	for j, field := range rec {
		field = strings.TrimSpace(field)
		if j == t.labelCol {
			if field == "" || missingMarker(field) {
				return t.fieldError(cr, j, missingLabel(field))
			}
			t.labels = append(t.labels, strings.Clone(field))
			line, _ := cr.FieldPos(j)
			t.labelPos = append(t.labelPos, line)
			continue
		}
		v, err := strconv.ParseFloat(field, 64)
		switch {
		case field == "":
			return t.fieldError(cr, j, "the value is empty, "+missingValues)
		case missingMarker(field):
			return t.fieldError(cr, j, fmt.Sprintf("%s marks a missing value, %s", brief(field), missingValues))
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return t.fieldError(cr, j, fmt.Sprintf("%s is not a number: every feature column must hold numbers (encode a column of categories as numbers, e.g. one-hot, or drop it)", brief(field)))
		case math.IsNaN(v) || math.IsInf(v, 0):
			return t.fieldError(cr, j, fmt.Sprintf("%s is not a finite number", brief(field)))
		}
		t.raw = append(t.raw, v)
	}
	t.rows++
	return nil
}

// missingValues says what to do about a missing feature value: no
// imputation is done here, silently or otherwise.
const missingValues = "and mlpsweep does not fill in missing values: impute them (scikit-learn's SimpleImputer, pandas' fillna) or drop those rows, then run again"

// missingMarker reports whether a cell is one of the texts pandas' read_csv
// reads as a missing value (its default na_values, "" aside, NaN included),
// or "?", the missing value of many UCI data sets.
func missingMarker(field string) bool {
	switch field {
	case "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
		"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "?":
		return true
	}
	return false
}

// missingLabel is the message for an empty label or one that marks a
// missing value: a row without a class cannot train, and a class named
// "NA" would be a class of its own.
func missingLabel(field string) string {
	if field == "" {
		return "the label is empty: drop the rows without a label, then run again"
	}
	return fmt.Sprintf("the label %s marks a missing value (pandas reads it as one): drop the rows without a label, or rename the class if it is one", brief(field))
}

// fieldError locates a bad field of the record just read.
func (t *csvTable) fieldError(cr *csv.Reader, col int, what string) error {
	line, _ := cr.FieldPos(col)
	return fmt.Errorf("%s: line %d, %s: %s", t.name, line, t.column(col), what)
}

// column names column j for errors: `column 3 ("age")`.
func (t *csvTable) column(j int) string {
	if t.header != nil && j < len(t.header) {
		return fmt.Sprintf("column %d (%s)", j+1, brief(t.header[j]))
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
	pick := t.pickLabel()
	if numeric {
		for i, v := range values {
			if v != math.Trunc(v) {
				return nil, nil, fmt.Errorf("%s: the label %s holds non-integer numbers such as %s: it looks like a continuous feature, not class labels (mlpsweep trains classifiers, not regression); %s",
					t.name, t.column(t.labelCol), brief(t.labels[i]), pick)
			}
		}
	}
	switch rows := len(labels); {
	case len(names) < 2:
		return nil, nil, fmt.Errorf("%s: the label %s holds only the value %s; need at least 2 classes: %s", t.name, t.column(t.labelCol), brief(names[0]), pick)
	case rows >= fewRows && 2*len(names) > rows:
		return nil, nil, fmt.Errorf("%s: the label %s has %d distinct values in %d rows, more than one class per 2 rows: it looks like a continuous feature or an ID, not class labels; %s",
			t.name, t.column(t.labelCol), len(names), rows, pick)
	}
	return labels, names, nil
}

// pickLabel says to pick the label column, naming a column of the header
// whose name says it holds labels, when the label column read is another.
func (t *csvTable) pickLabel() string {
	const pick = "pick the column of class labels (--label-column, or label: in a study file)"
	if j := t.labelNamed(); j >= 0 {
		return fmt.Sprintf("%s; the header's %s looks like it: --label-column %s, or label: %s", pick, t.column(j), t.header[j], t.header[j])
	}
	return pick
}

// labelNamed is the column of the header, other than the label column
// read, whose name says it holds the labels ("label", as the first column
// of Kaggle's MNIST and Fashion-MNIST CSV files; "target", "class", "y"),
// or -1.
func (t *csvTable) labelNamed() int {
	for j, name := range t.header {
		switch strings.ToLower(name) {
		case "label", "labels", "target", "class", "classes", "y":
			if j != t.labelCol {
				return j
			}
		}
	}
	return -1
}

// headerOfNumbers refuses a file without a header whose line 1 has a
// label found on no other line (from fewRows rows on): most likely a header
// whose feature columns are named by numbers (DataFrame.to_csv of integer
// column names), which would be read as a row of a class of its own.
func (t *csvTable) headerOfNumbers(labels []int) error {
	if t.header != nil || t.rows < fewRows || slices.Contains(labels[1:], labels[0]) {
		return nil
	}
	return fmt.Errorf("%s: line 1's label %s is on no other line: is line 1 a header whose column names are numbers? "+
		"Then name the label column (--label-column NAME, or label: NAME in a study file) and line 1 is read as the header; "+
		"if line 1 is data, give the file a header line", t.name, brief(t.labels[0]))
}

// fixedClasses maps the labels onto given class names: numerically when
// every name is a finite number, else as text.
func (t *csvTable) fixedClasses(names []string) ([]int, error) {
	index := make(map[string]int, len(names))
	numeric := true
	for c, s := range names {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			numeric = false
		}
		index[s] = c
	}
	key := func(s string) string {
		if v, err := strconv.ParseFloat(s, 64); numeric && err == nil {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return s
	}
	if numeric {
		index = make(map[string]int, len(names))
		for c, s := range names {
			index[key(s)] = c
		}
	}
	labels := make([]int, len(t.labels))
	for i, s := range t.labels {
		c, ok := index[key(s)]
		if !ok {
			return nil, fmt.Errorf("%s: line %d, %s: label %s is not one of the %d classes (%s)", t.name, t.labelPos[i], t.column(t.labelCol), brief(s), len(names), brief(strings.Join(names, ", ")))
		}
		labels[i] = c
	}
	return labels, nil
}

// fitScaling fits the scaling named scale to the file's columns.
func (t *csvTable) fitScaling(scale string) *Scaling {
	s := &Scaling{Method: scale, Unit: make([]float64, t.features), Shift: make([]float64, t.features), Factor: make([]float64, t.features)}
	for j := range t.features {
		s.Unit[j], s.Shift[j], s.Factor[j] = t.columnScaling(j, scale)
	}
	return s
}

// scaled returns the features [rows×features] as float32 after scaling
// each column with s.
func (t *csvTable) scaled(s *Scaling) ([]float32, error) {
	rows, cols := t.rows, t.features
	x := hugepages.Floats(rows * cols) // [rows×features]
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := s.scale(j, t.raw[i*cols+j])
			if math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%s: %s: value %g is out of float32 range after %q scaling", t.name, t.column(t.featureColumn(j)), t.raw[i*cols+j], s.Method)
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
	rows, cols := t.rows, t.features
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

// featureNames are the header's names of the feature columns, nil
// without a header.
func (t *csvTable) featureNames() []string {
	if t.header == nil {
		return nil
	}
	names := make([]string, t.features)
	for j := range names {
		names[j] = t.header[t.featureColumn(j)]
	}
	return names
}

// sameFeatures checks a file's feature columns (names, nil without a
// header) against those a model was trained on (want, nil: not known).
func sameFeatures(file string, names, want []string) error {
	if names == nil || want == nil || slices.Equal(names, want) {
		return nil
	}
	quoted := func(xs []string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = brief(x)
		}
		return strings.Join(q, ", ")
	}
	if len(names) == len(want) {
		for j := range names {
			if names[j] != want[j] {
				return fmt.Errorf("%s: feature column %d is %s, but the training rows' feature %d was %s (their features, in order: %s): "+
					"put the file's columns in that order, or drop its header line to read them by position "+
					"(a label column that is not the last is named by --label-column, or label: in a study file)",
					file, j+1, brief(names[j]), j+1, brief(want[j]), quoted(want))
			}
		}
	}
	return fmt.Errorf("%s: the feature columns are %s, but the training rows' were %s", file, quoted(names), quoted(want))
}

// featureColumn maps feature index j to its column in the file.
func (t *csvTable) featureColumn(j int) int {
	if t.labelCol >= 0 && j >= t.labelCol {
		return j + 1
	}
	return j
}
