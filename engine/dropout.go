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
	values := [2]float32{0, float32(1 / (1 - rate))} // dropped, kept
	src := &m.dropoutRNG.src                         // the stream's PCG itself: no interface call per draw
	i := 0
	for ; i+1 < len(mask); i += 2 {
		bits := src.Uint64()
		mask[i] = values[b2i(uint32(bits) >= threshold)]
		mask[i+1] = values[b2i(uint32(bits>>32) >= threshold)]
	}
	if i < len(mask) {
		mask[i] = values[b2i(uint32(src.Uint64()) >= threshold)]
	}
}

// b2i is 1 for true, 0 for false (compiled without a branch).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
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
