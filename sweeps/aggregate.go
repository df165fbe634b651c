package sweeps

import (
	"math"
	"slices"

	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Summarize gathers a point's units (in fold order) into its ConfigResult.
// A unit that failed without a result (Error set, not diverged) is listed in
// Units but has no accuracy; a diverged unit counts with the accuracy its
// model scored as it was when training stopped.
func Summarize(pt study.Point, units []UnitResult) ConfigResult {
	if units == nil {
		units = []UnitResult{} // JSON [] for a configuration none of whose units has run yet: the page reads units.length
	}
	c := ConfigResult{Axis: pt.Axis, Value: pt.Value, Key: pt.Params.Key(), Params: pt.Params, Units: units, FoldAccuracies: []float64{}}
	var losses []float64
	for _, u := range units {
		c.Seconds += u.Seconds
		c.PrunedAt = max(c.PrunedAt, u.PrunedAt)
		if u.Failed() {
			continue
		}
		c.FoldAccuracies = append(c.FoldAccuracies, u.Accuracy)
		losses = append(losses, u.ValLoss)
	}
	c.MeanAccuracy, c.StdAccuracy = MeanStd(c.FoldAccuracies)
	c.MeanValLoss, _ = MeanStd(losses)
	return c
}

// MeanStd returns the mean and the population standard deviation (numpy's
// default, ddof 0) of xs; 0 for both when xs is empty.
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// Tier is what ranks configurations before their mean accuracy, the
// lower first: 0 trained every epoch, 1 stopped by a pruner (its accuracy
// is an early epoch's), 2 with a fold that diverged (its accuracy is a
// model's whose loss became NaN or infinite; the pruners score such a
// fold −Inf), so a diverged configuration is never the best, nor refit,
// while another one has a result.
func (c ConfigResult) Tier() int {
	switch {
	case slices.ContainsFunc(c.Units, func(u UnitResult) bool { return u.Diverged }):
		return 2
	case c.PrunedAt > 0:
		return 1
	}
	return 0
}

// rank sets Rank: 1 + the number of distinct configurations ranked
// strictly higher, so a configuration shown on several axes has one rank:
// by Tier, then by mean accuracy. Configurations without any accuracy get
// rank 0.
func setRanks(configs []ConfigResult) {
	type standing struct {
		tier int
		mean float64
	}
	above := func(a, b standing) bool { return a.tier < b.tier || a.tier == b.tier && a.mean > b.mean }
	ranked := map[string]standing{} // key → its standing
	for _, c := range configs {
		if len(c.FoldAccuracies) > 0 {
			ranked[c.Key] = standing{c.Tier(), c.MeanAccuracy}
		}
	}
	for i := range configs {
		m, ok := ranked[configs[i].Key]
		configs[i].Rank = 0
		if !ok {
			continue
		}
		configs[i].Rank = 1
		for _, other := range ranked {
			if above(other, m) {
				configs[i].Rank++
			}
		}
	}
}

// Distinct returns the study's configurations each once, in study order:
// a configuration shown on several axes counts once (its first point).
func (r StudyResult) Distinct() []ConfigResult {
	var out []ConfigResult
	seen := map[string]bool{}
	for _, c := range r.Configs {
		if !seen[c.Key] {
			seen[c.Key] = true
			out = append(out, c)
		}
	}
	return out
}
