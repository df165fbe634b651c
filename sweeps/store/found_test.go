package store

import (
	"context"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestFindStates: FindStates chooses as Find does, for many units at once:
// a unit's own done row (or pruned, with a pruner); else, unless strict,
// one done under another ISA path of its engine version, the first by
// engine identity, never another version's; else its own row in any
// state.
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
	save := func(id sweeps.UnitID, state string) {
		t.Helper()
		u := sweeps.UnitResult{Accuracy: 0.5}
		switch state {
		case "failed":
			u = sweeps.UnitResult{Error: "boom"}
		case "pruned":
			u.PrunedAt = 1
		}
		if err := s.SaveUnit(id, "st", u); err != nil {
			t.Fatal(err)
		}
	}
	save(id("own", "1/avx512"), "done")
	save(id("own", "1/avx2"), "done")
	save(id("other", "1/generic"), "done")
	save(id("other", "1/avx2"), "done")
	save(id("other", "1/avx512"), "failed")
	save(id("version", "2/avx2"), "done")
	save(id("pruned", "1/avx512"), "pruned")
	save(id("pruned", "1/avx2"), "done")
	if err := s.MarkRunning(id("running", "1/avx512"), "st", 1); err != nil {
		t.Fatal(err)
	}
	fu := func(state, engine string) FoundUnit { return FoundUnit{State: state, Engine: engine} }
	ids := []sweeps.UnitID{id("own", "1/avx512"), id("other", "1/avx512"), id("version", "1/avx512"), id("running", "1/avx512"), id("none", "1/avx512"), id("pruned", "1/avx512")}
	for _, c := range []struct {
		reuse sweeps.Reuse
		want  map[string]FoundUnit
	}{
		{sweeps.Reuse{}, map[string]FoundUnit{"own": fu("done", "1/avx512"), "other": fu("done", "1/avx2"), "running": fu("running", "1/avx512"), "pruned": fu("done", "1/avx2")}},
		{sweeps.Reuse{Pruned: true}, map[string]FoundUnit{"own": fu("done", "1/avx512"), "other": fu("done", "1/avx2"), "running": fu("running", "1/avx512"), "pruned": fu("pruned", "1/avx512")}},
		{sweeps.Reuse{Strict: true}, map[string]FoundUnit{"own": fu("done", "1/avx512"), "other": fu("failed", "1/avx512"), "running": fu("running", "1/avx512"), "pruned": fu("pruned", "1/avx512")}},
	} {
		got, err := pg.FindStates(context.Background(), ids, c.reuse)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Errorf("%+v: %v, want %v", c.reuse, got, c.want)
		}
		for _, i := range ids {
			if got[i] != c.want[i.Key] {
				t.Errorf("%+v: %s: %+v, want %+v", c.reuse, i.Key, got[i], c.want[i.Key])
			}
			// Find, one unit at a time, takes the same.
			if u, state, err := pg.Find(i, c.reuse); err != nil || state != c.want[i.Key].State && c.want[i.Key].State != "running" || state != "" && u.EngineVer != c.want[i.Key].Engine {
				t.Errorf("%+v: %s: Find %q %s (%v), FindStates %+v", c.reuse, i.Key, state, u.EngineVer, err, c.want[i.Key])
			}
		}
	}
}
