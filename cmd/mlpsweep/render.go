package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
)

// A study's report, as sweep, report and merge write it.

// renderStudy renders a study just run (see renderDocument).
func renderStudy(r sweeps.StudyResult, dir string, asJSON bool, stdout, stderr io.Writer, cmd string) int {
	doc, err := report.NewDocument(r, nil)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	return renderDocument(doc, dir, asJSON, stdout, stderr, cmd)
}

// renderDocument writes the report files into dir and prints the tables
// (or, with asJSON, the study's report.Document: the JSON the page of
// mlpsweep serve reads, docs/json.md) on stdout.
func renderDocument(doc *report.Document, dir string, asJSON bool, stdout, stderr io.Writer, cmd string) int {
	r := doc.StudyResult
	if err := report.WriteDocument(dir, doc); err != nil {
		return fail(stderr, cmd, err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return fail(stderr, cmd, err)
		}
	} else if err := report.WriteTables(stdout, r); err != nil {
		return fail(stderr, cmd, err)
	}
	if asJSON && r.EngineNote != "" { // the tables say it on stdout
		fmt.Fprintf(stderr, "mlpsweep %s: warning: %s\n", cmd, r.EngineNote)
	}
	fmt.Fprintf(stderr, "report: %s (results.csv, results.json alongside)\n", filepath.Join(dir, report.ReportHTMLFile))
	return 0
}

// failedUnits is the error of a sweep some of whose units failed (the
// engine refused their configuration: sweeps.UnitResult.Failed; a diverged
// unit is a result), after the report that lists them, or nil: the work
// failed (exit status 1), though every other unit is kept and a rerun
// trains only those.
func failedUnits(r sweeps.StudyResult) error {
	failed, total := 0, 0
	seen := map[string]bool{} // a configuration shown on several axes counts once
	for _, c := range r.Configs {
		if seen[c.Key] {
			continue
		}
		seen[c.Key] = true
		for _, u := range c.Units {
			total++
			if u.Failed() {
				failed++
			}
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d units of study %s failed (the tables list them, under \"units that diverged or failed\"): change those configurations and run the study again: the finished units are kept, and only the others train", failed, total, r.Name)
}
