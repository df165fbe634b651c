package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestMigratesVersion2: a database at schema version 2 (the previous
// release's: no machine columns), opened as a sweep and as a report does,
// is brought to the current version; its units read back with an empty
// machine, and new units keep theirs.
func TestMigratesVersion2(t *testing.T) {
	v2 := map[string]string{"sqlite": releaseSchemaV2, "postgres": sqliteNames.Replace(migrations[0] + ";" + migrations[1])} // before prefixTables
	for _, b := range backends {
		for _, role := range []string{"writer", "reader"} {
			t.Run(b.name+"/"+role, func(t *testing.T) {
				open := b.writer
				if role == "reader" {
					open = b.reader
				}
				loc := b.fresh(t)
				b.exec(t, loc, v2[b.name], `INSERT INTO units (key, fold, split, seed, data_sha256, engine_version, state, accuracy, val_loss, diverged, error, epochs, extra, seconds, samples, study, finished)
					VALUES ('k', 1, 'sp', 9, 'd', '1/avx2', 'done', 0.125, NULL, 1, 'diverged', '[]', '{"a":1}', 2.5, 640, 'st', 1)`)
				b.setVersion(t, loc, 2)
				s, err := open(loc)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if v := schemaOf(t, b, loc); v != schemaVersion {
					t.Errorf("schema version %d after migration (want %d)", v, schemaVersion)
				}
				old := sweeps.UnitID{Key: "k", Fold: 1, Split: "sp", Seed: 9, Data: "d", Engine: "1/avx2"}
				u, state, err := s.Unit(old)
				if err != nil || state != "done" || u.Accuracy != 0.125 || u.Samples != 640 || !u.Diverged || u.Error != "diverged" || string(u.Extra) != `{"a":1}` ||
					u.Machine != (sweeps.Machine{}) || u.EngineVer != "1/avx2" {
					t.Fatalf("version-2 unit: %+v %q (%v)", u, state, err)
				}
				if role == "reader" {
					return
				}
				id := old
				id.Fold = 2
				m := sweeps.Machine{Host: "node-7", CPU: "Intel Xeon (family 6 model 85)", ISA: "avx2"}
				if err := s.SaveUnit(id, "st", sweeps.UnitResult{Accuracy: 0.5, Machine: m}); err != nil {
					t.Fatal(err)
				}
				if u, _, err := s.Unit(id); err != nil || u.Machine != m || u.Accuracy != 0.5 {
					t.Errorf("new unit: %+v (%v)", u, err)
				}
				h, points := testStudy(t, "new")
				if err := s.SaveStudy(h, points); err != nil {
					t.Fatal(err)
				}
				if _, pts, err := s.Study(context.Background(), "new"); err != nil || len(pts) != len(points) {
					t.Errorf("study: %d points (%v)", len(pts), err)
				}
			})
		}
	}
}

// otherISA stores, for the units of a study running under "1/avx512",
// rows computed elsewhere; see TestFindUnitsOfAnotherISA.
var (
	avx2Host   = sweeps.Machine{Host: "old-node", CPU: "Intel Xeon E5-2680 v4 (family 6 model 79)", ISA: "avx2"}
	avx512Host = sweeps.Machine{Host: "new-node", CPU: "AMD EPYC (family 25 model 17)", ISA: "avx512"}
)

func withEngine(id sweeps.UnitID, engine string) sweeps.UnitID {
	id.Engine = engine
	return id
}

// TestFindUnitsOfAnotherISA: strict, Find returns only the unit of the
// exact engine identity (Unit too); otherwise a unit done under another
// ISA path of the same engine version stands in when the exact one is not
// done (nor, in a study with a pruner, pruned: that study's pruner stopped
// it, and the queue's coordinator decides from it), the exact one first
// when both are, never another engine version or an unfinished unit.
func TestFindUnitsOfAnotherISA(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		s := mustOpen(t, b.writer, loc)
		base := sweeps.UnitID{Key: "k", Split: "sp", Seed: 1, Data: "d", Engine: "1/avx512"}
		unitAt := func(fold int) sweeps.UnitID { id := base; id.Fold = fold; return id }
		save := func(id sweeps.UnitID, acc float64, m sweeps.Machine, errMsg string) {
			t.Helper()
			if err := s.SaveUnit(id, "st", sweeps.UnitResult{Accuracy: acc, Machine: m, Error: errMsg}); err != nil {
				t.Fatal(err)
			}
		}
		// fold 5: pruned here after 3 epochs, done under avx2.
		save(withEngine(unitAt(5), "1/avx2"), 0.25, avx2Host, "")
		pruned := sweeps.UnitResult{Accuracy: 0.375, Machine: avx512Host, PrunedAt: 3, Epochs: make([]engine.EpochStats, 3)}
		if err := s.SaveUnit(unitAt(5), "st", pruned); err != nil {
			t.Fatal(err)
		}
		// fold 0: done under avx2 only; fold 1: done under both, and under
		// generic; fold 2: failed here, done under avx2; fold 3: done only
		// under another engine version; fold 4: running under avx2.
		save(withEngine(unitAt(0), "1/avx2"), 0.25, avx2Host, "")
		save(withEngine(unitAt(1), "1/avx2"), 0.25, avx2Host, "")
		save(withEngine(unitAt(1), "1/generic"), 0.125, avx2Host, "")
		save(unitAt(1), 0.5, avx512Host, "")
		save(unitAt(2), 0, avx512Host, "out of memory")
		save(withEngine(unitAt(2), "1/avx2"), 0.25, avx2Host, "")
		save(withEngine(unitAt(3), "2/avx2"), 0.25, avx2Host, "")
		if err := s.MarkRunning(withEngine(unitAt(4), "1/avx2"), "st", 1); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			fold   int
			reuse  sweeps.Reuse
			state  string
			engine string
			acc    float64
			m      sweeps.Machine
		}{
			{0, sweeps.Reuse{}, "done", "1/avx2", 0.25, avx2Host},
			{0, sweeps.Reuse{Strict: true}, "", "", 0, sweeps.Machine{}},
			{1, sweeps.Reuse{}, "done", "1/avx512", 0.5, avx512Host},
			{1, sweeps.Reuse{Strict: true}, "done", "1/avx512", 0.5, avx512Host},
			{2, sweeps.Reuse{}, "done", "1/avx2", 0.25, avx2Host},
			{2, sweeps.Reuse{Pruned: true}, "done", "1/avx2", 0.25, avx2Host},
			{2, sweeps.Reuse{Strict: true}, "failed", "1/avx512", 0, avx512Host},
			{3, sweeps.Reuse{}, "", "", 0, sweeps.Machine{}},
			{4, sweeps.Reuse{}, "", "", 0, sweeps.Machine{}},
			{5, sweeps.Reuse{}, "done", "1/avx2", 0.25, avx2Host},
			{5, sweeps.Reuse{Pruned: true}, "pruned", "1/avx512", 0.375, avx512Host},
			{5, sweeps.Reuse{Strict: true}, "pruned", "1/avx512", 0.375, avx512Host},
		} {
			u, state, err := s.Find(unitAt(tc.fold), tc.reuse)
			if err != nil || state != tc.state || u.EngineVer != tc.engine || u.Accuracy != tc.acc || u.Machine != tc.m {
				t.Errorf("fold %d %+v: %q %s %v %+v (%v); want %q %s %v %+v",
					tc.fold, tc.reuse, state, u.EngineVer, u.Accuracy, u.Machine, err, tc.state, tc.engine, tc.acc, tc.m)
			}
			if state == "pruned" && u.PrunedAt != 3 {
				t.Errorf("fold %d %+v: pruned at %d, want 3", tc.fold, tc.reuse, u.PrunedAt)
			}
			if tc.reuse.Strict {
				if v, vstate, err := s.Unit(unitAt(tc.fold)); err != nil || vstate != state || v.EngineVer != u.EngineVer {
					t.Errorf("fold %d: Unit gives %q %s, Find strict %q %s (%v)", tc.fold, vstate, v.EngineVer, state, u.EngineVer, err)
				}
			}
		}
	})
}

