package datasets

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/internal/allocs"
)

func loadCSVString(t *testing.T, content string, opt CSVOptions) (*Dataset, error) {
	t.Helper()
	return LoadCSV(writeFile(t, t.TempDir(), "table.csv", []byte(content)), opt)
}

func TestLoadCSVHeaderAndStringLabels(t *testing.T) {
	d, err := loadCSVString(t, "\uFEFFheight, weight,species\n1,10,cat\n2,20,dog\n3,30,cat\n4,40,ant\n", CSVOptions{Scale: ScaleNone})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 4 || d.Features != 2 || d.Classes != 3 || d.Name != "table" {
		t.Fatalf("N=%d Features=%d Classes=%d Name=%q", d.N, d.Features, d.Classes, d.Name)
	}
	if !slices.Equal(d.ClassNames, []string{"ant", "cat", "dog"}) || !slices.Equal(d.Labels, []int{1, 2, 1, 0}) {
		t.Fatalf("ClassNames %v Labels %v", d.ClassNames, d.Labels)
	}
	if !slices.Equal(d.X, []float32{1, 10, 2, 20, 3, 30, 4, 40}) {
		t.Fatalf("X %v", d.X)
	}
	if !slices.Equal(d.Y[:6], []float32{0, 1, 0, 0, 0, 1}) {
		t.Fatalf("Y %v", d.Y)
	}
}

func TestLoadCSVNoHeaderNumericLabels(t *testing.T) {
	// Numeric labels sort as numbers: 2 < 10, and 1 and 1.0 are one class.
	d, err := loadCSVString(t, "0.5,10\n1.5,2\n2.5,1\n3.5,1.0\n", CSVOptions{Scale: ScaleMinMax})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 4 || d.Features != 1 || !slices.Equal(d.ClassNames, []string{"1", "2", "10"}) || !slices.Equal(d.Labels, []int{2, 1, 0, 0}) {
		t.Fatalf("N=%d ClassNames %v Labels %v", d.N, d.ClassNames, d.Labels)
	}
	if want := []float32{0, 1.0 / 3, 2.0 / 3, 1}; !slices.Equal(d.X, want) {
		t.Fatalf("minmax X %v, want %v", d.X, want)
	}
}

