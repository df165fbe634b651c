package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

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
		if err := WriteFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic replaces path with data: it writes a temporary file in
// the same directory, syncs it and renames it over path, then syncs the
// directory so the rename survives a crash. On error path is untouched
// and the temporary file removed.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
