package store

import (
	"database/sql"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestEpochsRoundTripNonFiniteValues: NaN and ±Inf in a learning curve
// come back as NaN (JSON null), finite values exactly.
func TestEpochsRoundTripNonFiniteValues(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := sweeps.UnitID{Key: "k", Split: "kfold k=2 seed=1", Seed: 3, Data: "d", Engine: "e"}
	in := sweeps.UnitResult{Accuracy: 0.25, ValLoss: math.Inf(1), Diverged: true, Error: "diverged", Extra: []byte(`{"x":1}`),
		Epochs: []engine.EpochStats{
			{Epoch: 1, Loss: 0.5, Accuracy: 0.75, ValLoss: math.NaN(), ValAccuracy: math.NaN(), Seconds: 1.25, SamplesPerSecond: 1e5},
			{Epoch: 2, Loss: math.Inf(1), Accuracy: 0.1, ValLoss: math.Inf(-1)},
		}}
	if err := s.SaveUnit(id, "st", in); err != nil {
		t.Fatal(err)
	}
	out, state, err := s.Unit(id)
	if err != nil || state != "done" {
		t.Fatalf("state %q, err %v", state, err)
	}
	e := out.Epochs
	if len(e) != 2 || e[0].Loss != 0.5 || e[0].Accuracy != 0.75 || !math.IsNaN(e[0].ValLoss) || e[0].Seconds != 1.25 ||
		e[0].SamplesPerSecond != 1e5 || !math.IsNaN(e[1].Loss) || !math.IsNaN(e[1].ValLoss) || e[1].Accuracy != 0.1 {
		t.Errorf("epochs came back as %+v", e)
	}
	if out.Accuracy != 0.25 || !math.IsNaN(out.ValLoss) && !math.IsInf(out.ValLoss, 1) || string(out.Extra) != `{"x":1}` || !out.Diverged {
		t.Errorf("unit came back as %+v", out)
	}
}

// TestMigratesVersion1 opens a database as the first release wrote it (no
// extra column, learning curves with "NaN" strings) as a sweep (Open) and as
// a report (OpenReader) does.
func TestMigratesVersion1(t *testing.T) {
	for name, open := range map[string]func(string) (*Store, error){"Open": Open, "OpenReader": OpenReader} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := sql.Open("sqlite", filepath.Join(dir, DBName))
			if err != nil {
				t.Fatal(err)
			}
			v1 := strings.Replace(schema, "\textra          TEXT NOT NULL DEFAULT '',   -- a study kind's own per-unit record, JSON (UnitResult.Extra)\n", "", 1)
			if v1 == schema {
				t.Fatal("test does not remove the extra column")
			}
			if _, err := db.Exec(v1); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO units (key, fold, split, seed, data_sha256, engine_version, state, accuracy, val_loss, epochs, seconds, samples, study)
				VALUES ('k', 0, 'sp', 1, 'd', 'e', 'done', 0.5, 0.25, '[{"epoch":1,"loss":0.5,"accuracy":0.5,"val_loss":"NaN","val_accuracy":"NaN","seconds":1,"samples_per_second":2}]', 1, 10, 'st')`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			s, err := open(dir)
			if err != nil {
				t.Fatal(err)
			}
			u, state, err := s.Unit(sweeps.UnitID{Key: "k", Split: "sp", Seed: 1, Data: "d", Engine: "e"})
			if err != nil || state != "done" || len(u.Epochs) != 1 || !math.IsNaN(u.Epochs[0].ValLoss) || u.Epochs[0].Loss != 0.5 || u.Accuracy != 0.5 {
				t.Fatalf("version-1 unit: %+v %q %v", u, state, err)
			}
			var version int
			if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != schemaVersion {
				t.Errorf("user_version %d after migration (err %v)", version, err)
			}
			s.Close()

			// A database from a newer mlpsweep is refused.
			db, _ = sql.Open("sqlite", filepath.Join(dir, DBName))
			if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if _, err := open(dir); err == nil || !strings.Contains(err.Error(), "newer mlpsweep") || !strings.Contains(err.Error(), filepath.Join(dir, DBName)) {
				t.Errorf("newer schema: %v", err)
			}
		})
	}
}

// TestEachUnitCommitsAtOnce: a unit is committed when SaveUnit returns, in
// a transaction of its own, so a reader (another process, a report) sees it
// while the writer goes on, and a writer that fails or dies later loses it
// not.
func TestEachUnitCommitsAtOnce(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range 3 {
		id := sweeps.UnitID{Key: "k", Fold: i, Split: "sp", Seed: 1, Data: "d", Engine: "e"}
		if err := w.MarkRunning(id, "st"); err != nil {
			t.Fatal(err)
		}
		if err := w.SaveUnit(id, "st", sweeps.UnitResult{Accuracy: 0.5, Epochs: []engine.EpochStats{}}); err != nil {
			t.Fatal(err)
		}
		r, err := OpenReader(dir)
		if err != nil {
			t.Fatal(err)
		}
		states, err := r.States()
		r.Close()
		if err != nil || states["done"] != i+1 {
			t.Fatalf("after unit %d a reader sees %v (%v)", i, states, err)
		}
	}
}
