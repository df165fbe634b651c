package store

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestEpochScores: per-epoch scores written one epoch at a time read back
// by study (in study order, only the study's units) and by unit, at once
// (each SaveEpoch commits), a rerun's epoch replacing the earlier one and
// non-finite numbers coming back as NaN.
func TestEpochScores(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		w := mustOpen(t, b.writer, loc)
		h, points := testStudy(t, "curves")
		if err := w.SaveStudy(h, points); err != nil {
			t.Fatal(err)
		}
		units := sweeps.Plan(h, points) // 3 configurations × 2 folds
		stats := func(epoch int, acc float64) engine.EpochStats {
			return engine.EpochStats{Epoch: epoch, Loss: 1 / float64(epoch), Accuracy: acc - 0.01, ValLoss: 2 / float64(epoch), ValAccuracy: acc, Seconds: 0.5}
		}
		// Written out of order, as workers finish epochs.
		for _, k := range []int{5, 0, 3, 1, 4, 2} {
			u := units[k]
			for e := 1; e <= 2; e++ {
				if err := w.SaveEpoch(u.ID, h.Name, stats(e, float64(k)/10+float64(e)/100)); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A diverged epoch; a rerun of unit 0's epoch 2.
		if err := w.SaveEpoch(units[1].ID, h.Name, engine.EpochStats{Epoch: 3, Loss: math.Inf(1), ValLoss: math.NaN(), ValAccuracy: math.NaN(), Accuracy: 0.1}); err != nil {
			t.Fatal(err)
		}
		if err := w.SaveEpoch(units[0].ID, h.Name, stats(2, 0.5)); err != nil {
			t.Fatal(err)
		}
		// Another engine identity's unit of the same configuration is not the study's.
		other := units[0].ID
		other.Engine = "another"
		if err := w.SaveEpoch(other, h.Name, stats(1, 0.9)); err != nil {
			t.Fatal(err)
		}

		r := mustOpen(t, b.reader, loc) // another connection: committed already
		for _, name := range []string{"curves", ""} {
			got, err := r.EpochScores(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 13 {
				t.Fatalf("%d scores, want 13: %+v", len(got), got)
			}
			// Study order: configuration, fold, epoch.
			want := []struct{ unit, epoch int }{{0, 1}, {0, 2}, {1, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 2}, {3, 1}, {3, 2}, {4, 1}, {4, 2}, {5, 1}, {5, 2}}
			for i, wnt := range want {
				e, u := got[i], units[wnt.unit]
				if e.Key != u.ID.Key || e.Fold != u.ID.Fold || e.Epoch != wnt.epoch {
					t.Fatalf("score %d is %s fold %d epoch %d, want unit %d epoch %d", i, e.Key, e.Fold, e.Epoch, wnt.unit, wnt.epoch)
				}
			}
		}
		got, err := r.UnitEpochScores(context.Background(), units[1].ID)
		if err != nil || len(got) != 3 {
			t.Fatalf("unit 1: %+v (%v)", got, err)
		}
		want := sweeps.NewEpochScore(units[1].ID.Key, units[1].ID.Fold, stats(2, float64(1)/10+float64(2)/100))
		if got[1] != want {
			t.Errorf("unit 1 epoch 2: %+v, want %+v", got[1], want)
		}
		if e := got[2]; e.Epoch != 3 || !math.IsNaN(e.Accuracy) || !math.IsNaN(e.Loss) || !math.IsNaN(e.TrainLoss) || e.TrainAccuracy != 0.1 || e.Seconds != 0 {
			t.Errorf("diverged epoch: %+v", e)
		}
		if got, err := r.UnitEpochScores(context.Background(), units[0].ID); err != nil || len(got) != 2 || got[1].Accuracy != 0.5 {
			t.Errorf("unit 0 after a rerun of epoch 2: %+v (%v)", got, err)
		}
		if _, err := r.EpochScores(context.Background(), "nosuch"); err != nil {
			t.Errorf("unknown study: %v", err)
		}
	})
}

// TestMigratesVersion4: a database at schema version 4 (the release
// before per-epoch scores) gains the epoch scores and decisions tables and
// the units' gflop column, opened by a writer or a reader.
func TestMigratesVersion4(t *testing.T) {
	for _, b := range backends {
		for _, role := range []string{"writer", "reader"} {
			t.Run(b.name+"/"+role, func(t *testing.T) {
				loc := b.fresh(t)
				mustOpen(t, b.writer, loc).Close() // the current schema, then back to version 4's
				names := sqliteNames
				if b.name == "postgres" {
					names = strings.NewReplacer()
				}
				b.exec(t, loc, names.Replace(`DROP TABLE mlpsweep_epoch_scores`), names.Replace(`DROP TABLE mlpsweep_decisions`),
					names.Replace(`ALTER TABLE mlpsweep_units DROP COLUMN gflop`),
					names.Replace(`ALTER TABLE mlpsweep_study DROP COLUMN schedule`), names.Replace(`ALTER TABLE mlpsweep_study DROP COLUMN run_started`))
				b.setVersion(t, loc, 4)
				open := b.writer
				if role == "reader" {
					open = b.reader
				}
				s := mustOpen(t, open, loc)
				if v := schemaOf(t, b, loc); v != schemaVersion || schemaVersion != 8 {
					t.Errorf("schema version %d after migration (want %d = 8)", v, schemaVersion)
				}
				if got, err := s.UnitEpochScores(context.Background(), sweeps.UnitID{Key: "k"}); err != nil || len(got) != 0 {
					t.Errorf("epoch scores of a migrated database: %v (%v)", got, err)
				}
				if got, err := s.Decisions(context.Background(), "st"); err != nil || len(got) != 0 {
					t.Errorf("decisions of a migrated database: %v (%v)", got, err)
				}
			})
		}
	}
}

// TestPrunedUnitsAndDecisions: a pruned unit is stored as such (never
// over a done one) and reads back with PrunedAt; a study's decisions
// round-trip, a later save replacing them.
func TestPrunedUnitsAndDecisions(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		s := mustOpen(t, b.writer, loc)
		id := sweeps.UnitID{Key: "k", Split: "sp", Seed: 1, Data: "d", Engine: "e"}
		pruned := sweeps.UnitResult{Accuracy: 0.5, ValLoss: 1, PrunedAt: 2, Epochs: []engine.EpochStats{{Epoch: 1}, {Epoch: 2}}}
		if err := s.SaveUnit(id, "st", pruned); err != nil {
			t.Fatal(err)
		}
		if u, state, err := s.Unit(id); err != nil || state != "pruned" || u.PrunedAt != 2 || u.Accuracy != 0.5 {
			t.Errorf("pruned unit: %+v %q (%v)", u, state, err)
		}
		done := sweeps.UnitResult{Accuracy: 0.75, ValLoss: 1, Epochs: []engine.EpochStats{{Epoch: 1}, {Epoch: 2}, {Epoch: 3}}}
		if err := s.SaveUnit(id, "st", done); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveUnit(id, "st", pruned); err != nil {
			t.Fatal(err)
		}
		if u, state, err := s.Unit(id); err != nil || state != "done" || u.PrunedAt != 0 || u.Accuracy != 0.75 {
			t.Errorf("a pruned result replaced a done one: %+v %q (%v)", u, state, err)
		}
		ds := []sweeps.Decision{
			{Key: "a", Rung: 0, Epoch: 1, Score: 0.9, Cutoff: 0.8, Promoted: true},
			{Key: "b", Bracket: 1, Rung: 2, Epoch: 9, Score: math.Inf(-1), Cutoff: 0.8, Order: 1},
		}
		if err := s.SaveDecisions("st", ds); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveDecisions("other", ds[:1]); err != nil {
			t.Fatal(err)
		}
		got, err := s.Decisions(context.Background(), "st")
		if err != nil || len(got) != 2 || got[0] != ds[0] || got[1] != ds[1] {
			t.Errorf("decisions: %+v (%v)", got, err)
		}
		if err := s.SaveDecisions("st", ds[1:]); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Decisions(context.Background(), "st"); err != nil || len(got) != 1 || got[0].Key != "b" || got[0].Order != 0 {
			t.Errorf("decisions replaced: %+v (%v)", got, err)
		}
	})
}
