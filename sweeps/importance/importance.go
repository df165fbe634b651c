// Package importance measures how much each hyperparameter of a study
// mattered, by PED-ANOVA (Watanabe et al., "PED-ANOVA: Efficiently
// Quantifying Hyperparameter Importance in Arbitrary Subspaces", IJCAI
// 2023), the default of Optuna 5's importance module, with its defaults:
//
// The top 10 % of the trials, and at least the best two (by value; ties at
// the cutoff included), are the target set. For each parameter, a Parzen estimator over a grid of its
// range (50 cells for reals; each value for ints with fewer, each choice for
// categorical parameters) is fitted to the target trials' values (p_top) and
// to all trials' (p_all), with Scott's rule for the bandwidth; the
// parameter's importance is the Pearson divergence
//
//	Σ_cells p_all · (p_top / p_all − 1)² · (|target| / |all|)²,
//
// large when the good trials sit in a part of the range the study as a whole
// did not favour. The shares (importances over their sum) are what Optuna's
// get_param_importances reports by default.
package importance

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/mlpsweep/mlpsweep/internal/gauss"
	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// Trial is one configuration's values (as in tpe.Trial: a value per
// parameter, a choice's index) and its objective.
type Trial struct {
	X     []float64
	Value float64
}

// Options tune the evaluation; the zero value minimizes with Optuna's
// defaults.
type Options struct {
	Maximize       bool    // the objective is better higher (accuracy)
	TargetQuantile float64 // the fraction of best trials whose distribution is compared with all; 0 means 0.1
}

// Result is one parameter's importance.
type Result struct {
	Param      string  `json:"param"`
	Importance float64 `json:"importance"` // share of the sum over parameters, in [0, 1]
	Divergence float64 `json:"pearson_divergence"`
}

// Grid sizes and the estimator's prior, as Optuna's PED-ANOVA sets them.
const (
	gridSteps   = 50
	priorWeight = 1.0
	tiny        = 1e-12 // added to both densities so empty cells compare
)

