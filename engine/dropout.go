package engine

import (
	"math"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// dropoutMask fills mask [n] for inverted dropout at rate cfg.Dropout:
// each element independently 0 with probability rate, else 1/(1−rate).
// An element is kept when a uniform 32-bit draw is ≥ rate·2³² (two draws
// per 64-bit PCG output).
func (m *Model) dropoutMask(mask []float32) {
	rate := m.cfg.Dropout
	threshold := uint32(math.Min(rate*(1<<32), math.MaxUint32))
	keep := float32(1 / (1 - rate))
	var bits uint64
	for i := range mask {
		if i%2 == 0 {
			bits = m.dropoutRNG.rng.Uint64()
		} else {
			bits >>= 32
		}
		if uint32(bits) >= threshold {
			mask[i] = keep
		} else {
			mask[i] = 0
		}
	}
}

// dropoutForward writes a = y ⊙ mask, all [n].
func dropoutForward(y, mask, a []float32) {
	copy(a, y)
	kernels.Mul(a, mask)
}

// dropoutBackward turns da [n], the gradient w.r.t. the dropout output,
// into the gradient w.r.t. its input in place: da ⊙= mask.
func dropoutBackward(da, mask []float32) {
	kernels.Mul(da, mask)
}