func TestLoadCSVStandardizeDefault(t *testing.T) {
	// Column 0: 1,2,3,4 → mean 2.5, population std √1.25. Column 1 constant → 0.
	d, err := loadCSVString(t, "1,7,a\n2,7,b\n3,7,a\n4,7,b\n", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	std := math.Sqrt(1.25)
	for i, v := range []float64{1, 2, 3, 4} {
		if want := float32((v - 2.5) / std); d.X[2*i] != want || d.X[2*i+1] != 0 {
			t.Fatalf("row %d: %v %v, want %v 0", i, d.X[2*i], d.X[2*i+1], want)
		}
	}
}

func TestLoadCSVHugeValuesStandardize(t *testing.T) {
	// Squares of these overflow float64; scaling must still be right.
	d, err := loadCSVString(t, "1e300,0\n-1e300,1\n", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.X, []float32{1, -1}) {
		t.Fatalf("X %v, want [1 -1]", d.X)
	}
	if _, err := loadCSVString(t, "1e300,0\n-1e300,1\n", CSVOptions{Scale: ScaleNone}); err == nil || !strings.Contains(err.Error(), "out of float32 range") {
		t.Fatalf("unscaled 1e300: err = %v", err)
	}
}

func TestLoadCSVLabelColumn(t *testing.T) {
	const table = "y,a,b\nno,1,2\nyes,3,4\nno,5,6\n"
	byName, err := loadCSVString(t, table, CSVOptions{LabelColumn: "y", Scale: ScaleNone})
	if err != nil {
		t.Fatal(err)
	}
	byIndex, err := loadCSVString(t, table, CSVOptions{LabelColumn: "0", Scale: ScaleNone})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Dataset{byName, byIndex} {
		if !slices.Equal(d.X, []float32{1, 2, 3, 4, 5, 6}) || !slices.Equal(d.Labels, []int{0, 1, 0}) || !slices.Equal(d.ClassNames, []string{"no", "yes"}) {
			t.Fatalf("X %v Labels %v ClassNames %v", d.X, d.Labels, d.ClassNames)
		}
	}
	// Label by index in a headerless file, in the middle.
	d, err := loadCSVString(t, "1,0,2\n3,1,4\n", CSVOptions{LabelColumn: "1", Scale: ScaleNone})
	if err != nil || !slices.Equal(d.X, []float32{1, 2, 3, 4}) || !slices.Equal(d.Labels, []int{0, 1}) {
		t.Fatalf("X %v Labels %v err %v", d.X, d.Labels, err)
	}
}

func TestLoadCSVErrors(t *testing.T) {
	cases := []struct {
		name, content string
		opt           CSVOptions
		want          string
	}{
		{"empty", "", CSVOptions{}, "file is empty"},
		{"blank lines", "\n\n", CSVOptions{}, "file is empty"},
		{"one column", "1\n2\n", CSVOptions{}, "line 1 has 1 column"},
		// Defect: a file of another separator said only "line 1 has 1 column".
		{"semicolons", "a;b;y\n1,5;2;p\n3;4;q\n", CSVOptions{}, "line 1 has 1 column; need at least one feature column and a label column (its fields look separated by semicolons: mlpsweep reads comma-separated values"},
		{"tabs", "a\tb\ty\n1\t2\tp\n", CSVOptions{}, "(its fields look separated by tabs: mlpsweep reads comma-separated values"},
		{"header only", "a,b\n", CSVOptions{}, "no data rows"},
		{"ragged", "1,2,a\n3,4,b\n5,b\n", CSVOptions{}, "line 3 has 2 fields, expected 3"},
		{"non-numeric", "a,b,y\n1,2,p\n3,x4,q\n", CSVOptions{}, `line 3, column 2 ("b"): "x4" is not a number`},
		{"non-numeric no header", "1,2,p\n3,x4,q\n", CSVOptions{}, `line 2, column 2: "x4" is not a number`},
		// Missing values say what to do: mlpsweep imputes nothing.
		{"nan", "1,2,p\n3,NaN,q\n", CSVOptions{}, `line 2, column 2: "NaN" marks a missing value, and mlpsweep does not fill in missing values: impute them`},
		{"NA", "a,b,y\n1,2,p\n3,NA,q\n", CSVOptions{}, `line 3, column 2 ("b"): "NA" marks a missing value, and mlpsweep does not fill in missing values: impute them (scikit-learn's SimpleImputer, pandas' fillna) or drop those rows`},
		// A missing value in the first row does not make it a header.
		{"NA on line 1", "1,NA,p\n3,4,q\n", CSVOptions{}, `line 1, column 2: "NA" marks a missing value`},
		{"question mark", "1,2,p\n?,1,q\n", CSVOptions{}, `line 2, column 1: "?" marks a missing value`},
		{"category", "a,b,y\n1,red,p\n3,blue,q\n", CSVOptions{}, `line 2, column 2 ("b"): "red" is not a number: every feature column must hold numbers (encode a column of categories as numbers, e.g. one-hot, or drop it)`},
		// A missing label is not a class "NA" or "NaN" of its own.
		{"NA label", "1,2,p\n3,4,NA\n5,6,q\n", CSVOptions{}, `line 2, column 3: the label "NA" marks a missing value (pandas reads it as one): drop the rows without a label`},
		{"NaN label", "1,2,0\n3,4,nan\n5,6,1\n", CSVOptions{}, `line 2, column 3: the label "nan" marks a missing value`},
		{"inf", "1,2,p\n-Inf,1,q\n", CSVOptions{}, `line 2, column 1: "-Inf" is not a finite number`},
		{"overflow", "1,2,p\n1e999,1,q\n", CSVOptions{}, `"1e999" is not a finite number`},
		{"empty value", "1,,p\n3,4,q\n", CSVOptions{}, "line 1, column 2: the value is empty, and mlpsweep does not fill in missing values: impute them"},
		{"empty label", "1,2,p\n3,4,\n", CSVOptions{}, "line 2, column 3: the label is empty: drop the rows without a label"},
		{"one class", "1,2,p\n3,4,p\n", CSVOptions{}, `label column 3 holds only the value "p"; need at least 2 classes: pick the column of class labels`},
		// Kaggle's MNIST and Fashion-MNIST CSV files have their label first:
		// the last column, a pixel, was read as the labels (of up to 256
		// classes) and the labels as a feature, without a word.
		{"label first", "label,p1,p2\n3,0,7\n5,1,9\n3,0,7\n", CSVOptions{}, `the header names column 1 ("label"), but with no label column given the last, column 3 ("p2"), is read as the labels and "label" as a feature: give the label column (--label-column label, or label: label in a study file; --label-column 2 keeps the last)`},
		{"label column given wrong", "label,p1,p2\n3,0,0\n5,1,0\n", CSVOptions{LabelColumn: "2"}, `label column 3 ("p2") holds only the value "0"; need at least 2 classes: pick the column of class labels (--label-column, or label: in a study file); the header's column 1 ("label") looks like it: --label-column label, or label: label`},
		{"bad quote", "1,2,p\n3,4\"x,q\n", CSVOptions{}, "line 2, column 4"},
		{"no such name", "a,b,y\n1,2,p\n", CSVOptions{LabelColumn: "z"}, `no column named "z"`},
		{"index range", "1,2,p\n", CSVOptions{LabelColumn: "3"}, "label column index 3 is out of range: line 1 has 3 columns (0..2)"},
		{"negative index", "1,2,p\n", CSVOptions{LabelColumn: "-1"}, "label column index -1 is out of range"},
		{"bad scale", "1,2,p\n", CSVOptions{Scale: "zscore"}, `unknown scaling "zscore"`},
		{"continuous label", "a,b\n1,0.5\n2,1.5\n3,0\n", CSVOptions{}, `label column 2 ("b") holds non-integer numbers such as "0.5": it looks like a continuous feature, not class labels (mlpsweep trains classifiers, not regression); pick the column of class labels (--label-column`},
		{"multi-line field", "1,2,\"p\nq\"\n3,zz,r\n", CSVOptions{}, `line 3, column 2: "zz" is not a number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadCSVString(t, c.content, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "table.csv") {
				t.Fatalf("err = %v\nwant it to name the file and contain %q", err, c.want)
			}
		})
	}
}

func TestLoadCSVRefusesOneClassPerRow(t *testing.T) {
	// A feature or an ID taken as the label makes about one class per row.
	table := func(rows, classes int) string {
		var b strings.Builder
		b.WriteString("x,id\n")
		for i := range rows {
			fmt.Fprintf(&b, "%d,c%d\n", i, i%classes)
		}
		return b.String()
	}
	_, err := loadCSVString(t, table(20, 11), CSVOptions{})
	if want := `label column 2 ("id") has 11 distinct values in 20 rows, more than one class per 2 rows: it looks like a continuous feature or an ID, not class labels; pick the column of class labels`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	// Two rows per class is a small but real data set; so is any table under 20 rows.
	for _, c := range [][2]int{{20, 10}, {19, 19}} {
		if d, err := loadCSVString(t, table(c[0], c[1]), CSVOptions{}); err != nil || d.Classes != c[1] {
			t.Errorf("%d rows, %d classes: err %v", c[0], c[1], err)
		}
	}
}

// A stored scaling and class list applied to other rows give exactly the
// numbers the fitted ones gave, label-free rows included.
func TestLoadCSVStoredScaling(t *testing.T) {
	const table = "a,b,y\n1,-3e5,x\n2.5,7,z\n4,0.125,x\n8,9,y\n"
	for _, scale := range []string{ScaleStandardize, ScaleMinMax, ScaleNone} {
		fit, err := loadCSVString(t, table, CSVOptions{Scale: scale})
		if err != nil {
			t.Fatal(err)
		}
		if fit.Scaling == nil || fit.Scaling.Method != scale || fit.Scaling.Check() != nil {
			t.Fatalf("%s: Scaling %+v", scale, fit.Scaling)
		}
		// The same rows, shuffled, with a header the scaling does not need,
		// two rows only (so a fitted scaling would differ) and no labels.
		again, err := loadCSVString(t, "8,9,y\n1,-3e5,x\n", CSVOptions{Scaling: fit.Scaling, ClassNames: fit.ClassNames})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again.X, append(slices.Clone(fit.X[6:8]), fit.X[0:2]...)) || !slices.Equal(again.Labels, []int{1, 0}) || again.Classes != 3 {
			t.Fatalf("%s: X %v (fitted %v) labels %v", scale, again.X, fit.X, again.Labels)
		}
		bare, err := loadCSVString(t, "2.5,7\n", CSVOptions{Scaling: fit.Scaling, ClassNames: fit.ClassNames, Features: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bare.X, fit.X[2:4]) || bare.Labels != nil || bare.Y != nil || bare.Classes != 3 {
			t.Fatalf("%s: unlabeled X %v labels %v", scale, bare.X, bare.Labels)
		}
	}
}

// TestLoadCSVFeatureNames: a header's feature names are kept (not the
// label column's, wherever it is), and a model's names refuse a file whose
// header has other columns or the same in another order, which would be
// read as other features; a file without a header is read by position.
func TestLoadCSVFeatureNames(t *testing.T) {
	d, err := loadCSVString(t, "a,species,b\n1,x,2\n3,y,4\n", CSVOptions{Scale: ScaleNone, LabelColumn: "species"})
	if err != nil || !slices.Equal(d.FeatureNames, []string{"a", "b"}) {
		t.Fatalf("feature names %q, %v", d.FeatureNames, err)
	}
	if d, err := loadCSVString(t, "1,x,2\n3,y,4\n", CSVOptions{Scale: ScaleNone, LabelColumn: "1"}); err != nil || d.FeatureNames != nil {
		t.Fatalf("headerless: feature names %q, %v", d.FeatureNames, err)
	}
	model := CSVOptions{Scale: ScaleNone, Features: 2, FeatureNames: []string{"a", "b"}, ClassNames: []string{"x", "y"}}
	for table, want := range map[string]string{
		"a,b\n1,2\n":           "",
		"a,b,species\n1,2,x\n": "",
		"1,2\n":                "",
		"b,a\n2,1\n":           `feature column 1 is "b", but the training rows' feature 1 was "a" (their features, in order: "a", "b"): put the file's columns in that order`,
		"a,c,species\n1,2,x\n": `feature column 2 is "c", but the training rows' feature 2 was "b"`,
	} {
		_, err := loadCSVString(t, table, model)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", table, err, want)
		}
	}
}

// TestLoadCSVPandasHeaders: two headers DataFrame.to_csv writes that were
// read as data. Its row index (an unnamed first column) trained as a
// feature; integer column names made line 1 a data row of a class named
// after the label column; and rows to predict under such a header gained
// a row, the header's numbers.
func TestLoadCSVPandasHeaders(t *testing.T) {
	rows := func(header string) string {
		var b strings.Builder
		b.WriteString(header + "\n")
		for i := range 30 {
			fmt.Fprintf(&b, "%d,%d,%s\n", i, 2*i, []string{"p", "q"}[i%2])
		}
		return b.String()
	}
	_, err := loadCSVString(t, rows(",a,y"), CSVOptions{}) // the index, a feature and the label
	if err == nil || !strings.Contains(err.Error(), "the header (line 1) names no column 1: if it is the row index pandas writes (DataFrame.to_csv without index=False), it would be read as a feature") {
		t.Errorf("pandas index column: %v", err)
	}
	_, err = loadCSVString(t, rows("0,1,y"), CSVOptions{})
	if err == nil || !strings.Contains(err.Error(), `line 1's label "y" is on no other line: is line 1 a header whose column names are numbers? Then name the label column`) {
		t.Errorf("integer column names: %v", err)
	}
	d, err := loadCSVString(t, rows("0,1,y"), CSVOptions{LabelColumn: "y"})
	if err != nil || d.N != 30 || !slices.Equal(d.FeatureNames, []string{"0", "1"}) || d.Classes != 2 {
		t.Errorf("integer column names, the label column named: %+v, %v", d, err)
	}
	// A model trained under that header predicts 2 rows, not 3.
	model := CSVOptions{Scale: ScaleNone, Features: 2, FeatureNames: []string{"0", "1"}, ClassNames: []string{"p", "q"}}
	if d, err := loadCSVString(t, "0,1\n5,6\n7,8\n", model); err != nil || d.N != 2 {
		t.Errorf("rows to predict under a header of numbers: %v rows, %v (want 2)", d.N, err)
	}
}

func TestLoadCSVFixedClasses(t *testing.T) {
	d, err := loadCSVString(t, "1,10.0\n2,2\n", CSVOptions{Scale: ScaleNone, ClassNames: []string{"2", "10"}})
	if err != nil || !slices.Equal(d.Labels, []int{1, 0}) {
		t.Fatalf("labels %v, %v", d.Labels, err)
	}
	_, err = loadCSVString(t, "1,10\n2,3\n", CSVOptions{Scale: ScaleNone, ClassNames: []string{"2", "10"}})
	if err == nil || !strings.Contains(err.Error(), `line 2, column 2: label "3" is not one of the 2 classes`) {
		t.Fatalf("unknown label: %v", err)
	}
	_, err = loadCSVString(t, "1,2,3,4\n", CSVOptions{Scale: ScaleNone, Features: 64})
	if err == nil || !strings.Contains(err.Error(), "line 1 has 4 columns; want 64 feature columns") {
		t.Fatalf("width: %v", err)
	}
	s := &Scaling{Method: ScaleNone, Unit: []float64{1}, Shift: []float64{0}, Factor: []float64{1}}
	_, err = loadCSVString(t, "1,2,3\n", CSVOptions{Scaling: s})
	if err == nil || !strings.Contains(err.Error(), "2 feature columns, but the scaling has 1") {
		t.Fatalf("scaling width: %v", err)
	}
	s.Unit[0] = math.NaN()
	if _, err = loadCSVString(t, "1,2\n", CSVOptions{Scaling: s}); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("bad scaling: %v", err)
	}
}

