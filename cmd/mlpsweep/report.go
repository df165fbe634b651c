package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
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
	r, err := sweeps.LoadStudy(dir, *study)
	if err != nil {
		if names, nerr := sweeps.StudyNames(dir); nerr == nil && len(names) > 0 && *study != "" {
			err = fmt.Errorf("%w (studies in %s: %s)", err, dir, strings.Join(names, ", "))
		}
		return fail(stderr, "report", err)
	}
	return renderStudy(r, dir, *jsonOutput, stdout, stderr, "report")
}

// renderStudy writes the report files into dir and prints the tables (or,
// with asJSON, the JSON summary) on stdout.
func renderStudy(r sweeps.StudyResult, dir string, asJSON bool, stdout, stderr io.Writer, cmd string) int {
	if err := sweeps.WriteReport(dir, r); err != nil {
		return fail(stderr, cmd, err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(newStudyJSON(r, dir)); err != nil {
			return fail(stderr, cmd, err)
		}
	} else if err := sweeps.WriteTables(stdout, r); err != nil {
		return fail(stderr, cmd, err)
	}
	fmt.Fprintf(stderr, "report: %s (results.csv, results.json alongside)\n", filepath.Join(dir, sweeps.ReportHTMLFile))
	return 0
}

// studyJSON is the object `sweep --json` and `report --json` print.
type studyJSON struct {
	Study        string       `json:"study"`
	Out          string       `json:"out"`
	Folds        int          `json:"folds"`
	Epochs       int          `json:"epochs"`
	Seed         int64        `json:"seed"`
	TotalSeconds float64      `json:"total_seconds"`
	UnitsTotal   int          `json:"units_total"`
	UnitsRun     int          `json:"units_run"`
	UnitsReused  int          `json:"units_reused"`
	Configs      []configJSON `json:"configs"`
}

type configJSON struct {
	Axis           string     `json:"axis"`
	Value          string     `json:"value"`
	Key            string     `json:"key"`
	Params         paramsJSON `json:"params"`
	FoldAccuracies []float64  `json:"fold_accuracies"`
	MeanAccuracy   float64    `json:"mean_accuracy"`
	StdAccuracy    float64    `json:"std_accuracy"`
	Seconds        float64    `json:"seconds"`
	Rank           int        `json:"rank"`
	Diverged       bool       `json:"diverged,omitempty"` // some fold diverged
	Errors         []string   `json:"errors,omitempty"`   // divergences and failures, one per unit
}

func newStudyJSON(r sweeps.StudyResult, dir string) studyJSON {
	out := studyJSON{Study: r.Name, Out: dir, Folds: r.Folds, Epochs: r.Epochs, Seed: r.Seed,
		TotalSeconds: r.TotalSeconds, UnitsTotal: r.UnitsTotal, UnitsRun: r.UnitsRun, UnitsReused: r.UnitsReused,
		Configs: []configJSON{}}
	for _, c := range r.Configs {
		cj := configJSON{Axis: c.Axis, Value: c.Value, Key: c.Key, Params: paramsJSON(c.Params), FoldAccuracies: c.FoldAccuracies,
			MeanAccuracy: c.MeanAccuracy, StdAccuracy: c.StdAccuracy, Seconds: c.Seconds, Rank: c.Rank}
		for _, u := range c.Units {
			cj.Diverged = cj.Diverged || u.Diverged
			if u.Error != "" {
				cj.Errors = append(cj.Errors, fmt.Sprintf("fold %d: %s", u.Fold, u.Error))
			}
		}
		out.Configs = append(out.Configs, cj)
	}
	return out
}

// paramsJSON is a config without its seed, which a study does not set
// (every unit derives its own).
type paramsJSON engine.Config

func (p paramsJSON) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(engine.Config(p))
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "seed")
	return json.Marshal(m)
}
