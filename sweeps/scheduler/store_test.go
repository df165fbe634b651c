package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// forEachStore runs test on SQLite (url "") and on a fresh PostgreSQL
// database (skipped without MLPSWEEP_TEST_POSTGRES); dir is an empty
// output directory either way.
func forEachStore(t *testing.T, test func(t *testing.T, dir, url string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, t.TempDir(), "") })
	t.Run("postgres", func(t *testing.T) { test(t, t.TempDir(), storetest.Postgres(t)) })
}

// openStore opens the PostgreSQL database at url for Options.Store, closed
// when the test ends; nil (dir's SQLite store) when url is "".
func openStore(t testing.TB, dir, url string) store.Store {
	t.Helper()
	if url == "" {
		return nil
	}
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// readStore opens the store a run with dir and url wrote, to read it.
func readStore(t testing.TB, dir, url string) store.Store {
	t.Helper()
	if s := openStore(t, dir, url); s != nil {
		return s
	}
	s, err := store.Open(context.Background(), dir, store.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storeStates counts the stored units by state.
func storeStates(t testing.TB, dir, url string) map[string]int {
	t.Helper()
	states, err := readStore(t, dir, url).States()
	if err != nil {
		t.Fatal(err)
	}
	return states
}

// loadStudy reads a study back from the store.
func loadStudy(t testing.TB, dir, url, name string) sweeps.StudyResult {
	t.Helper()
	r, err := store.Load(context.Background(), readStore(t, dir, url), name, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runOn runs s into the store of dir and url.
func runOn(t testing.TB, s string, data *datasets.Dataset, dir, url string, workers int) sweeps.StudyResult {
	t.Helper()
	r, err := RunStudy(context.Background(), parse(t, s), data, Options{Dir: dir, Store: openStore(t, dir, url), Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStoresGiveTheSameStudy: a study run on PostgreSQL gives bit for bit
// the numbers it gives on SQLite; a rerun reuses every unit, another study
// the units it shares, and what loads back from either store equals the
// run.
func TestStoresGiveTheSameStudy(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	ref := run(t, parse(t, tinyStudy), data, t.TempDir(), 2)
	other := strings.Replace(strings.Replace(tinyStudy, "name: tiny", "name: other", 1), "[sgd, adam]", "[sgd, rmsprop]", 1)
	forEachStore(t, func(t *testing.T, dir, url string) {
		first := runOn(t, tinyStudy, data, dir, url, 2)
		if first.UnitsRun != 9 || !sameBits(numbers(first), numbers(ref)) {
			t.Errorf("ran %d units; numbers equal SQLite's: %v", first.UnitsRun, sameBits(numbers(first), numbers(ref)))
		}
		again := runOn(t, tinyStudy, data, dir, url, 2)
		if again.UnitsRun != 0 || again.UnitsReused != 9 || !sameBits(numbers(again), numbers(ref)) {
			t.Errorf("rerun trained %d and reused %d units, want 0 and 9", again.UnitsRun, again.UnitsReused)
		}
		o := runOn(t, other, data, dir, url, 2)
		if o.UnitsTotal != 12 || o.UnitsReused != 9 || o.UnitsRun != 3 || !sameBits(unitNumbers(o.Configs[0]), unitNumbers(ref.Configs[0])) {
			t.Errorf("other study: %d units, %d reused, %d run; want 12, 9, 3 and the shared config's numbers", o.UnitsTotal, o.UnitsReused, o.UnitsRun)
		}
		names, err := readStore(t, dir, url).StudyNames()
		if err != nil || strings.Join(names, " ") != "other tiny" {
			t.Errorf("studies %v (%v), want other tiny", names, err)
		}
		for _, want := range []sweeps.StudyResult{again, o} {
			got := loadStudy(t, dir, url, want.Name)
			if !sameBits(numbers(got), numbers(want)) || got.UnitsRun != want.UnitsRun || got.UnitsReused != want.UnitsReused || got.UnitsTotal != want.UnitsTotal {
				t.Errorf("%s loads back other than it ran", want.Name)
			}
		}
	})
}

// TestEpochScoresAreStoredAsTheyFinish: fused and unfused, on SQLite and
// PostgreSQL, every epoch of every unit is in the store with the held-out
// figures of the unit's learning curve, and each was stored before its
// unit was done (read back at the unit's UnitDone event).
func TestEpochScoresAreStoredAsTheyFinish(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	forEachStore(t, func(t *testing.T, dir, url string) {
		for _, fuse := range []bool{true, false} {
			// Another seed for each: no unit of one is reused by the other.
			src := strings.Replace(tinyStudy, "seed: 7", fmt.Sprintf("seed: %d", map[bool]int{true: 7, false: 8}[fuse]), 1)
			s := parse(t, strings.Replace(src, "name: tiny", fmt.Sprintf("name: tiny-%v\nfuse: %v", fuse, fuse), 1))
			st := openStore(t, dir, url)
			var reader store.Store
			early := 0 // units whose epochs were all stored when their UnitDone came
			progress := func(e Event) {
				if e.Kind != UnitDone {
					return
				}
				if reader == nil {
					reader = readStore(t, dir, url)
				}
				id := sweeps.UnitID{Key: e.Point.Params.Key(), Fold: e.Fold, Split: sweeps.KFoldSplit(s.Folds, s.Seed),
					Seed: sweeps.UnitSeed(s.Seed, e.Point.Params.Key(), e.Fold), Data: data.Fingerprint(), Engine: sweeps.EngineID()}
				if got, err := reader.UnitEpochScores(context.Background(), id); err == nil && len(got) == len(e.Unit.Epochs) {
					early++
				}
			}
			r, err := RunStudy(context.Background(), s, data, Options{Dir: dir, Store: st, Workers: 2, Curves: true, Progress: progress})
			if err != nil {
				t.Fatal(err)
			}
			if early != 9 {
				t.Errorf("fuse %v: %d of 9 units had their epochs stored when done", fuse, early)
			}
			got, err := readStore(t, dir, url).EpochScores(context.Background(), s.Name)
			if err != nil {
				t.Fatal(err)
			}
			var want []sweeps.EpochScore
			for _, c := range r.Distinct() {
				for _, u := range c.Units {
					for _, e := range u.Epochs {
						want = append(want, sweeps.NewEpochScore(c.Key, u.Fold, e))
					}
				}
			}
			if len(got) != 18 || len(got) != len(want) {
				t.Fatalf("fuse %v: %d epoch scores stored, want %d = 18", fuse, len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Key != w.Key || g.Fold != w.Fold || g.Epoch != w.Epoch || g.Accuracy != w.Accuracy || g.Loss != w.Loss || g.TrainLoss != w.TrainLoss || g.TrainAccuracy != w.TrainAccuracy {
					t.Errorf("fuse %v: score %d is %+v, want %+v", fuse, i, g, w)
				}
			}
		}
	})
}
