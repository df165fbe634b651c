package scheduler

import (
	"math"
	"testing"
)

// TestPickWidth: the fused width with the least time per member step
// wins; training alone only when at least 5 % faster than it, so that a
// near tie (the machine's noise) keeps fusion on.
func TestPickWidth(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		perMember []float64 // µs per member step at 1, 2, 4, … members
		want      int
	}{
		{[]float64{100, 97, 94, 92, 93}, 3},     // fusion pays: the fastest width
		{[]float64{100, 104, 103, 106}, 2},      // fused 3 % slower: within the noise, fused
		{[]float64{90, 100, 96, 101}, 0},        // alone 6 % faster: alone
		{[]float64{629, 553, 573, 546, 591}, 3}, // calibrate's timings on a busy Zen 4 (cold batches)
		{[]float64{100, inf, inf}, 0},           // the engine rejected the fused models
		{[]float64{100}, 0},                     // one unit: nothing to fuse
		{nil, 0},
	} {
		if got := pickWidth(tc.perMember); got != tc.want {
			t.Errorf("pickWidth(%v) = %d, want %d", tc.perMember, got, tc.want)
		}
	}
}