// TestCSVLimits: a device that never ends, a huge sparse file, a binary
// file and a record over the limit fail at once, naming the problem, before
// memory grows.
func TestCSVLimits(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse.csv")
	f, _ := os.Create(sparse)
	f.Truncate(1500 << 20)
	f.Close()
	long := filepath.Join(dir, "long.csv")
	os.WriteFile(long, append([]byte("a,b\n1,"), bytes.Repeat([]byte("9"), MaxCSVRecordBytes+100_000)...), 0o644)
	// Defect: a NUL in the first chunk read of a short file read as "file
	// is empty", and in a longer one the file was read on from the next
	// chunk, its first 4 KiB dropped.
	shortNUL := filepath.Join(dir, "short-nul.csv")
	os.WriteFile(shortNUL, []byte("a,b,label\n1,2,x\x00\n"), 0o644)
	longNUL := filepath.Join(dir, "long-nul.csv")
	os.WriteFile(longNUL, append([]byte("a,b,label\n1,2,\x00\n"), bytes.Repeat([]byte("1,2,x\n"), 2000)...), 0o644)
	cases := map[string]string{
		sparse:   "a NUL byte at offset 0: not a text CSV file",
		long:     "a record longer than 8388608 bytes (the limit)",
		shortNUL: "a NUL byte at offset 15: not a text CSV file",
		longNUL:  "a NUL byte at offset 14: not a text CSV file",
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases["/dev/zero"] = "a NUL byte at offset 0"
	}
	for path, want := range cases {
		bound := allocs.Bound(t, 150<<20)
		_, err := LoadCSV(path, CSVOptions{})
		bound()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", path, err, want)
		}
	}
}
