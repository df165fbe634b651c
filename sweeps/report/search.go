package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// A study as a search: how good the best configuration found was as the
// study spent its compute and its time, and, for a pruned study, what its
// pruner decided at each rung. These are data and a table and a plot
// function that the text tables, the HTML report and the live page each
// show as they do.

// SearchPoint is the study's best configuration so far after some of its
// units were trained.
type SearchPoint struct {
	GFLOP   float64 `json:"gflop"`   // training GEMM work of the units finished so far
	Seconds float64 `json:"seconds"` // wall time from the first unit's start to this unit's finish
	Best    float64 `json:"best"`    // the best mean accuracy of a configuration trained every epoch, all folds done, none diverged; NaN before the first
	Key     string  `json:"key"`     // that configuration
}

// MarshalJSON writes a NaN best (before the first) as null.
func (p SearchPoint) MarshalJSON() ([]byte, error) {
	type plain SearchPoint
	return json.Marshal(struct {
		plain
		Best engine.JSONFloat `json:"best"`
	}{plain(p), engine.JSONFloat(p.Best)})
}

// SearchTrace is the study's best-so-far curve: a point per unit, in the
// order they finished (as stored), with the compute spent and the wall
// time since the first unit started. A configuration counts once all its
// folds are in, of Tier 0: not pruned (a pruned one's accuracy is an
// early epoch's) and no fold diverged. Units without a recorded finish (stored by an older mlpsweep)
// come last, in study order. Empty when no unit is found.
func SearchTrace(r sweeps.StudyResult) []SearchPoint {
	type unit struct {
		u      sweeps.UnitResult
		config int
	}
	var units []unit
	configs := r.Distinct()
	for i, c := range configs {
		for _, u := range c.Units {
			units = append(units, unit{u, i})
		}
	}
	slices.SortStableFunc(units, func(a, b unit) int {
		if (a.u.Finished == 0) != (b.u.Finished == 0) {
			return cmp.Compare(b.u.Finished, a.u.Finished) // recorded first
		}
		return cmp.Compare(a.u.Finished, b.u.Finished)
	})
	var first int64
	for _, u := range units {
		if s := u.u.Started; s > 0 && (first == 0 || s < first) {
			first = s
		}
	}
	left := map[int]int{} // folds of each configuration not finished yet
	for _, u := range units {
		left[u.config]++
	}
	var trace []SearchPoint
	p := SearchPoint{Best: math.NaN()}
	for _, u := range units {
		p.GFLOP += u.u.GFLOP
		if u.u.Finished > 0 && first > 0 {
			p.Seconds = float64(u.u.Finished-first) / 1e9
		}
		if left[u.config]--; left[u.config] == 0 {
			c := configs[u.config]
			if s := score(c); c.Tier() == 0 && !math.IsNaN(s) && (math.IsNaN(p.Best) || s > p.Best) {
				p.Best, p.Key = s, c.Key
			}
		}
		trace = append(trace, p)
	}
	return trace
}

// RungTable is a pruned study's decisions rung by rung: per bracket and
// rung, the epoch, how many configurations it judged and promoted, the
// scores' range and the cutoff (the lowest promoted score for successive
// halving; the last cutoff for ASHA and the median rule, which judge one
// configuration at a time). Empty without decisions.
func RungTable(r sweeps.StudyResult) Table {
	t := Table{Header: []string{"bracket", "rung", "epoch", "judged", "promoted", "best score", "cutoff"}}
	type rung struct{ bracket, rung int }
	var order []rung
	byRung := map[rung][]sweeps.Decision{}
	for _, d := range r.Decisions {
		k := rung{d.Bracket, d.Rung}
		if byRung[k] == nil {
			order = append(order, k)
		}
		byRung[k] = append(byRung[k], d)
	}
	slices.SortFunc(order, func(a, b rung) int { return cmp.Or(cmp.Compare(a.bracket, b.bracket), cmp.Compare(a.rung, b.rung)) })
	for _, k := range order {
		ds := byRung[k]
		promoted, best := 0, math.Inf(-1)
		for _, d := range ds {
			if d.Promoted {
				promoted++
			}
			best = max(best, d.Score)
		}
		t.Rows = append(t.Rows, TableRow{Cells: []string{strconv.Itoa(k.bracket), strconv.Itoa(k.rung), strconv.Itoa(ds[0].Epoch),
			strconv.Itoa(len(ds)), strconv.Itoa(promoted), formatScore(best), formatScore(ds[len(ds)-1].Cutoff)}})
	}
	return t
}

// formatScore is a rung score to 4 decimals, "—" when a fold diverged.
func formatScore(s float64) string {
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return "—"
	}
	return fmt.Sprintf("%.4f", s)
}

