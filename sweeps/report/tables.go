package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Table is a table of text cells, shown as text on stdout and as HTML in
// a report.
type Table struct {
	Header []string
	Rows   []TableRow
}

// TableRow is one row of a Table.
type TableRow struct {
	Cells []string
	Best  bool // best value of its axis, or rank 1: highlighted
	Bad   bool // some unit diverged, failed or is missing: flagged
}

// resultHeader names the columns resultCells fills.
var resultHeader = []string{"accuracy", "val loss", "seconds", "status"}

// resultCells are the columns every table shows of a configuration: mean
// accuracy ± std over folds, mean validation loss, training seconds, status.
func (v *studyView) resultCells(c sweeps.ConfigResult) []string {
	return []string{formatAccuracy(c), formatLoss(c.MeanValLoss, scored(c)), formatSeconds(c.Seconds), v.status(c)}
}

func (v *studyView) row(i int, first []string, best bool) TableRow {
	c := v.r.Configs[i]
	return TableRow{Cells: append(first, v.resultCells(c)...), Best: best, Bad: troubles(c, v.folds) != ""}
}

// axisTable shows one axis: a row per value in study order.
func (v *studyView) axisTable(a axisView) Table {
	t := Table{Header: append([]string{"value"}, resultHeader...)}
	for _, i := range a.configs {
		t.Rows = append(t.Rows, v.row(i, []string{v.r.Configs[i].Value}, i == a.Best))
	}
	return t
}

// rankedTable shows every configuration ranked by mean accuracy, with a
// column per config key that varies.
func (v *studyView) rankedTable() Table {
	t := Table{Header: []string{"rank"}}
	for _, k := range v.varying {
		t.Header = append(t.Header, v.keys[k])
	}
	t.Header = append(t.Header, resultHeader...)
	for _, i := range v.byRank() {
		first := []string{strconv.Itoa(v.ranks[i])}
		for _, k := range v.varying {
			first = append(first, v.values[i][k].text)
		}
		t.Rows = append(t.Rows, v.row(i, first, v.ranks[i] == 1 && !math.IsNaN(score(v.r.Configs[i]))))
	}
	return t
}

// sampled reports whether the study's configurations were drawn (random:
// or a sampler: their one axis, "random" or "tpe"), not listed by axis:
// the text shows them ranked.
func (v *studyView) sampled() bool {
	return len(v.axes) == 1 && (v.axes[0].name == "random" || v.axes[0].name == "tpe")
}

// bestLine names an axis's best value: "best lr = 0.01: accuracy 0.9755 ± 0.0008".
func (v *studyView) bestLine(a axisView) string {
	if a.Best < 0 {
		return "best " + axisName(a.name) + ": none (no fold was scored)"
	}
	c := v.r.Configs[a.Best]
	return fmt.Sprintf("best %s = %s: accuracy %s", axisName(a.name), c.Value, formatAccuracy(c))
}

// summaryLine is the study in one line.
func (v *studyView) summaryLine() string {
	r := v.r
	by := sweeps.TrainedBy(r.Runs)
	if by != "" {
		by = " " + by
	}
	line := fmt.Sprintf("study %q: %s × %s, %s, %s (%d trained%s, %d reused), %s",
		r.Name, words.Count(len(r.Configs), "configuration"), words.Count(v.folds, "fold"), words.Count(r.Epochs, "epoch"), words.Count(r.UnitsTotal, "unit"),
		r.UnitsRun, by, r.UnitsReused, FormatDuration(r.TotalSeconds))
	if rate := formatRate(r); rate != "" {
		line += "; " + rate
	}
	return line
}

// refitLine states a refit's test figures, or "" without one: "refit of
// lr=0.01 (cross-validated accuracy 0.9712) on all 60000 training rows:
// test accuracy 0.9731, loss 0.0912 on 10000 rows; model best.safetensors
// in the study's output folder" (not the current one, where it was looked
// for).
func refitLine(f *sweeps.RefitResult) string {
	if f == nil {
		return ""
	}
	name := f.Key
	if f.Axis != "" {
		name = f.Axis + "=" + f.Value
	}
	line := fmt.Sprintf("refit of %s (cross-validated accuracy %.4f) on all %d training rows: test accuracy %.4f, loss %s on %d rows",
		name, f.CVMeanAccuracy, f.TrainRows, f.TestAccuracy, formatLoss(f.TestLoss, true), f.TestRows)
	switch {
	case f.Unit.Diverged:
		line += "; " + f.Unit.Error + ", no model saved"
	case f.ModelFile != "":
		line += "; model " + f.ModelFile + " in the study's output folder"
	}
	if f.Unit.Reused {
		line += " (reused)"
	}
	return line
}

