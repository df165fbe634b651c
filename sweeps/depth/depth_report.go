package depth

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
)

// Depth report file names inside the output directory.
const (
	DepthReportFile = "depth.html"
	DepthJSONFile   = "depth.json"
)

// Depth plot sizes: one line per variant, the legend in a column at the right.
const (
	depthPlotW, depthPlotH = 6.4 * vg.Inch, 3.4 * vg.Inch
	depthLegendW           = 1.55 * vg.Inch
)

// WriteDepthReport writes depth.html (tables, plots and findings, self-
// contained) and depth.json (the summaries, as `mlpsweep depth --json`
// prints them) into dir, created if missing, each replaced atomically.
func WriteDepthReport(dir string, r *DepthStudyResult) error {
	if dir == "" {
		return errors.New("depth report: empty directory name")
	}
	page, err := r.reportHTML()
	if err != nil {
		return err
	}
	var js bytes.Buffer
	if err := WriteDepthJSON(&js, r); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("depth report: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, DepthReportFile), page); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, DepthJSONFile), js.Bytes())
}

// CheckOutput makes sure the report can be written into dir, creating it
// if needed, before any run trains.
func CheckOutput(dir string) error {
	if dir == "" {
		return errors.New("depth report: empty directory name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("depth report: %w", err)
	}
	for _, name := range []string{DepthReportFile, DepthJSONFile} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("depth report: %w", atomicfile.NotRegular(p, st.Mode(), "a file", "move it aside"))
		}
	}
	return nil
}

func (r *DepthStudyResult) reportHTML() ([]byte, error) {
	page, err := r.page()
	if err != nil {
		return nil, err
	}
	return report.RenderPage(page)
}

// page is what depth.html shows.
func (r *DepthStudyResult) page() (report.Page, error) {
	if len(r.Runs) == 0 {
		return report.Page{}, fmt.Errorf("depth study %q has no runs", r.Study)
	}
	page := report.Page{
		Title: "Depth study: why deeper networks are harder to train",
		Summary: [][2]string{
			{"data", r.Data},
			{"runs", fmt.Sprintf("%s × %s (hidden layers %s), %s each", words.Count(len(r.Variants), "variant"), words.Count(len(r.Depths), "depth"), joinInts(r.Depths), words.Count(r.Epochs, "epoch"))},
			{"shared settings", r.sharedSettings()},
			{"diagnostics", "on the first training batch, at initialization (before any update) and after every epoch, without dropout and without changing the training"},
			{"gradient ratio", "‖∂L/∂W₁‖ / ‖∂L/∂W_L‖: Frobenius norm of the first Dense kernel's gradient over the output layer's"},
			{"inactive", "outputs whose activation derivative is below 1e-3 (relu zeros, saturated sigmoid or tanh)"},
			{"total time", report.FormatDuration(r.Seconds)},
		},
	}
	sections := []func() (report.Section, error){r.findingsSection, r.initSection, r.trainingSection, r.runsSection}
	for _, f := range sections {
		s, err := f()
		if err != nil {
			return report.Page{}, err
		}
		page.Sections = append(page.Sections, s)
	}
	for i := range r.Runs {
		if run := &r.Runs[i]; run.Error != "" {
			page.Problems = append(page.Problems, fmt.Sprintf("%s depth %d: %s", run.Variant, run.Depth, run.Error))
		}
	}
	return page, nil
}

// sharedSettings describes what every run has in common (from the first).
func (r *DepthStudyResult) sharedSettings() string {
	c := r.Runs[0].Config
	width := "—"
	if len(c.Hidden) > 0 {
		width = strconv.Itoa(c.Hidden[0])
	}
	return fmt.Sprintf("hidden width %s, %s learning rate %g, batch %d; output layer glorot_uniform, softmax", width, c.Optimizer, c.LR, c.Batch)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// variantsTable shows what each variant is, from its deepest run's config
// (a depth-1 network has no skip connection to show).
func (r *DepthStudyResult) variantsTable() report.Table {
	t := report.Table{Header: []string{"variant", "activation", "initializer", "batch normalization (before act)", "skip connections (a_l = a_{l−1} + …)"}}
	_, deep := r.shallowDeep()
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "—"
	}
	for _, v := range r.Variants {
		run := r.Run(v, deep)
		if run == nil {
			continue
		}
		c := run.Config
		t.Rows = append(t.Rows, report.TableRow{Cells: []string{v, c.Activation, c.Init, yes(c.BatchNorm), yes(c.Residual)}})
	}
	return t
}

