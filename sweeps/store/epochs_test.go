package store

import (
	"context"
	"math"
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

// TestMigratesVersion3: a database at schema version 3 gains the
// epoch_scores table, opened by a writer or a reader.
func TestMigratesVersion3(t *testing.T) {
	for _, b := range backends {
		for _, role := range []string{"writer", "reader"} {
			t.Run(b.name+"/"+role, func(t *testing.T) {
				open := b.writer
				if role == "reader" {
					open = b.reader
				}
				loc := b.fresh(t)
				v3 := migrations[0] + ";" + migrations[1] + ";" + migrations[2]
				if b.name == "sqlite" {
					v3 = releaseSchemaV2 + ";" + migrations[2]
				}
				b.exec(t, loc, v3)
				b.setVersion(t, loc, 3)
				s := mustOpen(t, open, loc)
				if v := schemaOf(t, b, loc); v != schemaVersion {
					t.Errorf("schema version %d after migration (want %d)", v, schemaVersion)
				}
				if got, err := s.UnitEpochScores(context.Background(), sweeps.UnitID{Key: "k"}); err != nil || len(got) != 0 {
					t.Errorf("epoch scores of a migrated database: %v (%v)", got, err)
				}
			})
		}
	}
}
