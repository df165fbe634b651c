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

// WriteReport writes a study's report into dir (created if missing):
// results.csv and results.json in the shape of scikit-learn's cv_results_
// (one row per configuration, see cvResults) and report.html, a static
// self-contained page with the tables and PNG plots embedded. Everything
// is rendered in memory first and each file replaced atomically, so a
// failure or crash leaves the previous report files whole.
func WriteReport(dir string, r sweeps.StudyResult) error {
	if dir == "" {
		return errors.New("report: empty directory name")
	}
	v, err := newStudyView(r)
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
	htmlData, err := v.reportHTML()
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
