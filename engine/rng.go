package engine

import "math/rand/v2"

// Random streams: one PCG per job, so that e.g. turning dropout on leaves
// the initial weights and the shuffles unchanged. The initial weights and
// the dropout masks come from cfg.Seed; the epoch shuffles from the shuffle
// seed (cfg.Seed unless set otherwise: Model.SetShuffleSeed, NewGroup).
const (
	streamInit    = 0x696e6974 // "init": initial weights
	streamShuffle = 0x73687566 // "shuf": epoch permutations
	streamDropout = 0x64726f70 // "drop": dropout masks
)

// pcgStream is a random stream that can be restarted in place: rand.Rand
// keeps no state of its own, so reseeding src restarts the stream exactly
// as a fresh rand.New(rand.NewPCG(seed, stream)) would, without allocating.
type pcgStream struct {
	src rand.PCG
	rng *rand.Rand // reads src
}

// seed restarts s as the stream PCG(seed, stream).
func (s *pcgStream) seed(seed int64, stream uint64) {
	s.src.Seed(uint64(seed), stream)
	if s.rng == nil {
		s.rng = rand.New(&s.src)
	}
}

// shuffle permutes order in place (Fisher–Yates).
func shuffle(r *rand.Rand, order []int) {
	for i := len(order) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		order[i], order[j] = order[j], order[i]
	}
}
