package engine

import "math/rand/v2"

// Random streams: one PCG per job, all seeded from cfg.Seed, so that e.g.
// turning dropout on leaves the initial weights and the shuffles unchanged.
const (
	streamInit    = 0x696e6974 // "init": initial weights
	streamShuffle = 0x73687566 // "shuf": epoch permutations
	streamDropout = 0x64726f70 // "drop": dropout masks
)

func newStream(seed int64, stream uint64) *rand.Rand {
	return rand.New(newSource(seed, stream))
}

// newSource is the stream's source; a Model keeps it beside its generator
// for checkpoints, which save its state (rand.Rand keeps none of its own).
func newSource(seed int64, stream uint64) *rand.PCG {
	return rand.NewPCG(uint64(seed), stream)
}

// shuffle permutes order in place (Fisher–Yates).
func shuffle(r *rand.Rand, order []int) {
	for i := len(order) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		order[i], order[j] = order[j], order[i]
	}
}