// TestLoadNotesMixedEngines: a study running under "1/avx512" whose store
// holds some units computed under "1/avx2" loads them unless strict, and
// its result lists both machines and warns of the mix; strict, those units
// are missing and there is no warning.
func TestLoadNotesMixedEngines(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		h, points := testStudy(t, "mixed")
		h.Engine = "1/avx512"
		s := mustOpen(t, b.writer, loc)
		if err := s.SaveStudy(h, points); err != nil {
			t.Fatal(err)
		}
		plan := sweeps.Plan(h, points) // 3 configurations × 2 folds
		for i, u := range plan {
			id, m := u.ID, avx512Host
			if i%3 == 0 {
				id, m = withEngine(id, "1/avx2"), avx2Host
			}
			if err := s.SaveUnit(id, h.Name, sweeps.UnitResult{Accuracy: 0.5, ValLoss: 0.5, Machine: m}); err != nil {
				t.Fatal(err)
			}
		}
		r, err := Load(context.Background(), s, h.Name, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []sweeps.MachineUnits{{Machine: avx512Host, Engine: "1/avx512", Units: 4}, {Machine: avx2Host, Engine: "1/avx2", Units: 2}}
		if r.Engine != "1/avx512" || len(r.Machines) != 2 || r.Machines[0] != want[0] || r.Machines[1] != want[1] {
			t.Errorf("machines %+v (engine %s); want %+v", r.Machines, r.Engine, want)
		}
		if n := foundUnits(r); n != 6 {
			t.Errorf("non-strict: %d units found, want 6", n)
		}
		if !strings.HasPrefix(r.EngineNote, "2 of 6 units were computed under another engine identity than the study's 1/avx512 (1/avx2: 2)") ||
			!strings.Contains(r.EngineNote, "--strict-engine") {
			t.Errorf("engine note %q", r.EngineNote)
		}

		r, err = Load(context.Background(), s, h.Name, true)
		if err != nil {
			t.Fatal(err)
		}
		if n := foundUnits(r); n != 4 || r.EngineNote != "" || len(r.Machines) != 1 || r.Machines[0] != want[0] {
			t.Errorf("strict: %d units, machines %+v, note %q", n, r.Machines, r.EngineNote)
		}
	})
}