func (r *DepthStudyResult) findingsSection() (report.Section, error) {
	ratio, err := r.depthFigure("gradient ratio at initialization by depth", "‖∂L/∂W₁‖ / ‖∂L/∂W_L‖", true,
		func(run *DepthResult) float64 { return GradRatio(run.Init) },
		"How much of the output layer's gradient reaches the first layer, at initialization (log scale; 1 = as much). Vanishing gradients fall away with depth.")
	if err != nil {
		return report.Section{}, err
	}
	acc, err := r.depthFigure(fmt.Sprintf("held-out accuracy after %s by depth", words.Count(r.Epochs, "epoch")), "held-out accuracy", false,
		func(run *DepthResult) float64 {
			if run.Failed() {
				return math.NaN()
			}
			return run.Accuracy
		}, "Accuracy on the held-out rows after the last epoch (a diverged run: its model as it stopped).")
	if err != nil {
		return report.Section{}, err
	}
	return report.Section{ID: "findings", Title: "What the measurements say", Notes: r.Findings(),
		Table: report.ToHTML(r.variantsTable()), Figures: []report.Figure{ratio, acc}}, nil
}

func (r *DepthStudyResult) initSection() (report.Section, error) {
	var figs []report.Figure
	for _, d := range r.Depths {
		if d < 2 {
			continue // two layers: nothing to see between them
		}
		f, err := r.variantFigure(fmt.Sprintf("gradient norm by layer at initialization, depth %d", d),
			"Dense layer (1 = first, last = output)", "‖∂L/∂W_l‖", true,
			func(v string) plotter.XYs {
				run := r.Run(v, d)
				if run == nil {
					return nil
				}
				return indexed(run.Init.GradNorm, 1)
			}, fmt.Sprintf("Frobenius norm of each layer's kernel gradient at initialization on the diagnostic batch, depth %d (log scale).", d))
		if err != nil {
			return report.Section{}, err
		}
		figs = append(figs, f)
	}
	_, deep := r.shallowDeep()
	for _, stat := range []struct {
		what  string
		value func(engine.ActivationStats) float64
		log   bool
		note  string
	}{
		{"output std", func(a engine.ActivationStats) float64 { return a.Std }, true,
			"Standard deviation of each hidden layer's activation output at initialization (log scale): a fading signal shrinks, an unchecked one grows."},
		{"inactive fraction", func(a engine.ActivationStats) float64 { return a.Inactive }, false,
			"Fraction of each hidden layer's outputs whose activation derivative is below 1e-3 at initialization (relu zeros, saturated sigmoid or tanh)."},
	} {
		f, err := r.variantFigure(fmt.Sprintf("hidden layers' %s at initialization, depth %d", stat.what, deep),
			"hidden layer", stat.what, stat.log,
			func(v string) plotter.XYs {
				run := r.Run(v, deep)
				if run == nil {
					return nil
				}
				xs := make([]float64, len(run.Init.Hidden))
				for i, h := range run.Init.Hidden {
					xs[i] = stat.value(h)
				}
				return indexed(xs, 1)
			}, stat.note)
		if err != nil {
			return report.Section{}, err
		}
		figs = append(figs, f)
	}
	return report.Section{ID: "init", Title: "Gradients and activations at initialization",
		Table: report.ToHTML(r.ratioMatrix()), Figures: figs}, nil
}

func (r *DepthStudyResult) trainingSection() (report.Section, error) {
	_, deep := r.shallowDeep()
	acc, err := r.variantFigure(fmt.Sprintf("held-out accuracy by epoch, depth %d", deep), "epoch", "held-out accuracy", false,
		func(v string) plotter.XYs {
			run := r.Run(v, deep)
			if run == nil {
				return nil
			}
			var pts plotter.XYs
			for _, e := range run.Epochs {
				pts = append(pts, plotter.XY{X: float64(e.Epoch), Y: e.ValAccuracy})
			}
			return pts
		}, fmt.Sprintf("Held-out accuracy after every epoch of the depth-%d networks.", deep))
	if err != nil {
		return report.Section{}, err
	}
	ratio, err := r.variantFigure(fmt.Sprintf("gradient ratio during training, depth %d", deep), "epoch (0 = initialization)", "‖∂L/∂W₁‖ / ‖∂L/∂W_L‖", true,
		func(v string) plotter.XYs {
			run := r.Run(v, deep)
			if run == nil || len(run.Init.GradNorm) == 0 {
				return nil
			}
			pts := plotter.XYs{{X: 0, Y: GradRatio(run.Init)}}
			for _, e := range run.Epochs {
				if e.Diagnostics != nil {
					pts = append(pts, plotter.XY{X: float64(e.Epoch), Y: GradRatio(*e.Diagnostics)})
				}
			}
			return pts
		}, fmt.Sprintf("The gradient ratio on the diagnostic batch at initialization and after every epoch, depth %d (log scale).", deep))
	if err != nil {
		return report.Section{}, err
	}
	return report.Section{ID: "training", Title: "Training", Table: report.ToHTML(r.accuracyMatrix()), Figures: []report.Figure{acc, ratio}}, nil
}