// machinesLines says where the study's units were trained, one line per
// machine and engine: "vm, AMD EPYC (family 25 model 17), avx512: 48
// units"; none when no unit was found.
func machinesLines(r sweeps.StudyResult) []string {
	lines := make([]string, len(r.Machines))
	for i, m := range r.Machines {
		lines[i] = m.String()
	}
	return lines
}

// formatRate states the achieved GEMM rate against the peak, or "" when
// this invocation trained nothing.
func formatRate(r sweeps.StudyResult) string {
	if r.GFLOP <= 0 {
		return ""
	}
	s := fmt.Sprintf("%.3g TFLOP of training GEMMs at %.1f GFLOP/s, %.0f%% of the %.0f GFLOP/s peak of the cores used",
		r.GFLOP/1e3, r.GFLOPS, r.PercentOfPeak, r.PeakGFLOPS)
	if r.Blocks != "" {
		s += " (GEMM blocks from the " + r.Blocks + ")"
	}
	return s
}

// WriteTables prints a study's results as aligned text: for a one-axis
// study a table per axis (value → accuracy mean ± std over folds, val loss,
// seconds; the best value marked *), otherwise (a grid, or configurations
// drawn at random or by a sampler) one table of all configurations ranked
// by mean accuracy with the varying keys as columns.
// Units that diverged or failed are listed after the tables, then the
// machines the units were trained on, and a warning when they mix engine
// identities (sweeps.StudyResult.EngineNote).
func WriteTables(w io.Writer, r sweeps.StudyResult) error {
	v, err := newStudyView(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, v.summaryLine())
	if r.Data != "" {
		fmt.Fprintln(tw, "data: "+r.Data)
	}
	if v.axes != nil && !v.sampled() {
		for _, a := range v.axes {
			fmt.Fprintf(tw, "\naxis %s\n", axisName(a.name))
			WriteTextTable(tw, v.axisTable(a))
			fmt.Fprintln(tw, v.bestLine(a))
		}
	} else {
		fmt.Fprintln(tw, "\nconfigurations ranked by mean accuracy")
		WriteTextTable(tw, v.rankedTable())
	}
	if line := prunedLine(r); line != "" {
		fmt.Fprintln(tw, "\n"+line)
		WriteTextTable(tw, RungTable(r))
	}
	if line := refitLine(r.Refit); line != "" {
		fmt.Fprintln(tw, "\n"+line)
	}
	imp, err := v.importance()
	if err != nil {
		return err
	}
	if line := importanceLine(imp); line != "" {
		fmt.Fprintln(tw, "\n"+line)
	}
	if problems := v.problems(); len(problems) > 0 {
		fmt.Fprintln(tw, "\nunits that diverged or failed:")
		for _, p := range problems {
			fmt.Fprintln(tw, "  "+p)
		}
	}
	switch machines := machinesLines(r); len(machines) {
	case 0:
	case 1:
		fmt.Fprintln(tw, "\nmachines: "+machines[0])
	default:
		fmt.Fprintln(tw, "\nmachines:")
		for _, m := range machines {
			fmt.Fprintln(tw, "  "+m)
		}
	}
	if r.EngineNote != "" {
		fmt.Fprintln(tw, "warning: "+r.EngineNote)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = w.Write(TrimLines(buf.String()))
	return err
}

// TrimLines drops the trailing blanks of every line (tabwriter pads empty
// last cells).
func TrimLines(s string) []byte {
	var out bytes.Buffer
	for line := range strings.Lines(s) {
		out.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	return out.Bytes()
}

// WriteTextTable writes t as tab-separated cells for tw to align, best rows
// marked with a leading *.
func WriteTextTable(tw *tabwriter.Writer, t Table) {
	fmt.Fprintln(tw, " \t"+strings.Join(t.Header, "\t"))
	for _, row := range t.Rows {
		mark := " "
		if row.Best {
			mark = "*"
		}
		fmt.Fprintln(tw, mark+"\t"+strings.Join(row.Cells, "\t"))
	}
}

// formatAccuracy is "mean ± std" over folds to 4 decimals, "—" when unscored.
func formatAccuracy(c sweeps.ConfigResult) string {
	if math.IsNaN(score(c)) {
		return "—"
	}
	return fmt.Sprintf("%.4f ± %.4f", c.MeanAccuracy, c.StdAccuracy)
}

// formatLoss is a loss to 4 decimals, "—" when unscored, "inf" when it
// overflowed.
func formatLoss(loss float64, scored bool) string {
	switch {
	case !scored || math.IsNaN(loss):
		return "—"
	case math.IsInf(loss, 0):
		return "inf"
	}
	return fmt.Sprintf("%.4f", loss)
}

func formatSeconds(s float64) string { return fmt.Sprintf("%.1f", s) }

// FormatDuration is a wall time for people: "42.0 s", "12m05s", "3h07m".
func FormatDuration(s float64) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%.1f s", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}
