package report

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Plot sizes and how many configurations a ranked study plots.
const (
	accuracyPlotW, accuracyPlotH = 6.4 * vg.Inch, 3.4 * vg.Inch
	curvePlotW, curvePlotH       = 5 * vg.Inch, 3.4 * vg.Inch
	topAccuracyConfigs           = 15 // accuracy plot of a ranked study
	topCurveConfigs              = 5  // learning curves of a ranked study
	maxLegendLabel               = 48 // runes
)

// Page is what a report page shows: a summary, sections of a table and
// figures, and the units that went wrong. Its JSON form is Document.View.
type Page struct {
	Title    string      `json:"title"`
	Summary  [][2]string `json:"summary"`         // label, value
	Fixed    string      `json:"fixed,omitempty"` // config keys every configuration shares
	Sections []Section   `json:"sections"`
	Problems []string    `json:"problems,omitempty"`
}

// Section is a part of a Page: a table and its figures.
type Section struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Best    string    `json:"best,omitempty"`
	Notes   []string  `json:"notes,omitempty"` // paragraphs of text above the table (the depth study's findings)
	Table   HTMLTable `json:"table"`
	Figures []Figure  `json:"figures"`
}

// HTMLTable is a table of text cells.
type HTMLTable struct {
	Header []string  `json:"header"`
	Rows   []HTMLRow `json:"rows"`
}

// HTMLRow is a row of an HTMLTable.
type HTMLRow struct {
	Cells []string `json:"cells"`
	Class string   `json:"class,omitempty"` // "best", "bad" or ""
}

// Figure is a plot: as data for the page to draw, and as an embedded PNG
// for a page rendered by RenderPage (the depth study's depth.html).
type Figure struct {
	Src           template.HTMLAttr `json:"-"` // src="data:image/png;base64,…"; as an attribute, html/template keeps base64's '+' unescaped
	Width, Height int               `json:"-"` // CSS pixels
	Alt           string            `json:"title"`
	Caption       string            `json:"caption"`
	Plot          *Plot             `json:"plot"`
}

// page is what the report page shows of the study, its plots as data.
func (v *studyView) page() (Page, error) {
	r := v.r
	page := Page{
		Title: "Study " + r.Name,
		Summary: [][2]string{
			{"configurations", strconv.Itoa(len(r.Configs))},
			{"folds × epochs", fmt.Sprintf("%d × %d", v.folds, r.Epochs)},
			{"units", fmt.Sprintf("%d (%d trained %s, %d reused)", r.UnitsTotal, r.UnitsRun, cmp.Or(sweeps.TrainedBy(r.Runs), "by this run"), r.UnitsReused)},
			{"total time", FormatDuration(r.TotalSeconds)},
			{"training throughput", formatThroughput(v.throughput())},
			{"seed", strconv.FormatInt(r.Seed, 10)},
		},
		Fixed:    strings.Join(v.fixedParams(), ", "),
		Problems: v.problems(),
	}
	if r.Data != "" {
		page.Summary = slices.Insert(page.Summary, 1, [2]string{"data", r.Data})
	}
	if rate := formatRate(r); rate != "" {
		page.Summary = append(page.Summary, [2]string{"GEMM rate", rate})
	}
	if machines := machinesLines(r); len(machines) > 0 {
		page.Summary = append(page.Summary, [2]string{"machines", strings.Join(machines, "; ")})
	}
	if r.EngineNote != "" {
		page.Summary = append(page.Summary, [2]string{"warning", r.EngineNote})
	}
	if line := refitLine(r.Refit); line != "" {
		page.Summary = append(page.Summary, [2]string{"best configuration on the test set", line})
	}
	if v.axes != nil {
		for _, a := range v.axes {
			page.Summary = append(page.Summary, [2]string{"axis " + axisName(a.name), v.bestLine(a)})
		}
		for n, a := range v.axes {
			s, err := v.axisSection(n, a)
			if err != nil {
				return Page{}, err
			}
			page.Sections = append(page.Sections, s)
		}
	} else {
		s, err := v.rankedSection()
		if err != nil {
			return Page{}, err
		}
		page.Sections = append(page.Sections, s)
	}
	if s, ok := v.searchSection(); ok {
		page.Sections = append(page.Sections, s)
	}
	imp, err := v.importance()
	if err != nil {
		return Page{}, err
	}
	if s, ok := importanceSection(imp); ok {
		page.Sections = append(page.Sections, s)
	}
	return page, nil
}