// PEDANOVA returns each parameter's importance, most important first
// (space order among equals). Trials with a NaN or infinite value are left
// out; with two or fewer left every importance is 0, as in Optuna.
func PEDANOVA(space []tpe.Param, trials []Trial, opt Options) ([]Result, error) {
	if len(space) == 0 {
		return nil, errors.New("importance: no parameters")
	}
	q := opt.TargetQuantile
	if q == 0 {
		q = 0.1
	}
	if !(q > 0 && q < 1) {
		return nil, fmt.Errorf("importance: target quantile %v not in (0, 1)", q)
	}
	var kept []Trial
	for i, t := range trials {
		if len(t.X) != len(space) {
			return nil, fmt.Errorf("importance: trial %d has %d values for %d parameters", i, len(t.X), len(space))
		}
		for d, p := range space {
			x := t.X[d]
			bad := math.IsNaN(x) || math.IsInf(x, 0) || p.Kind == tpe.LogUniform && x <= 0
			if p.Kind == tpe.Choice {
				bad = x != math.Trunc(x) || x < 0 || x >= float64(p.Choices)
			}
			if bad {
				return nil, fmt.Errorf("importance: trial %d: %v is not a value of %s %s", i, x, p.Kind, p.Name)
			}
		}
		if !math.IsNaN(t.Value) && !math.IsInf(t.Value, 0) {
			kept = append(kept, t)
		}
	}
	out := make([]Result, len(space))
	for d, p := range space {
		out[d].Param = p.Name
	}
	if len(kept) <= minTop {
		return out, nil
	}
	top := topQuantile(kept, q, opt.Maximize)
	scale := float64(len(top)) / float64(len(kept))
	var total float64
	for d, p := range space {
		all, topCounts := gridCounts(p, kept, d), gridCounts(p, top, d)
		categorical := p.Kind == tpe.Choice
		pAll, pTop := gridDensity(categorical, all), gridDensity(categorical, topCounts)
		var div float64
		for c := range pAll {
			a, t := pAll[c]+tiny, pTop[c]+tiny
			div += a * (t/a - 1) * (t/a - 1)
		}
		out[d].Divergence = div * scale * scale
		total += out[d].Divergence
	}
	if total > 0 {
		for d := range out {
			out[d].Importance = out[d].Divergence / total
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int {
		switch {
		case a.Divergence > b.Divergence:
			return -1
		case a.Divergence < b.Divergence:
			return 1
		}
		return 0
	})
	return out, nil
}

// minTop is the fewest trials of the target set (Optuna's
// min_n_top_trials): a target set of one trial has every parameter at
// one value, so every parameter would look equally important.
const minTop = 2

// topQuantile keeps the trials at least as good as the ⌈q·n⌉-th best,
// and at least as good as the minTop-th best (len(trials) > minTop).
func topQuantile(trials []Trial, q float64, maximize bool) []Trial {
	loss := func(t Trial) float64 {
		if maximize {
			return -t.Value
		}
		return t.Value
	}
	losses := make([]float64, len(trials))
	for i, t := range trials {
		losses[i] = loss(t)
	}
	slices.Sort(losses)
	cutoff := losses[max(int(math.Ceil(q*float64(len(trials)))), minTop)-1]
	var top []Trial
	for _, t := range trials {
		if loss(t) <= cutoff {
			top = append(top, t)
		}
	}
	return top
}

// gridCells is the number of cells of p's grid: a cell per choice, a cell
// per integer of an int range narrower than 50, else 50 evenly spaced
// cells over the range (in log space for log_uniform).
func gridCells(p tpe.Param) int {
	switch p.Kind {
	case tpe.Choice:
		return p.Choices
	case tpe.Int:
		return min(int(math.Round(p.High-p.Low))+1, gridSteps)
	}
	return gridSteps
}

// gridCounts counts the trials' values of parameter d in each cell of its
// grid; a value goes to the nearest cell centre (the lower on a tie).
func gridCounts(p tpe.Param, trials []Trial, d int) []float64 {
	cells := gridCells(p)
	counts := make([]float64, cells)
	lo, hi := p.Low, p.High
	if p.Kind == tpe.LogUniform {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	for _, t := range trials {
		x := t.X[d]
		if p.Kind == tpe.Choice {
			counts[int(x)]++
			continue
		}
		if p.Kind == tpe.LogUniform {
			x = math.Log(x)
		}
		i := 0
		if cells > 1 {
			i = int(math.Ceil((x-lo)/((hi-lo)/float64(cells-1)) - 0.5))
		}
		counts[min(max(i, 0), cells-1)]++
	}
	return counts
}

// gridDensity is the density on the grid's cells of a Parzen estimator
// fitted to the counts: one kernel per occupied cell, weighted by its count,
// and a prior of weight 1. Cells of a categorical parameter get Optuna's
// categorical kernels; ordered cells a normal discretized to the cells with
// Scott's bandwidth (at least 0.5/1.64 cells, so 90 % of a kernel stays in
// its cell's neighbourhood), the prior as wide as the grid.
func gridDensity(categorical bool, counts []float64) []float64 {
	cells := len(counts)
	var obs, w []float64
	var total float64
	for c, n := range counts {
		if n > 0 {
			obs = append(obs, float64(c))
			w = append(w, n)
			total += n
		}
	}
	m := len(obs) + 1 // kernels: the occupied cells and the prior
	mix := append(slices.Clone(w), priorWeight)
	if len(obs) == 0 {
		mix = []float64{1}
	}
	var mixTotal float64
	for _, x := range mix {
		mixTotal += x
	}
	density := make([]float64, cells)
	if categorical {
		for k, wk := range mix {
			row := make([]float64, cells)
			var sum float64
			for c := range row {
				if len(obs) > 0 {
					row[c] = priorWeight / float64(m)
				} else {
					row[c] = 1
				}
				if k < len(obs) && int(obs[k]) == c {
					row[c]++
				}
				sum += row[c]
			}
			for c := range row {
				density[c] += wk / mixTotal * row[c] / sum
			}
		}
		return density
	}
	sigma := 0.5 / 1.64
	if len(obs) > 0 {
		sigma = max(scott(obs, w, total), sigma)
	}
	lo, hi := -0.5, float64(cells)-0.5
	for k, wk := range mix {
		mu, s := float64(cells-1)/2, float64(cells) // the prior
		if k < len(obs) {
			mu, s = obs[k], sigma
		}
		logZ := gauss.LogMass((lo-mu)/s, (hi-mu)/s)
		for c := range density {
			x := float64(c)
			density[c] += wk / mixTotal * math.Exp(gauss.LogMass((x-0.5-mu)/s, (x+0.5-mu)/s)-logZ)
		}
	}
	return density
}

// scott is Scott's rule for the bandwidth of weighted sorted observations:
// 1.059 · min(IQR/1.34, σ) · n^(-1/5), n the total weight.
func scott(obs, w []float64, total float64) float64 {
	var mean float64
	for i, x := range obs {
		mean += x * w[i]
	}
	mean /= total
	var ss float64
	for i, x := range obs {
		ss += (x - mean) * (x - mean) * w[i]
	}
	sd := math.Sqrt(ss / max(1, total-1))
	cum := make([]float64, len(w))
	var c float64
	for i, x := range w {
		c += x
		cum[i] = c
	}
	// the quartiles' indices as numpy's searchsorted on the cumulative weights
	q1 := firstIndex(cum, func(x float64) bool { return x >= math.Floor(total/4) })
	q3 := firstIndex(cum, func(x float64) bool { return x > math.Floor(total*3/4) })
	iqr := obs[min(len(obs)-1, q3)] - obs[min(len(obs)-1, q1)]
	return 1.059 * min(iqr/1.34, sd) * math.Pow(total, -0.2)
}

// firstIndex is the first i with ok(xs[i]), or len(xs).
func firstIndex(xs []float64, ok func(float64) bool) int {
	for i, x := range xs {
		if ok(x) {
			return i
		}
	}
	return len(xs)
}
