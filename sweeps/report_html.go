package sweeps

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/mlpsweep/mlpsweep/engine"
)

// Plot sizes and how many configurations a ranked study plots.
const (
	accuracyPlotW, accuracyPlotH = 6.4 * vg.Inch, 3.4 * vg.Inch
	curvePlotW, curvePlotH       = 5 * vg.Inch, 3.4 * vg.Inch
	topAccuracyConfigs           = 15 // accuracy plot of a ranked study
	topCurveConfigs              = 5  // learning curves of a ranked study
	maxLegendLabel               = 48 // runes
)

// htmlPage is what report.html shows.
type htmlPage struct {
	Title    string
	Summary  [][2]string // label, value
	Fixed    string      // config keys every configuration shares
	Sections []htmlSection
	Problems []string
}

type htmlSection struct {
	ID, Title, Best string
	Notes           []string // paragraphs of text above the table (the depth study's findings)
	Table           htmlTable
	Figures         []htmlFigure
}

type htmlTable struct {
	Header []string
	Rows   []htmlRow
}

type htmlRow struct {
	Cells []string
	Class string // "best", "bad" or ""
}

type htmlFigure struct {
	Src           template.HTMLAttr // src="data:image/png;base64,…"; as an attribute, html/template keeps base64's '+' unescaped
	Width, Height int               // CSS pixels
	Alt, Caption  string
}

// reportHTML renders the self-contained report page.
func (v *studyView) reportHTML() ([]byte, error) {
	r := v.r
	page := htmlPage{
		Title: "Study " + r.Name,
		Summary: [][2]string{
			{"configurations", strconv.Itoa(len(r.Configs))},
			{"folds × epochs", fmt.Sprintf("%d × %d", v.folds, r.Epochs)},
			{"units", fmt.Sprintf("%d (%d trained by this run, %d reused)", r.UnitsTotal, r.UnitsRun, r.UnitsReused)},
			{"total time", formatDuration(r.TotalSeconds)},
			{"training throughput", formatThroughput(v.throughput())},
			{"seed", strconv.FormatInt(r.Seed, 10)},
		},
		Fixed:    strings.Join(v.fixedParams(), ", "),
		Problems: v.problems(),
	}
	if v.axes != nil {
		for _, a := range v.axes {
			page.Summary = append(page.Summary, [2]string{"axis " + axisName(a.name), v.bestLine(a)})
		}
		for n, a := range v.axes {
			s, err := v.axisSection(n, a)
			if err != nil {
				return nil, err
			}
			page.Sections = append(page.Sections, s)
		}
	} else {
		s, err := v.rankedSection()
		if err != nil {
			return nil, err
		}
		page.Sections = append(page.Sections, s)
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, page); err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	return buf.Bytes(), nil
}

func (v *studyView) axisSection(n int, a axisView) (htmlSection, error) {
	labels := make([]string, len(a.configs))
	for i, c := range a.configs {
		labels[i] = v.r.Configs[c].Value
	}
	figs, err := v.figures(axisName(a.name), axisName(a.name), a.configs, labels, labels, a.best)
	return htmlSection{
		ID: fmt.Sprintf("axis-%d", n+1), Title: "Axis " + axisName(a.name), Best: v.bestLine(a),
		Table: toHTML(v.axisTable(a)), Figures: figs,
	}, err
}

func (v *studyView) rankedSection() (htmlSection, error) {
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
	return htmlSection{
		ID: "ranked", Title: "Configurations ranked by mean accuracy",
		Table: toHTML(v.rankedTable()), Figures: figs,
	}, err
}

