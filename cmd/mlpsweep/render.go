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
