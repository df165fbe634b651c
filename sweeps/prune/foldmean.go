package prune

import "math"

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