func foundUnits(r sweeps.StudyResult) int {
	n := 0
	for _, c := range r.Configs {
		n += len(c.Units)
	}
	return n
}

// TestMergeShardsOfAnotherISA: shards run on hosts with other ISA paths of
// one engine version merge, listing the engines, and the merged study
// reads back whole with the mix noted; strict, merge refuses them and
// writes nothing; other engine versions are refused either way.
func TestMergeShardsOfAnotherISA(t *testing.T) {
	h, points := mergeHeader(t, mergeStudy)
	h.Engine = "1/avx512"
	h2 := h
	h2.Engine = "1/avx2"
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	writeShard(t, a, h, points, map[int]float64{0: 0.5, 1: 0.5})
	writeShard(t, b, h2, points, map[int]float64{2: 0.25, 3: 0.25, 1: 0.75})

	_, err := Merge(context.Background(), filepath.Join(root, "strict"), []string{a, b}, "", true)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "with engine 1/avx2, but") || !strings.Contains(err.Error(), "another ISA path") {
		t.Errorf("strict merge: %v", err)
	}
	if _, err := openSQLite(filepath.Join(root, "strict"), false); err == nil {
		t.Error("a refused merge wrote OUT")
	}

	out := filepath.Join(root, "out")
	res, err := Merge(context.Background(), out, []string{a, b}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	// Unit 1 is done in both: the first shard's row is kept, and results of
	// different ISA paths are expected to differ, not reported as differing.
	if res.Done != 4 || res.Missing != 0 || res.Duplicates != 1 || len(res.Differing) != 0 ||
		len(res.Engines) != 2 || res.Engines[0] != "1/avx512" || res.Engines[1] != "1/avx2" {
		t.Errorf("merge: %+v", res)
	}
	r, err := LoadStudy(context.Background(), out, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if n := foundUnits(r); n != 4 || r.Engine != "1/avx512" || !strings.HasPrefix(r.EngineNote, "2 of 4 units") {
		t.Errorf("merged: %d units, engine %s, note %q", n, r.Engine, r.EngineNote)
	}
	if c := r.Configs[0]; len(c.FoldAccuracies) != 2 || c.FoldAccuracies[1] != 0.5 {
		t.Errorf("unit 1 kept from the wrong shard: %v", c.FoldAccuracies)
	}
	if r, err := LoadStudy(context.Background(), out, "", true); err != nil || foundUnits(r) != 2 {
		t.Errorf("strict report of the merge: %d units (%v)", foundUnits(r), err)
	}

	// The output holds each unit's row of each engine identity, as one
	// store shared by the shards would: unit 1's under both paths (5
	// rows), and merging the avx2 shard alone again changes nothing.
	if n := strings.Count(dump(t, out), "\n"); n != 5 {
		t.Errorf("%d unit rows, want 5:\n%s", n, dump(t, out))
	}
	if res, err := Merge(context.Background(), out, []string{b}, "", false); err != nil || res.Written != 0 {
		t.Fatalf("merging the avx2 shard again: %+v, %v", res, err)
	}
	if n := strings.Count(dump(t, out), "\n"); n != 5 {
		t.Errorf("%d unit rows after merging again, want 5:\n%s", n, dump(t, out))
	}

	// A failed row under one path stays beside a done one under another,
	// which the study takes (sweeps.Reuse: rank 1 before 2).
	x, out3 := filepath.Join(root, "x"), filepath.Join(root, "out3")
	writeShard(t, x, h, points, map[int]float64{2: -1})
	res, err = Merge(context.Background(), out3, []string{x, b}, "", false)
	if err != nil || res.Done != 3 || res.Failed != 0 || res.Missing != 1 {
		t.Errorf("merging a failed and a done row of one unit: %+v, %v", res, err)
	}
	if d := dump(t, out3); strings.Count(d, "\n") != 4 || !strings.Contains(d, "out of memory") {
		t.Errorf("after merging a failed and a done row of one unit:\n%s", d)
	}
	if r, err := LoadStudy(context.Background(), out3, "", false); err != nil || foundUnits(r) != 3 || r.Configs[1].Units[0].Failed() {
		t.Errorf("the merged study takes the failed row: %+v (%v)", r.Configs, err)
	}

	h3 := h
	h3.Engine = "2/avx512"
	c := filepath.Join(root, "c")
	writeShard(t, c, h3, points, map[int]float64{0: 0.5})
	if _, err := Merge(context.Background(), filepath.Join(root, "v2"), []string{a, c}, "", false); !errors.Is(err, ErrMismatch) ||
		!strings.Contains(err.Error(), "another engine version") {
		t.Errorf("merge across engine versions: %v", err)
	}
}
