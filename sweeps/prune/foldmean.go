package prune

import (
	"math"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// FoldMeans is a configuration's score at each of its first n epochs: the
// mean over its folds' held-out accuracies (curves[f][e] is fold f's at
// epoch e+1), NaN at an epoch a fold did not reach (it stopped short:
// diverged or rejected). The local scheduler and the queue's coordinator
// both judge by it, so their decisions agree.
func FoldMeans(curves [][]float64, n int) []float64 {
	scores := make([]float64, n)
	for e := range n {
		sum := 0.0
		for _, acc := range curves {
			if e < len(acc) {
				sum += acc[e]
			} else {
				sum = math.NaN()
			}
		}
		scores[e] = sum / float64(len(curves))
	}
	return scores
}

// Scores is a configuration's score at each epoch all its folds reached
// (FoldMeans up to there): curves[f] is fold f's held-out accuracies so
// far, and a fold that stopped short (stopped[f]: finished before the
// study's epochs, by divergence or failure) holds none back: its later
// epochs score NaN. What a run Reports from the store.
func Scores(curves [][]float64, stopped []bool, epochs int) []float64 {
	n := epochs
	for f, acc := range curves {
		if !stopped[f] {
			n = min(n, len(acc))
		}
	}
	return FoldMeans(curves, n)
}

// FoldKey is a unit of a study by its configuration and fold.
type FoldKey struct {
	Key  string
	Fold int
}

// Accuracies are the held-out accuracies of a study's units as the store
// holds them (its EpochScores, each unit's epochs in order), each from the
// first epoch to the first missing or not scored.
func Accuracies(scores []sweeps.EpochScore) map[FoldKey][]float64 {
	acc := map[FoldKey][]float64{}
	for _, e := range scores {
		u := FoldKey{e.Key, e.Fold}
		if e.Epoch == len(acc[u])+1 && !math.IsNaN(e.Accuracy) {
			acc[u] = append(acc[u], e.Accuracy)
		}
	}
	return acc
}
