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
	code, stdout, stderr = runCmd("predict", "--model", filepath.Join(out, "best.safetensors"), "--csv", filepath.Join(dir, "test.csv"), "--json", "--out", filepath.Join(dir, "preds.csv"))
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr)
	}
	var p predictResult
	if err := json.NewDecoder(strings.NewReader(stdout)).Decode(&p); err != nil || p.Accuracy == nil {
		t.Fatalf("predict --json: %v\n%s", err, stdout)
	}
	if *p.Accuracy != r.Refit.TestAccuracy || p.Rows != 90 {
		t.Errorf("predict: accuracy %v on %d rows; the refit's test accuracy %v on 90", *p.Accuracy, p.Rows, r.Refit.TestAccuracy)
	}
}