// figures draws a group of configurations (indices into r.Configs): their
// accuracy over folds, labelled by ticks, then learning curves, mean over
// folds, of the first topCurveConfigs of a ranked study or all of an axis,
// labelled by legends. best is an index into r.Configs or -1.
func (v *studyView) figures(name, xLabel string, group []int, ticks, legends []string, best int) ([]htmlFigure, error) {
	configs := make([]ConfigResult, len(group))
	bestInGroup := -1
	for i, c := range group {
		configs[i] = v.r.Configs[c]
		if c == best {
			bestInGroup = i
		}
	}
	p, err := accuracyPlot("accuracy by "+name, xLabel, ticks, configs, v.folds, bestInGroup)
	if err != nil {
		return nil, err
	}
	acc, err := figure(p, accuracyPlotW, accuracyPlotH, "accuracy by "+name,
		fmt.Sprintf("Mean held-out accuracy over the %d folds with ± 1 std bars; grey rings are single folds, green marks the best.", v.folds))
	if err != nil {
		return nil, err
	}
	figs := []htmlFigure{acc}

	if v.axes == nil {
		configs, legends = configs[:min(len(configs), topCurveConfigs)], legends[:min(len(legends), topCurveConfigs)]
	}
	curvesOf := func(field func(engine.EpochStats) float64) []curve {
		cs := make([]curve, len(configs))
		for i, c := range configs {
			cs[i] = curve{label: legends[i], points: meanCurve(c.Units, field)}
		}
		return cs
	}
	for _, lc := range []struct {
		what      string
		field     func(engine.EpochStats) float64
		legendTop bool
	}{
		{"validation accuracy", func(e engine.EpochStats) float64 { return e.ValAccuracy }, false},
		{"training loss", func(e engine.EpochStats) float64 { return e.Loss }, true},
	} {
		p, err := curvesPlot(lc.what+" by "+name, lc.what, curvesOf(lc.field), lc.legendTop)
		if err != nil {
			return nil, err
		}
		if p == nil {
			continue // no unit recorded it (no validation data, say)
		}
		f, err := figure(p, curvePlotW, curvePlotH, lc.what+" by "+name,
			"Per epoch, mean over the folds that reached the epoch with a finite value.")
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// figure renders p as an embedded PNG.
func figure(p *plot.Plot, w, h vg.Length, alt, caption string) (htmlFigure, error) {
	png, err := renderPNG(p, w, h)
	if err != nil {
		return htmlFigure{}, fmt.Errorf("plot %q: %w", alt, err)
	}
	return pngFigure(png, w, h, alt, caption), nil
}

// pngFigure embeds a w×h PNG.
func pngFigure(png []byte, w, h vg.Length, alt, caption string) htmlFigure {
	return htmlFigure{
		Src:   template.HTMLAttr(`src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `"`),
		Width: int(w / vg.Inch * 96), Height: int(h / vg.Inch * 96),
		Alt: alt, Caption: caption,
	}
}

func toHTML(t table) htmlTable {
	out := htmlTable{Header: t.header}
	for _, r := range t.rows {
		row := htmlRow{Cells: r.cells}
		switch {
		case r.best:
			row.Class = "best"
		case r.bad:
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

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; color: #1d2330; margin: 0; background: #f5f6f8; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 8px 0 16px; }
h2 { font-size: 20px; margin: 0 0 6px; }
section, .summary { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 18px 22px; margin: 0 0 22px; }
.summary dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
.summary dt { color: #5a6475; }
.summary dd { margin: 0; }
.fixed { color: #5a6475; font-size: 13px; margin: 12px 0 0; word-break: break-word; }
nav { margin: 10px 0 0; font-size: 14px; }
nav a { margin-right: 14px; color: #1f5fa8; }
.best-line { margin: 0 0 12px; color: #1a7a30; font-weight: 600; }
.note { margin: 0 0 10px; max-width: 980px; }
table { border-collapse: collapse; font-size: 14px; margin: 0; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 12px; border-bottom: 1px solid #e6e9ee; text-align: left; white-space: nowrap; }
th { background: #eef1f5; font-weight: 600; }
tr.best td { background: #e4f5e8; font-weight: 600; }
tr.bad td { background: #fdecec; color: #8a1c1c; }
.figs { display: flex; flex-wrap: wrap; gap: 16px 22px; align-items: flex-start; }
.wide { overflow-x: auto; max-width: 100%; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e6e9ee; }
figcaption { font-size: 12.5px; color: #5a6475; max-width: 600px; }
.problems li { font-family: ui-monospace, "Liberation Mono", monospace; font-size: 13px; color: #8a1c1c; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<div class="summary">
<dl>
{{- range .Summary}}
<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>
{{- end}}
</dl>
{{- if .Fixed}}
<p class="fixed">Shared by every configuration: {{.Fixed}}</p>
{{- end}}
{{- if gt (len .Sections) 1}}
<nav>{{range .Sections}}<a href="#{{.ID}}">{{.Title}}</a>{{end}}</nav>
{{- end}}
</div>
{{- range .Sections}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{- if .Best}}
<p class="best-line">{{.Best}}</p>
{{- end}}
{{- range .Notes}}
<p class="note">{{.}}</p>
{{- end}}
<div class="figs">
<div class="wide">
<table>
<tr>{{range .Table.Header}}<th>{{.}}</th>{{end}}</tr>
{{- range .Table.Rows}}
<tr{{if .Class}} class="{{.Class}}"{{end}}>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</table>
</div>
{{- range .Figures}}
<figure><img {{.Src}} width="{{.Width}}" height="{{.Height}}" alt="{{.Alt}}"><figcaption>{{.Caption}}</figcaption></figure>
{{- end}}
</div>
</section>
{{- end}}
{{- if .Problems}}
<section class="problems">
<h2>Units that diverged or failed</h2>
<ul>
{{- range .Problems}}
<li>{{.}}</li>
{{- end}}
</ul>
</section>
{{- end}}
</main>
</body>
</html>
`))
