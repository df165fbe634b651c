package depth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// depthTarget is the held-out accuracy whose first epoch a depth study reports.
const depthTarget = 0.9

// GradRatio is the first Dense kernel's gradient norm over the last's,
// ‖∂L/∂W_1‖/‖∂L/∂W_L‖: 1 when every layer gets as much gradient as the
// output layer, tiny when the gradient vanishes on its way down. NaN
// without diagnostics.
func GradRatio(d engine.Diagnostics) float64 {
	if len(d.GradNorm) == 0 {
		return math.NaN()
	}
	return d.GradNorm[0] / d.GradNorm[len(d.GradNorm)-1]
}

// epochsTo returns the first epoch (1-based) whose held-out accuracy
// reaches target, or 0 if none does.
func (r *DepthResult) epochsTo(target float64) int {
	for _, e := range r.Epochs {
		if e.ValAccuracy >= target {
			return e.Epoch
		}
	}
	return 0
}

// epochAccuracy is the last epoch's training accuracy as Keras reports it
// (a running mean in training mode), NaN without epochs.
func (r *DepthResult) epochAccuracy() float64 {
	if len(r.Epochs) == 0 {
		return math.NaN()
	}
	return r.Epochs[len(r.Epochs)-1].Accuracy
}

// secondsPerEpoch is the mean training time of an epoch, NaN without epochs.
func (r *DepthResult) secondsPerEpoch() float64 {
	if len(r.Epochs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, e := range r.Epochs {
		s += e.Seconds
	}
	return s / float64(len(r.Epochs))
}

// meanInactive is the mean over hidden layers of the inactive fraction.
func meanInactive(d engine.Diagnostics) float64 {
	if len(d.Hidden) == 0 {
		return math.NaN()
	}
	var s float64
	for _, h := range d.Hidden {
		s += h.Inactive
	}
	return s / float64(len(d.Hidden))
}

// lastHiddenStd is the output std of the last hidden layer.
func lastHiddenStd(d engine.Diagnostics) float64 {
	if len(d.Hidden) == 0 {
		return math.NaN()
	}
	return d.Hidden[len(d.Hidden)-1].Std
}

// DepthSummary is one run of a depth study as `mlpsweep depth --json`
// prints it. Non-finite numbers are null (see engine.JSONFloat).
type DepthSummary struct {
	Depth          int                `json:"depth"`
	Variant        string             `json:"variant"`
	GradRatioInit  engine.JSONFloat   `json:"grad_ratio_init"` // ‖∂L/∂W_1‖/‖∂L/∂W_L‖ at initialization
	FinalAccuracy  engine.JSONFloat   `json:"final_accuracy"`  // held-out, after the last epoch
	EpochsTo90     *int               `json:"epochs_to_90"`    // first epoch with held-out accuracy ≥ 0.9; null if none
	TrainAccuracy  engine.JSONFloat   `json:"train_accuracy"`  // the final model on the first 10,000 training rows
	EpochAccuracy  engine.JSONFloat   `json:"epoch_accuracy"`  // the last epoch's training accuracy, as Keras reports it
	GradNormsInit  []engine.JSONFloat `json:"grad_norms_init"` // ‖∂L/∂W_l‖ at initialization, input to output
	InactiveInit   engine.JSONFloat   `json:"inactive_init"`   // mean over hidden layers of the inactive outputs' fraction at initialization
	GradRatioFinal engine.JSONFloat   `json:"grad_ratio_final"`
	Params         int                `json:"params"`
	Seconds        float64            `json:"seconds"`
	Diverged       bool               `json:"diverged"`
	Error          string             `json:"error,omitempty"`
	Config         study.Params       `json:"config"`
}

// Summaries lists the runs in study order.
func (r *DepthStudyResult) Summaries() []DepthSummary {
	out := make([]DepthSummary, 0, len(r.Runs))
	for i := range r.Runs {
		run := &r.Runs[i]
		s := DepthSummary{
			Depth: run.Depth, Variant: run.Variant,
			GradRatioInit: engine.JSONFloat(GradRatio(run.Init)), FinalAccuracy: engine.JSONFloat(run.Accuracy),
			TrainAccuracy: engine.JSONFloat(run.TrainAccuracy), EpochAccuracy: engine.JSONFloat(run.epochAccuracy()),
			InactiveInit:   engine.JSONFloat(meanInactive(run.Init)),
			GradRatioFinal: engine.JSONFloat(math.NaN()), GradNormsInit: []engine.JSONFloat{},
			Params: run.Trainable, Seconds: run.Seconds, Diverged: run.Diverged, Error: run.Error, Config: run.Params,
		}
		if e := run.epochsTo(depthTarget); e > 0 {
			s.EpochsTo90 = &e
		}
		for _, g := range run.Init.GradNorm {
			s.GradNormsInit = append(s.GradNormsInit, engine.JSONFloat(g))
		}
		if n := len(run.Epochs); n > 0 && run.Epochs[n-1].Diagnostics != nil {
			s.GradRatioFinal = engine.JSONFloat(GradRatio(*run.Epochs[n-1].Diagnostics))
		}
		out = append(out, s)
	}
	return out
}

// WriteDepthJSON writes the summaries as an indented JSON list.
func WriteDepthJSON(w io.Writer, r *DepthStudyResult) error {
	b, err := json.MarshalIndent(r.Summaries(), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// formatRatio shows a gradient ratio or norm to 3 significant digits.
func formatRatio(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}

func formatFraction(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.4f", x)
}

func formatSecondsPerEpoch(s float64) string {
	if math.IsNaN(s) {
		return "—"
	}
	return fmt.Sprintf("%.2f", s)
}

// runsTable lists every run: one row per variant and depth.
func (r *DepthStudyResult) runsTable() report.Table {
	t := report.Table{Header: []string{"variant", "depth", "params", "grad ratio (init)", "‖∂L/∂W₁‖", "‖∂L/∂W_L‖",
		"inactive (init)", "val accuracy", "train accuracy (end)", "epochs to 90%", "s/epoch", "status"}}
	for i := range r.Runs {
		run := &r.Runs[i]
		to := "—"
		if e := run.epochsTo(depthTarget); e > 0 {
			to = strconv.Itoa(e)
		}
		first, last := math.NaN(), math.NaN()
		if n := len(run.Init.GradNorm); n > 0 {
			first, last = run.Init.GradNorm[0], run.Init.GradNorm[n-1]
		}
		acc, train := math.NaN(), math.NaN()
		if !run.Failed() {
			acc, train = run.Accuracy, run.TrainAccuracy
		}
		t.Rows = append(t.Rows, report.TableRow{Cells: []string{
			run.Variant, strconv.Itoa(run.Depth), strconv.Itoa(run.Trainable), formatRatio(GradRatio(run.Init)),
			formatRatio(first), formatRatio(last), formatFraction(meanInactive(run.Init)),
			formatFraction(acc), formatFraction(train), to,
			formatSecondsPerEpoch(run.secondsPerEpoch()), run.Error,
		}, Bad: run.Error != ""})
	}
	return t
}

// matrixTable has a row per variant and a column per depth, cells by cell.
func (r *DepthStudyResult) matrixTable(corner string, cell func(*DepthResult) string) report.Table {
	t := report.Table{Header: []string{corner}}
	for _, d := range r.Depths {
		t.Header = append(t.Header, "depth "+strconv.Itoa(d))
	}
	for _, v := range r.Variants {
		row := report.TableRow{Cells: []string{v}}
		for _, d := range r.Depths {
			c := "—"
			if run := r.Run(v, d); run != nil {
				c = cell(run)
				row.Bad = row.Bad || run.Error != ""
			}
			row.Cells = append(row.Cells, c)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// ratioMatrix shows the gradient ratio at initialization.
func (r *DepthStudyResult) ratioMatrix() report.Table {
	return r.matrixTable("‖∂L/∂W₁‖/‖∂L/∂W_L‖ at init", func(run *DepthResult) string { return formatRatio(GradRatio(run.Init)) })
}

// accuracyMatrix shows the final held-out accuracy and the epoch it first reached 90%.
func (r *DepthStudyResult) accuracyMatrix() report.Table {
	return r.matrixTable(fmt.Sprintf("val accuracy (epochs to %.0f%%)", 100*depthTarget), func(run *DepthResult) string {
		if run.Failed() {
			return "failed"
		}
		to := "—"
		if e := run.epochsTo(depthTarget); e > 0 {
			to = strconv.Itoa(e)
		}
		return fmt.Sprintf("%.4f (%s)", run.Accuracy, to)
	})
}

// WriteDepthTables prints a depth study as aligned text: the gradient
// ratio and accuracy matrices, every run, and the findings.
func WriteDepthTables(w io.Writer, r *DepthStudyResult) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "depth study %q: %s × %s, %s, %s, %s\n",
		r.Study, words.Count(len(r.Variants), "variant"), words.Count(len(r.Depths), "depth"), words.Count(r.Epochs, "epoch"), r.Data, report.FormatDuration(r.Seconds))
	for _, part := range []struct {
		title string
		t     report.Table
	}{
		{"gradient reaching the first layer at initialization, relative to the last layer's", r.ratioMatrix()},
		{"held-out accuracy after the last epoch", r.accuracyMatrix()},
		{"every run", r.runsTable()},
	} {
		fmt.Fprintf(tw, "\n%s\n", part.title)
		report.WriteTextTable(tw, part.t)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	out := bytes.NewBuffer(report.TrimLines(buf.String()))
	out.WriteString("\nfindings\n")
	for _, p := range r.Findings() {
		out.WriteString(wrap(p, 100) + "\n\n")
	}
	_, err := w.Write(out.Bytes())
	return err
}

// wrap breaks text into lines of at most width runes at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(text) {
		n := len([]rune(word))
		if i > 0 {
			if line+1+n > width {
				b.WriteByte('\n')
				line = 0
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(word)
		line += n
	}
	return b.String()
}
