package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/internal/fixture"
)

// TestExampleCSVStudy runs examples/csv.yaml as its comment says, on a CSV
// file and a held-out file of the names it gives: the sweep and its refit,
// then predict on the held-out file, whose accuracy must be the refit's
// test accuracy (the same model on the same rows).
func TestExampleCSVStudy(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/csv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	studyFile := filepath.Join(dir, "csv.yaml")
	if err := os.WriteFile(studyFile, src, 0o644); err != nil {
		t.Fatal(err)
	}
	fixture.BlobsCSV(t, filepath.Join(dir, "train.csv"), 300, 1, 2)
	fixture.BlobsCSV(t, filepath.Join(dir, "test.csv"), 90, 8, 9)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCmd("sweep", studyFile, "--refit", "--epochs", "2", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	r := decodeStudyJSON(t, stdout)
	if len(r.Configs) != 8 || r.Folds != 5 || r.Refit == nil || r.Refit.TestRows != 90 || r.Refit.TrainRows != 300 {
		t.Fatalf("the study: %d configurations, %d folds, refit %+v", len(r.Configs), r.Folds, r.Refit)
	}
	// The report says what data the study ran on (it did not), as read
	// back from the store too.
	const data = "train (300 rows), 4 features, 3 classes"
	if r.Data != data {
		t.Errorf("data %q, want %q", r.Data, data)
	}
	if code, stdout, stderr := runCmd("report", out); code != 0 || !strings.Contains(stdout, "\ndata: "+data+"\n") {
		t.Errorf("report: exit %d, stdout lacks the data line:\n%s%s", code, stdout, stderr)
	}
	if page := readFile(t, filepath.Join(out, "report.html")); !strings.Contains(page, `["data","`+data+`"]`) {
		t.Errorf("report.html's summary lacks the data")
	}
	code, stdout, stderr = runCmd("predict", "--model", filepath.Join(out, "best.safetensors"), "--csv", filepath.Join(dir, "test.csv"), "--json", "--out", filepath.Join(dir, "preds.csv"))
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr)
	}
	if want := "90 rows of " + filepath.Join(dir, "test.csv") + " classified with " + filepath.Join(out, "best.safetensors") + "; predictions written to " + filepath.Join(dir, "preds.csv") + "\n"; !strings.HasPrefix(stderr, want) {
		t.Errorf("predict's stderr:\n%s\nwant it to begin %q", stderr, want)
	}
	var p predictResult
	if err := json.NewDecoder(strings.NewReader(stdout)).Decode(&p); err != nil || p.Accuracy == nil {
		t.Fatalf("predict --json: %v\n%s", err, stdout)
	}
	if *p.Accuracy != r.Refit.TestAccuracy || p.Rows != 90 {
		t.Errorf("predict: accuracy %v on %d rows; the refit's test accuracy %v on 90", *p.Accuracy, p.Rows, r.Refit.TestAccuracy)
	}
}

// TestSweepWithFailedUnits: a sweep whose units the engine refused (a
// network too large for the machine) exited 0, so a script took it for a
// finished study; it writes the report that lists them and exits 1, and
// a rerun trains them again.
func TestSweepWithFailedUnits(t *testing.T) {
	dir := t.TempDir()
	fixture.BlobsCSV(t, filepath.Join(dir, "train.csv"), 60, 1, 2)
	studyFile := filepath.Join(dir, "s.yaml")
	src := "data: {csv: train.csv}\nfolds: 2\nepochs: 1\naxes:\n  - {name: arch, key: hidden, values: [[4], [99999999999]]}\n"
	if err := os.WriteFile(studyFile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, stored := range []string{"0 already stored, 4 to train", "2 already stored, 2 to train"} {
		code, stdout, stderr := runCmd("sweep", studyFile, "--out", out)
		if code != 1 || !strings.Contains(stderr, "mlpsweep sweep: 2 of 4 units of study s failed (the tables list them") ||
			!strings.Contains(stdout, "units that diverged or failed:") || !strings.Contains(stderr, "report: ") {
			t.Fatalf("exit %d, want 1 after the report\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stderr, stored) {
			t.Errorf("want %q (the failed units trained again):\n%s", stored, stderr)
		}
	}
}
