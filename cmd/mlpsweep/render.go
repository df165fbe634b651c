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

// renderStudy writes the report files into dir and prints the tables (or,
// with asJSON, the JSON summary) on stdout.
func renderStudy(r sweeps.StudyResult, dir string, asJSON bool, stdout, stderr io.Writer, cmd string) int {
	if err := report.WriteReport(dir, r); err != nil {
		return fail(stderr, cmd, err)
	}
	imp, err := report.Importance(r)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	r.Importance = imp
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
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
