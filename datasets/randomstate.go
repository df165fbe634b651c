package datasets

// RandomState reproduces numpy's legacy numpy.random.RandomState for the
// few methods scikit-learn's KFold needs, bit for bit: the MT19937
// generator seeded with init_genrand, the 53-bit random_sample double, and
// shuffle/permutation built on the legacy random_interval rejection
// sampler. (numpy/random/src/mt19937 and numpy/random/src/legacy.)
type RandomState struct {
	mt  [mtN]uint32 // generator state
	mti int         // next state word to temper; mtN = regenerate first
}

// MT19937 constants (Matsumoto & Nishimura, 1998).
const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// NewRandomState returns the generator numpy's RandomState(seed) builds for an
// integer seed (init_genrand).
func NewRandomState(seed uint32) *RandomState {
	rs := &RandomState{}
	rs.mt[0] = seed
	for i := 1; i < mtN; i++ {
		rs.mt[i] = 1812433253*(rs.mt[i-1]^(rs.mt[i-1]>>30)) + uint32(i)
	}
	rs.mti = mtN
	return rs
}

// Uint32 returns the next tempered 32-bit output of MT19937.
func (rs *RandomState) Uint32() uint32 {
	if rs.mti >= mtN {
		rs.regenerate()
	}
	y := rs.mt[rs.mti]
	rs.mti++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// regenerate refills the whole state block (the "twist").
func (rs *RandomState) regenerate() {
	mag01 := [2]uint32{0, mtMatrixA}
	for k := 0; k < mtN; k++ {
		y := rs.mt[k]&mtUpperMask | rs.mt[(k+1)%mtN]&mtLowerMask
		rs.mt[k] = rs.mt[(k+mtM)%mtN] ^ y>>1 ^ mag01[y&1]
	}
	rs.mti = 0
}

// Uint64 is numpy's mt19937_next64: two 32-bit outputs, the first one high.
func (rs *RandomState) Uint64() uint64 {
	hi := uint64(rs.Uint32())
	return hi<<32 | uint64(rs.Uint32())
}

// RandomSample is RandomState.random_sample(): a double in [0, 1) from two
// outputs, a = 27 high bits and b = 26 high bits, (a·2²⁶ + b) / 2⁵³.
func (rs *RandomState) RandomSample() float64 {
	a := rs.Uint32() >> 5
	b := rs.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// randomInterval is numpy's random_interval(max): a uniform integer in
// [0, max] by masking draws to the smallest covering power of two minus one
// and rejecting values above max. 32-bit draws when max fits in 32 bits.
func (rs *RandomState) randomInterval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	for shift := uint(1); shift <= 32; shift *= 2 {
		mask |= mask >> shift
	}
	if max <= 0xffffffff {
		for {
			if v := uint64(rs.Uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := rs.Uint64() & mask; v <= max {
			return v
		}
	}
}

// Shuffle is RandomState.shuffle on a 1-d array: Fisher–Yates from the end,
// swapping x[i] with x[random_interval(i)] for i = n−1 … 1.
func (rs *RandomState) Shuffle(x []int) {
	for i := len(x) - 1; i > 0; i-- {
		j := rs.randomInterval(uint64(i))
		x[i], x[j] = x[j], x[i]
	}
}

// Permutation is RandomState.permutation(n): 0..n−1 shuffled.
func (rs *RandomState) Permutation(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	rs.Shuffle(p)
	return p
}