func (r *DepthStudyResult) runsSection() (report.Section, error) {
	return report.Section{ID: "runs", Title: "Every run", Table: report.ToHTML(r.runsTable())}, nil
}

// indexed turns xs into points (first+i, xs[i]).
func indexed(xs []float64, first int) plotter.XYs {
	pts := make(plotter.XYs, len(xs))
	for i, x := range xs {
		pts[i] = plotter.XY{X: float64(first + i), Y: x}
	}
	return pts
}

// depthFigure plots value(run) against depth, one line per variant, the
// depth axis logarithmic with a tick at every depth.
func (r *DepthStudyResult) depthFigure(title, yLabel string, logY bool, value func(*DepthResult) float64, caption string) (report.Figure, error) {
	f, err := r.variantPlot(title, "hidden layers (depth)", yLabel, logY, func(v string) plotter.XYs {
		var pts plotter.XYs
		for _, d := range r.Depths {
			if run := r.Run(v, d); run != nil {
				pts = append(pts, plotter.XY{X: float64(d), Y: value(run)})
			}
		}
		return pts
	}, caption, func(p *plot.Plot) {
		if len(r.Depths) < 2 {
			return
		}
		var ticks []plot.Tick
		for _, d := range r.Depths {
			ticks = append(ticks, plot.Tick{Value: float64(d), Label: strconv.Itoa(d)})
		}
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = float64(r.Depths[0])/1.25, float64(r.Depths[len(r.Depths)-1])*1.25
	})
	if f.Plot != nil {
		f.Plot.LogX = len(r.Depths) >= 2
	}
	return f, err
}

// variantFigure plots one line per variant against an integer x axis.
func (r *DepthStudyResult) variantFigure(title, xLabel, yLabel string, logY bool, points func(variant string) plotter.XYs, caption string) (report.Figure, error) {
	return r.variantPlot(title, xLabel, yLabel, logY, points, caption, nil)
}

// variantPlot draws points(variant) for every variant with curvesPlot (one
// colour per variant, in study order across all plots), the legend in a
// column at the right; non-finite points (and, on a log y axis, points
// ≤ 0) are left out. adjust, if set, edits the plot before drawing.
func (r *DepthStudyResult) variantPlot(title, xLabel, yLabel string, logY bool, points func(variant string) plotter.XYs,
	caption string, adjust func(*plot.Plot)) (report.Figure, error) {
	curves := make([]report.Curve, len(r.Variants))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, v := range r.Variants {
		curves[i].Label = v
		for _, pt := range points(v) {
			if finite(pt.Y) && (!logY || pt.Y > 0) {
				curves[i].Points = append(curves[i].Points, pt)
				lo, hi = min(lo, pt.Y), max(hi, pt.Y)
			}
		}
	}
	data := report.LinesPlot(title, xLabel, yLabel, logY, curves)
	if r.dataOnly {
		return report.Figure{Alt: title, Caption: caption, Plot: data}, nil
	}
	p, err := report.CurvesPlot(title, yLabel, curves, true)
	if err != nil {
		return report.Figure{}, err
	}
	if p == nil { // nothing measured: an empty frame says so
		p = report.NewPlot(title, xLabel, yLabel)
	}
	p.X.Label.Text = xLabel
	if logY && lo <= hi {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, decadeTicks{}
		p.Y.Min, p.Y.Max = lo/2, hi*2
	}
	if adjust != nil {
		adjust(p)
	}
	png, err := report.DrawPNG(depthPlotW, depthPlotH, func(c draw.Canvas) {
		legend := p.Legend
		p.Legend = plot.NewLegend()
		p.Draw(draw.Crop(c, 0, -depthLegendW, 0, 0))
		legend.Top, legend.Left = true, true
		legend.Draw(draw.Crop(c, depthPlotW-depthLegendW+vg.Points(10), 0, 0, -vg.Points(22)))
		p.Legend = legend
	})
	if err != nil {
		return report.Figure{}, fmt.Errorf("plot %q: %w", title, err)
	}
	f := report.PNGFigure(png, depthPlotW, depthPlotH, title, caption)
	f.Plot = data
	return f, nil
}

// decadeTicks labels powers of ten on a log axis, every decade or, over a
// wide range, every few so that about eight labels remain; over less than
// two decades it labels 2 and 5 times each power too.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	step := max(1, (last-first+7)/8)
	fine := last-first <= 2
	var ticks []plot.Tick
	for e := first; e <= last; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow10(e)
			if v < lo || v > hi || (m != 1 && !fine) {
				continue
			}
			t := plot.Tick{Value: v}
			if fine || (e-first)%step == 0 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
