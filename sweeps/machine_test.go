package sweeps

import (
	"slices"
	"testing"
)

// TestReuseChooses: of a unit's stored rows, a study under "1/avx512"
// takes its own done one, or pruned with a pruner; else (unless strict)
// one done under another ISA path of engine version 1, the first by
// identity; else its own in any other state; never another version's
// nor another path's unfinished one.
func TestReuseChooses(t *testing.T) {
	const want = "1/avx512"
	rows := func(s ...string) []Stored { // "state engine" pairs
		var out []Stored
		for i := 0; i < len(s); i += 2 {
			out = append(out, Stored{State: s[i], Engine: s[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		rows  []Stored
		reuse Reuse
		pick  Stored // zero: none
	}{
		{rows("done", "1/avx2", "done", want), Reuse{}, Stored{"done", want}},
		{rows("done", "1/generic", "done", "1/avx2"), Reuse{}, Stored{"done", "1/avx2"}},
		{rows("done", "1/avx2", "pruned", want), Reuse{}, Stored{"done", "1/avx2"}},
		{rows("done", "1/avx2", "pruned", want), Reuse{Pruned: true}, Stored{"pruned", want}},
		{rows("done", "1/avx2", "pruned", want), Reuse{Strict: true}, Stored{"pruned", want}},
		{rows("done", "1/avx2", "failed", want), Reuse{Pruned: true}, Stored{"done", "1/avx2"}},
		{rows("done", "1/avx2", "running", want), Reuse{}, Stored{"done", "1/avx2"}},
		{rows("done", "1/avx2"), Reuse{Strict: true}, Stored{}},
		{rows("done", "2/avx512", "pruned", "1/avx2", "failed", "1/avx2"), Reuse{Pruned: true}, Stored{}},
		{rows("running", want), Reuse{}, Stored{"running", want}},
	} {
		// Whatever order the rows come in.
		back := slices.Clone(c.rows)
		slices.Reverse(back)
		for _, order := range [][]Stored{c.rows, back} {
			var pick Stored
			for _, s := range order {
				if c.reuse.Better(s, pick, want) {
					pick = s
				}
			}
			if pick != c.pick {
				t.Errorf("%+v of %v: %+v, want %+v", c.reuse, order, pick, c.pick)
			}
		}
	}
}
