package report

import (
	"math"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Document is a study as one JSON object (docs/json.md): what `report
// --json` prints, what report.html carries inlined and what the page of
// `mlpsweep serve` reads. Its first fields are sweeps.StudyResult's (the
// shape `report --json` printed before there was a page), then what the
// page shows: the study's kind, its view (summary, tables and plots, the
// same as the text tables) and the state and times of every stored unit.
type Document struct {
	sweeps.StudyResult
	Kind  string      `json:"kind"`  // axes, grid, random, tpe or depth
	View  Page        `json:"view"`  // what the page shows, the tables as text cells and the plots as data
	Units []UnitState `json:"units"` // the stored units of the plan, running ones included, in plan order
	// Tiers is each configuration's ConfigResult.Tier, in the order of
	// configs: what a reader that ranks or traces the best goes by (the
	// live page's best-so-far curve, as SearchTrace).
	Tiers []int `json:"tiers"`
	// Depth is the depth study's own page (findings, tables, plots by
	// depth), nil for other studies.
	Depth *Page `json:"depth,omitempty"`
}

// UnitState is one stored unit of a study: which configuration and fold,
// its state (running, done, failed, pruned) and when it started and
// finished.
type UnitState struct {
	Config   int      `json:"config"` // index into configs: the first configuration with the unit's key
	Fold     int      `json:"fold"`
	State    string   `json:"state"`
	Started  int64    `json:"started"`  // unix milliseconds; 0 when not recorded
	Finished int64    `json:"finished"` // unix milliseconds; 0 while running
	Seconds  float64  `json:"seconds"`  // wall time of training and scoring
	Accuracy *float64 `json:"accuracy"` // held-out accuracy; null while running, failed or not finite
	// Epochs is the learning curve so far of a running unit, when the
	// store keeps per-epoch scores; finished units' curves are in configs.
	Epochs []sweeps.EpochScore `json:"epochs,omitempty"`
}

// Study kinds, Document.Kind.
const (
	KindAxes   = "axes"   // one hyperparameter at a time
	KindGrid   = "grid"   // the cartesian product of some lists
	KindRandom = "random" // random samples
	KindTPE    = "tpe"    // proposed one by one by a sampler from the results before
	KindDepth  = "depth"  // the depth study
)

// NewDocument derives a study's document from its result and the states
// of its stored units; nil takes them from r's units, without times (a
// study just run in this process).
func NewDocument(r sweeps.StudyResult, units []UnitState) (*Document, error) {
	v, err := newStudyView(r)
	if err != nil {
		return nil, err
	}
	if r.Importance, err = v.importance(); err != nil {
		return nil, err
	}
	v.r.Importance = r.Importance
	page, err := v.page()
	if err != nil {
		return nil, err
	}
	if units == nil {
		units = unitStates(r)
	}
	tiers := make([]int, len(r.Configs))
	for i, c := range r.Configs {
		tiers[i] = c.Tier()
	}
	return &Document{StudyResult: r, Kind: kindOf(r), View: page, Units: units, Tiers: tiers}, nil
}

// unitStates lists the units of r, each once however many axes show its
// configuration, without times.
func unitStates(r sweeps.StudyResult) []UnitState {
	units := []UnitState{}
	seen := map[string]bool{}
	for i, c := range r.Configs {
		if seen[c.Key] {
			continue
		}
		seen[c.Key] = true
		for _, u := range c.Units {
			us := UnitState{Config: i, Fold: u.Fold, State: "done", Seconds: u.Seconds, Started: u.Started / 1e6, Finished: u.Finished / 1e6}
			if u.PrunedAt > 0 {
				us.State = "pruned"
			}
			if u.Failed() {
				us.State = "failed"
			} else if acc := u.Accuracy; finite(acc) {
				us.Accuracy = &acc
			}
			units = append(units, us)
		}
	}
	return units
}

// kindOf tells a study's kind by its configurations' axes.
func kindOf(r sweeps.StudyResult) string {
	axes := make([]string, len(r.Configs))
	for i, c := range r.Configs {
		axes[i] = c.Axis
	}
	return KindOfAxes(axes)
}

// KindOfAxes tells a study's kind by its configurations' axes: the study
// language names a grid's points "grid", random samples "random" and a
// sampler's proposals "tpe"; any other name is an axis of a one-axis
// study.
func KindOfAxes(axes []string) string {
	for _, a := range axes {
		switch a {
		case KindGrid, "":
			return KindGrid
		case KindRandom, KindTPE:
			return a
		}
	}
	return KindAxes
}

// Plot is a figure as data, drawn by the page: series of (x, y) points
// over a numeric or categorical x axis.
type Plot struct {
	Title  string   `json:"title"`
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	LogX   bool     `json:"log_x,omitempty"`
	LogY   bool     `json:"log_y,omitempty"`
	XTicks []string `json:"x_ticks,omitempty"` // a categorical x axis: label i at x = i
	Series []Series `json:"series"`
}

// Series is one set of points of a Plot. Non-finite points are left out.
type Series struct {
	Label string    `json:"label"`
	Style string    `json:"style"`           // line (joined, with dots), dots (with ± err bars), rings (single folds), bars (from 0)
	Color string    `json:"color,omitempty"` // best, fold, or "" for the next colour of the palette
	X     []float64 `json:"x"`
	Y     []float64 `json:"y"`
	Err   []float64 `json:"err,omitempty"` // ± bars of dots
}

// add appends (x, y[, err]) when it is finite (and y > 0 on a log axis).
func (s *Series) add(x, y float64, logY bool, err ...float64) {
	if !finite(x) || !finite(y) || (logY && y <= 0) {
		return
	}
	s.X, s.Y = append(s.X, x), append(s.Y, y)
	if len(err) > 0 {
		s.Err = append(s.Err, err[0])
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// LinesPlot is curves as a plot of lines, one series per curve: what
// CurvesPlot draws as a PNG.
func LinesPlot(title, xLabel, yLabel string, logY bool, curves []Curve) *Plot {
	p := &Plot{Title: title, XLabel: xLabel, YLabel: yLabel, LogY: logY, Series: []Series{}}
	for _, c := range curves {
		s := Series{Label: c.Label, Style: "line", X: []float64{}, Y: []float64{}}
		for _, pt := range c.Points {
			s.add(pt.X, pt.Y, logY)
		}
		p.Series = append(p.Series, s)
	}
	return p
}

// accuracyData is accuracyPlot as data: the mean accuracy of each
// configuration with ± std bars, its folds beside it, the best in green.
func accuracyData(title, xLabel string, labels []string, configs []sweeps.ConfigResult, folds, best int) *Plot {
	p := &Plot{Title: title, XLabel: xLabel, YLabel: "held-out accuracy", XTicks: labels}
	foldSeries := Series{Label: "single folds", Style: "rings", Color: "fold", X: []float64{}, Y: []float64{}}
	means := Series{Label: "mean ± std", Style: "dots", X: []float64{}, Y: []float64{}, Err: []float64{}}
	bestSeries := Series{Label: "best", Style: "dots", Color: "best", X: []float64{}, Y: []float64{}, Err: []float64{}}
	for i, c := range configs {
		for _, s := range foldScores(c, folds) {
			foldSeries.add(float64(i)+0.18, s, false)
		}
		target := &means
		if i == best {
			target = &bestSeries
		}
		target.add(float64(i), score(c), false, c.StdAccuracy)
	}
	p.Series = []Series{foldSeries, means, bestSeries}
	return p
}

// curvesLogY is whether CurvesPlot puts curves on a log scale: positive
// values spanning more than a factor 100.
func curvesLogY(curves []Curve) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for _, pt := range c.Points {
			lo, hi = min(lo, pt.Y), max(hi, pt.Y)
		}
	}
	return lo <= hi && lo > 0 && hi/lo > 100
}

// hasPoints reports whether some curve has a point.
func hasPoints(curves []Curve) bool {
	for _, c := range curves {
		if len(c.Points) > 0 {
			return true
		}
	}
	return false
}