// prunedLine says how much of the study a pruner stopped, or "" without
// one: "pruned: 57 of 64 configurations (at epochs 1 … 9); 21 % of the
// epochs of training every configuration fully".
func prunedLine(r sweeps.StudyResult) string {
	if len(r.Decisions) == 0 {
		return ""
	}
	pruned, lo, hi := 0, math.MaxInt, 0
	trained, full := 0, 0
	configs := r.Distinct()
	for _, c := range configs {
		if c.PrunedAt > 0 {
			pruned++
			lo, hi = min(lo, c.PrunedAt), max(hi, c.PrunedAt)
		}
		for _, u := range c.Units {
			trained += len(u.Epochs)
		}
		full += r.Epochs * r.Folds
	}
	line := fmt.Sprintf("pruned: %d of %d configurations", pruned, len(configs))
	switch {
	case pruned > 0 && lo == hi:
		line += fmt.Sprintf(" (at epoch %d)", lo)
	case pruned > 0:
		line += fmt.Sprintf(" (at epochs %d … %d)", lo, hi)
	}
	if full > 0 {
		line += fmt.Sprintf("; %.0f %% of the epochs of training every configuration fully", 100*float64(trained)/float64(full))
	}
	return line
}

// SearchCurve is one study's best-so-far curve in SearchPlot.
type SearchCurve struct {
	Label string
	Trace []SearchPoint
}

// SearchPlot draws each study's best mean accuracy so far against the
// GEMM compute it spent (TFLOP; against the wall time in seconds with
// byTime), as steps; nil when no curve has a point.
func SearchPlot(title string, curves []SearchCurve, byTime bool) (*plot.Plot, error) {
	xLabel := "training GEMM compute (TFLOP)"
	if byTime {
		xLabel = "wall time (s)"
	}
	p := NewPlot(title, xLabel, "best held-out accuracy so far")
	p.Legend.Top = false
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	lo, hi, drawn := math.Inf(1), math.Inf(-1), false
	for i, c := range curves {
		var pts plotter.XYs
		for _, pt := range c.Trace {
			if math.IsNaN(pt.Best) {
				continue
			}
			x := pt.GFLOP / 1e3
			if byTime {
				x = pt.Seconds
			}
			pts = append(pts, plotter.XY{X: x, Y: pt.Best})
			lo, hi = min(lo, pt.Best), max(hi, pt.Best)
		}
		if len(pts) == 0 {
			continue
		}
		drawn = true
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.StepStyle = plotter.PostStep
		line.Color, line.Width, line.Dashes = plotutil.Color(i), vg.Points(1.6), plotutil.Dashes(i/len(plotutil.DefaultColors))
		p.Add(line)
		p.Legend.Add(c.Label, line)
	}
	if !drawn {
		return nil, nil
	}
	PadY(p, lo, hi)
	p.X.Min = 0 // the compute (or time) spent before the first configuration was trained fully shows
	return p, nil
}

// searchSection is the report's section on a search (a random, grid or
// TPE study, or any pruned one): the best-so-far plots against compute and
// wall time, and the rung table of a pruned study; ok is false for a
// one-axis study without a pruner, or when no unit recorded its compute.
func (v *studyView) searchSection() (s Section, ok bool) {
	r := v.r
	search := len(r.Decisions) > 0 || !slices.ContainsFunc(r.Configs, func(c sweeps.ConfigResult) bool {
		return c.Axis != "" && c.Axis != "random" && c.Axis != "grid" && c.Axis != "tpe"
	})
	trace := SearchTrace(r)
	if !search || len(trace) == 0 || trace[len(trace)-1].GFLOP == 0 {
		return s, false
	}
	s = Section{ID: "search", Title: "Search", Table: ToHTML(RungTable(r))}
	if line := prunedLine(r); line != "" {
		s.Notes = append(s.Notes, line)
	}
	last := trace[len(trace)-1]
	if !math.IsNaN(last.Best) {
		s.Best = fmt.Sprintf("best found: accuracy %.4f after %.3g TFLOP of training GEMMs", last.Best, last.GFLOP/1e3)
	}
	for _, byTime := range []bool{false, true} {
		alt := "best accuracy so far against compute"
		if byTime {
			alt = "best accuracy so far against wall time"
		}
		s.Figures = append(s.Figures, Figure{Alt: alt, Caption: alt, Plot: searchData(alt, []SearchCurve{{Label: r.Name, Trace: trace}}, byTime)})
	}
	return s, true
}

// searchData is SearchPlot as data for the page.
func searchData(title string, curves []SearchCurve, byTime bool) *Plot {
	p := &Plot{Title: title, XLabel: "training GEMM compute (TFLOP)", YLabel: "best held-out accuracy so far", Series: []Series{}}
	if byTime {
		p.XLabel = "wall time (s)"
	}
	for _, c := range curves {
		se := Series{Label: c.Label, Style: "line", X: []float64{}, Y: []float64{}}
		for _, pt := range c.Trace {
			x := pt.GFLOP / 1e3
			if byTime {
				x = pt.Seconds
			}
			se.add(x, pt.Best, false)
		}
		p.Series = append(p.Series, se)
	}
	return p
}
