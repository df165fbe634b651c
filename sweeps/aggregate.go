package sweeps

import (
	"math"

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

// rank sets Rank: 1 + the number of distinct configurations ranked
// strictly higher, so a configuration shown on several axes has one rank:
// those a pruner stopped rank after those trained every epoch (their
// accuracy is an early one), each set by mean accuracy. Configurations
// without any accuracy get rank 0.
func setRanks(configs []ConfigResult) {
	type standing struct {
		pruned bool
		mean   float64
	}
	above := func(a, b standing) bool { return !a.pruned && b.pruned || a.pruned == b.pruned && a.mean > b.mean }
	ranked := map[string]standing{} // key → its standing
	for _, c := range configs {
		if len(c.FoldAccuracies) > 0 {
			ranked[c.Key] = standing{c.PrunedAt > 0, c.MeanAccuracy}
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
