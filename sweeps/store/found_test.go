package store

import (
	"context"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestFindStates: FindStates chooses as Find does, for many units at once:
// a unit's own done row; else, unless strict, one done under another ISA
// path of its engine version, the first by engine identity, never another
// version's; else its own row in any state.
func TestFindStates(t *testing.T) {
	s, err := Open(context.Background(), storetest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pg := s.(*Postgres)
	id := func(key, engine string) sweeps.UnitID {
		return sweeps.UnitID{Key: key, Split: "sp", Seed: 1, Data: "d", Engine: engine}
	}
	save := func(id sweeps.UnitID, failed bool) {
		t.Helper()
		u := sweeps.UnitResult{Accuracy: 0.5}
		if failed {
			u = sweeps.UnitResult{Error: "boom"}
		}
		if err := s.SaveUnit(id, "st", u); err != nil {
			t.Fatal(err)
		}
	}
	save(id("own", "1/avx512"), false)
	save(id("own", "1/avx2"), false)
	save(id("other", "1/avx2"), false)
	save(id("other", "1/generic"), false)
	save(id("other", "1/avx512"), true)
	save(id("version", "2/avx2"), false)
	if err := s.MarkRunning(id("running", "1/avx512"), "st", 1); err != nil {
		t.Fatal(err)
	}
	ids := []sweeps.UnitID{id("own", "1/avx512"), id("other", "1/avx512"), id("version", "1/avx512"), id("running", "1/avx512"), id("none", "1/avx512")}
	for _, c := range []struct {
		strict bool
		want   map[string]FoundUnit
	}{
		{false, map[string]FoundUnit{"own": {"done", "1/avx512"}, "other": {"done", "1/avx2"}, "running": {"running", "1/avx512"}}},
		{true, map[string]FoundUnit{"own": {"done", "1/avx512"}, "other": {"failed", "1/avx512"}, "running": {"running", "1/avx512"}}},
	} {
		got, err := pg.FindStates(context.Background(), ids, c.strict)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Errorf("strict %v: %v, want %v", c.strict, got, c.want)
		}
		for _, i := range ids {
			if got[i] != c.want[i.Key] {
				t.Errorf("strict %v: %s: %+v, want %+v", c.strict, i.Key, got[i], c.want[i.Key])
			}
		}
	}
}
