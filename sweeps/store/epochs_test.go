package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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
	if schemaVersion != 12 {
		t.Fatalf("schema version %d: take the tables added since 12 away too", schemaVersion)
	}
	forEachRole(t, func(t *testing.T, b backend, open func(string) (Store, error), loc string) {
		mustOpen(t, b.writer, loc).Close() // the current schema, then back to version 4's
		s := migrateFrom(t, b, open, loc, 4, `DROP TABLE mlpsweep_epoch_scores`, `DROP TABLE mlpsweep_decisions`,
			`ALTER TABLE mlpsweep_units DROP COLUMN gflop`,
			`ALTER TABLE mlpsweep_study DROP COLUMN schedule`, `ALTER TABLE mlpsweep_study DROP COLUMN run_started`,
			`ALTER TABLE mlpsweep_units DROP COLUMN threads`, `DROP TABLE mlpsweep_runs`)
		if got, err := s.UnitEpochScores(context.Background(), sweeps.UnitID{Key: "k"}); err != nil || len(got) != 0 {
			t.Errorf("epoch scores of a migrated database: %v (%v)", got, err)
		}
		if got, err := s.Decisions(context.Background(), "st"); err != nil || len(got) != 0 {
			t.Errorf("decisions of a migrated database: %v (%v)", got, err)
		}
	})
}

// TestPrunedUnitsAndDecisions: a pruned unit is stored as such (never
// over a done one) and reads back with PrunedAt; a study's decisions
// round-trip, appended to and replaced.
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
		if err := s.ReplaceDecisions("st", ds[:1]); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendDecisions("st", ds); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendDecisions("other", ds[:1]); err != nil {
			t.Fatal(err)
		}
		got, err := s.Decisions(context.Background(), "st")
		if err != nil || len(got) != 2 || got[0] != ds[0] || got[1] != ds[1] {
			t.Errorf("decisions: %+v (%v)", got, err)
		}
		// A shard behind the others appends what the store holds already.
		for _, behind := range [][]sweeps.Decision{nil, ds[:1], ds} {
			if err := s.AppendDecisions("st", behind); err != nil {
				t.Errorf("appending %d decisions the store holds: %v", len(behind), err)
			}
		}
		// Decisions that do not extend the stored ones are refused (the check
		// reads one stored decision: the last, or the one at the caller's last).
		other := []sweeps.Decision{{Key: "b", Epoch: 1}, {Key: "b", Bracket: 1, Rung: 2, Epoch: 9, Promoted: true}, {Key: "c", Epoch: 1}}
		for _, bad := range [][]sweeps.Decision{other[:1], other} {
			if err := s.AppendDecisions("st", bad); err == nil || !strings.Contains(err.Error(), "another process decides") {
				t.Errorf("appending %d decisions that differ from the stored: %v", len(bad), err)
			}
		}
		if got, err := s.Decisions(context.Background(), "st"); err != nil || len(got) != 2 {
			t.Errorf("decisions after refused appends: %+v (%v)", got, err)
		}
		if err := s.ReplaceDecisions("st", ds[1:]); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Decisions(context.Background(), "st"); err != nil || len(got) != 1 || got[0].Key != "b" || got[0].Order != 0 {
			t.Errorf("decisions replaced: %+v (%v)", got, err)
		}
		if err := s.ReplaceDecisions("st", ds); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Decisions(context.Background(), "st"); err != nil || len(got) != 2 || got[0] != ds[0] || got[1] != ds[1] {
			t.Errorf("decisions replaced by more: %+v (%v)", got, err)
		}
		if got, err := s.Decisions(context.Background(), "other"); err != nil || len(got) != 1 || got[0] != ds[0] {
			t.Errorf("another study's decisions: %+v (%v)", got, err)
		}
	})
}

// rewriteDecisions is how decisions were saved before appendDecisions:
// every position upserted on each save, then those past the end deleted
// (BenchmarkSaveDecisions's reference).
func rewriteDecisions(ctx context.Context, c conn, study string, ds []sweeps.Decision) error {
	for i, d := range ds {
		if err := putDecision(ctx, c, study, i, d); err != nil {
			return err
		}
	}
	return c.exec(ctx, `DELETE FROM mlpsweep_decisions WHERE study = $1 AND position >= $2`, study, len(ds))
}

// BenchmarkSaveDecisions is what storing a pruned study's decisions costs
// as ASHA saves them, after each decision: one op is the save that adds
// decision D to a study holding D−1 (undone, untimed, after it), written
// the old way (rewrite: D upserts) and the new (append: one), on each
// database (PostgreSQL over loopback). A study of D decisions saved one
// at a time costs the sum over d ≤ D: O(D²) row writes the old way.
func BenchmarkSaveDecisions(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			st := benchStore(b, be)
			inTx := func(f func(conn) error) error {
				if s, ok := st.(*SQLite); ok {
					return s.inTx(f)
				}
				return pgx.BeginFunc(context.Background(), st.(*Postgres).pool, func(tx pgx.Tx) error { return f(pgConn{tx}) })
			}
			for _, d := range []int{100, 1000, 5000} {
				ds := make([]sweeps.Decision, d)
				for i := range ds {
					ds[i] = sweeps.Decision{Key: fmt.Sprintf("%064x", i), Rung: i % 3, Epoch: 1 << (i % 3), Score: 0.9, Cutoff: 0.8, Promoted: i%3 == 0, Order: i}
				}
				name := fmt.Sprintf("study%d", d)
				if err := st.ReplaceDecisions(name, ds[:d-1]); err != nil {
					b.Fatal(err)
				}
				ways := []struct {
					name string
					save func() error
				}{
					{"rewrite", func() error {
						return inTx(func(c conn) error { return rewriteDecisions(context.Background(), c, name, ds) })
					}},
					{"append", func() error { return st.AppendDecisions(name, ds) }},
				}
				for _, way := range ways {
					b.Run(fmt.Sprintf("D=%d/way=%s", d, way.name), func(b *testing.B) {
						for b.Loop() {
							if err := way.save(); err != nil {
								b.Fatal(err)
							}
							b.StopTimer()
							if err := inTx(func(c conn) error {
								return c.exec(context.Background(), `DELETE FROM mlpsweep_decisions WHERE study = $1 AND position >= $2`, name, d-1)
							}); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
						}
					})
				}
			}
		})
	}
}

// dropRetrain is the SQL that takes a database back before schema 11's
// retrain_ columns (migrateFrom runs it for every earlier version).
var dropRetrain = []string{
	`ALTER TABLE mlpsweep_units DROP COLUMN retrain_study`, `ALTER TABLE mlpsweep_units DROP COLUMN retrain_started`,
	`ALTER TABLE mlpsweep_units DROP COLUMN retrain_host`, `ALTER TABLE mlpsweep_units DROP COLUMN retrain_cpu`,
	`ALTER TABLE mlpsweep_units DROP COLUMN retrain_isa`,
}

// dropRetrainError takes a database back before schema 12's retrain_error
// (migrateFrom runs it for every earlier version).
var dropRetrainError = `ALTER TABLE mlpsweep_units DROP COLUMN retrain_error`
