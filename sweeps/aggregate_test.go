package sweeps

import (
	"slices"
	"testing"
)

// TestRanksPutDivergedLast: a configuration with a diverged fold ranks
// after those trained fully and those a pruner stopped, whatever its
// accuracy (a model whose loss blew up scores about chance, and may beat
// another poor one), so the best configuration, and a refit's, is one
// that trained. Defect: lr=1e12 (diverged, 0.0955) was the best over
// lr=1e6 (0.0925) and was refit, saving no model.
func TestRanksPutDivergedLast(t *testing.T) {
	cfg := func(key string, mean float64, prunedAt int, diverged bool) ConfigResult {
		return ConfigResult{Key: key, MeanAccuracy: mean, PrunedAt: prunedAt, FoldAccuracies: []float64{mean},
			Units: []UnitResult{{PrunedAt: prunedAt, Diverged: diverged, Accuracy: mean}}}
	}
	configs := []ConfigResult{cfg("diverged", 0.0955, 0, true), cfg("full", 0.0925, 0, false),
		cfg("pruned", 0.5, 1, false), cfg("both", 0.9, 1, true), cfg("full2", 0.2, 0, false)}
	setRanks(configs)
	var got []int
	for _, c := range configs {
		got = append(got, c.Rank)
	}
	if want := []int{5, 2, 3, 4, 1}; !slices.Equal(got, want) {
		t.Errorf("ranks %v, want %v (trained fully, then pruned, then diverged)", got, want)
	}
}