func (v *studyView) axisSection(n int, a axisView) (Section, error) {
	labels := make([]string, len(a.configs))
	for i, c := range a.configs {
		labels[i] = v.r.Configs[c].Value
	}
	figs, err := v.figures(axisName(a.name), axisName(a.name), a.configs, labels, labels, a.Best)
	return Section{
		ID: fmt.Sprintf("axis-%d", n+1), Title: "Axis " + axisName(a.name), Best: v.bestLine(a),
		Table: ToHTML(v.axisTable(a)), Figures: figs,
	}, err
}

func (v *studyView) rankedSection() (Section, error) {
	order := v.byRank()
	top := order[:min(len(order), topAccuracyConfigs)]
	ticks := make([]string, len(top))
	legends := make([]string, len(top))
	for i, c := range top {
		ticks[i] = "#" + strconv.Itoa(v.ranks[c])
		legends[i] = truncate(ticks[i]+" "+v.label(c), maxLegendLabel)
	}
	best := -1
	if v.ranks[top[0]] == 1 && !math.IsNaN(score(v.r.Configs[top[0]])) {
		best = top[0]
	}
	figs, err := v.figures("top configurations", "rank", top, ticks, legends, best)
	return Section{
		ID: "ranked", Title: "Configurations ranked by mean accuracy",
		Table: ToHTML(v.rankedTable()), Figures: figs,
	}, err
}

// figures draws a group of configurations (indices into r.Configs): their
// accuracy over folds, labelled by ticks, then learning curves, mean over
// folds, of the first topCurveConfigs of a ranked study or all of an axis,
// labelled by legends. best is an index into r.Configs or -1.
func (v *studyView) figures(name, xLabel string, group []int, ticks, legends []string, best int) ([]Figure, error) {
	configs := make([]sweeps.ConfigResult, len(group))
	bestInGroup := -1
	for i, c := range group {
		configs[i] = v.r.Configs[c]
		if c == best {
			bestInGroup = i
		}
	}
	figs := []Figure{{Alt: "accuracy by " + name, Plot: accuracyData("accuracy by "+name, xLabel, ticks, configs, v.folds, bestInGroup),
		Caption: fmt.Sprintf("Mean held-out accuracy over the %d folds with ± 1 std bars; grey rings are single folds, green marks the best.", v.folds)}}
	if v.axes == nil {
		configs, legends = configs[:min(len(configs), topCurveConfigs)], legends[:min(len(legends), topCurveConfigs)]
	}
	curvesOf := func(field func(engine.EpochStats) float64) []Curve {
		cs := make([]Curve, len(configs))
		for i, c := range configs {
			cs[i] = Curve{Label: legends[i], Points: meanCurve(c.Units, field)}
		}
		return cs
	}
	for _, lc := range []struct {
		what  string
		field func(engine.EpochStats) float64
	}{
		{"validation accuracy", func(e engine.EpochStats) float64 { return e.ValAccuracy }},
		{"training loss", func(e engine.EpochStats) float64 { return e.Loss }},
	} {
		curves := curvesOf(lc.field)
		if !hasPoints(curves) {
			continue // no unit recorded it (no validation data, say)
		}
		title := lc.what + " by " + name
		figs = append(figs, Figure{Alt: title, Plot: LinesPlot(title, "epoch", lc.what, curvesLogY(curves), curves),
			Caption: "Per epoch, mean over the folds that reached the epoch with a finite value."})
	}
	return figs, nil
}

// NewFigure renders p as an embedded PNG.
func NewFigure(p *plot.Plot, w, h vg.Length, alt, caption string) (Figure, error) {
	png, err := RenderPNG(p, w, h)
	if err != nil {
		return Figure{}, fmt.Errorf("plot %q: %w", alt, err)
	}
	return PNGFigure(png, w, h, alt, caption), nil
}

// PNGFigure embeds a w×h PNG.
func PNGFigure(png []byte, w, h vg.Length, alt, caption string) Figure {
	return Figure{
		Src:   template.HTMLAttr(`src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `"`),
		Width: int(w / vg.Inch * 96), Height: int(h / vg.Inch * 96),
		Alt: alt, Caption: caption,
	}
}

func ToHTML(t Table) HTMLTable {
	out := HTMLTable{Header: t.Header}
	for _, r := range t.Rows {
		row := HTMLRow{Cells: r.Cells}
		switch {
		case r.Best:
			row.Class = "best"
		case r.Bad:
			row.Class = "bad"
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

func formatThroughput(samplesPerSecond float64) string {
	if math.IsNaN(samplesPerSecond) {
		return "—"
	}
	return fmt.Sprintf("%.0f samples/s per unit (training samples ÷ unit wall time)", samplesPerSecond)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// pageSource is the template that lays out a Page as a self-contained
// HTML document (pageTemplate).
//
//go:embed page.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// RenderPage renders p as a self-contained HTML page.
func RenderPage(p Page) ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("%s: %w", p.Title, err)
	}
	return buf.Bytes(), nil
}
