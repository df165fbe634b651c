package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Report file names inside the report directory.
const (
	ResultsCSVFile  = "results.csv"
	ResultsJSONFile = "results.json"
	ReportHTMLFile  = "report.html"
)

// WriteReport writes the report of r, a study just run, into dir: see
// WriteDocument.
func WriteReport(dir string, r sweeps.StudyResult) error {
	doc, err := NewDocument(r, nil)
	if err != nil {
		return err
	}
	return WriteDocument(dir, doc)
}

// WriteDocument writes a study's report into dir (created if missing):
// results.csv and results.json in the shape of scikit-learn's cv_results_
// (one row per configuration, see cvResults) and report.html, the page of
// `mlpsweep serve` with doc inlined (see Snapshot). Everything is rendered
// in memory first and each file replaced atomically, so a failure or crash
// leaves the previous report files whole.
func WriteDocument(dir string, doc *Document) error {
	if dir == "" {
		return errors.New("report: empty directory name")
	}
	v, err := newStudyView(doc.StudyResult)
	if err != nil {
		return err
	}
	results, err := v.cvResults()
	if err != nil {
		return err
	}
	csvData, err := results.csvBytes()
	if err != nil {
		return fmt.Errorf("%s: %w", ResultsCSVFile, err)
	}
	jsonData, err := results.jsonBytes()
	if err != nil {
		return err
	}
	htmlData, err := Snapshot(doc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ResultsCSVFile, csvData}, {ResultsJSONFile, jsonData}, {ReportHTMLFile, htmlData}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}
