package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

func init() {
	register(command{name: "report", summary: "re-render a sweep's tables and report from its database", run: runReport})
}

const reportSynopsis = `report DIR [--study NAME] [--json]

Reads the sweep database DIR/mlpsweep.db (written by mlpsweep sweep --out
DIR), prints the study's tables on stdout and rewrites DIR/results.csv,
DIR/results.json and DIR/report.html. A study that is still running or was
interrupted is shown with the units finished so far.`

func runReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", reportSynopsis, stderr)
	study := fs.String("study", "", "the study to show when DIR holds several (default: the one run last)")
	jsonOutput := fs.Bool("json", false, "print one JSON object with the results on stdout instead of the tables")
	positional, code := parseInterleaved(fs, args, stdout)
	if code >= 0 {
		return code
	}
	if len(positional) != 1 {
		return usageError(stderr, "report", "want one directory, got %d arguments", len(positional))
	}
	dir := positional[0]
	r, err := store.LoadStudy(dir, *study)
	if err != nil {
		if names, nerr := store.StudyNames(dir); nerr == nil && len(names) > 0 && *study != "" {
			err = fmt.Errorf("%w (studies in %s: %s)", err, dir, strings.Join(names, ", "))
		}
		return fail(stderr, "report", err)
	}
	if err := scheduler.LoadRefit(dir, &r); err != nil {
		return fail(stderr, "report", err)
	}
	return renderStudy(r, dir, *jsonOutput, stdout, stderr, "report")
}

// renderStudy writes the report files into dir and prints the tables (or,
// with asJSON, the JSON summary) on stdout.
func renderStudy(r sweeps.StudyResult, dir string, asJSON bool, stdout, stderr io.Writer, cmd string) int {
	if err := report.WriteReport(dir, r); err != nil {
		return fail(stderr, cmd, err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fail(stderr, cmd, err)
		}
	} else if err := report.WriteTables(stdout, r); err != nil {
		return fail(stderr, cmd, err)
	}
	fmt.Fprintf(stderr, "report: %s (results.csv, results.json alongside)\n", filepath.Join(dir, report.ReportHTMLFile))
	return 0
}
