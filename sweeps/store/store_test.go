package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// backend is one of the two databases, for tests that run on both.
type backend struct {
	name string
	// fresh returns a new empty database's location: a directory, a URL.
	fresh func(t *testing.T) string
	// writer and reader open the database at loc as a sweep and as a
	// report do.
	writer, reader func(loc string) (Store, error)
	// exec runs SQL on the database at loc behind the store's back.
	exec func(t *testing.T, loc string, sql ...string)
	// setVersion records schema version v in the database at loc.
	setVersion func(t *testing.T, loc string, v int)
	// v1 creates the tables as schema version 1 had them.
	v1 string
}

var backends = []backend{
	{
		name:   "sqlite",
		fresh:  func(t *testing.T) string { return t.TempDir() },
		writer: func(dir string) (Store, error) { return Open(context.Background(), dir) },
		reader: func(dir string) (Store, error) { return Open(context.Background(), dir, ReadOnly) },
		exec:   sqliteExec,
		v1:     releaseSchemaV1,
		setVersion: func(t *testing.T, dir string, v int) {
			sqliteExec(t, dir, "PRAGMA user_version = "+strconv.Itoa(v))
		},
	},
	{
		name:   "postgres",
		fresh:  func(t *testing.T) string { return storetest.Postgres(t) },
		writer: func(url string) (Store, error) { return Open(context.Background(), url) },
		reader: func(url string) (Store, error) { return Open(context.Background(), url, ReadOnly) },
		exec:   func(t *testing.T, url string, sql ...string) { t.Helper(); storetest.Exec(t, url, sql...) },
		v1:     sqliteNames.Replace(migrations[0]), // before prefixTables
		setVersion: func(t *testing.T, url string, v int) {
			storetest.Exec(t, url, `CREATE TABLE IF NOT EXISTS mlpsweep_schema (version BIGINT NOT NULL)`,
				`DELETE FROM mlpsweep_schema`, `INSERT INTO mlpsweep_schema VALUES (`+strconv.Itoa(v)+`)`)
		},
	},
}

func sqliteExec(t *testing.T, dir string, sql ...string) {
	t.Helper()
	db, err := sqlOpen(filepath.Join(dir, DBName), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range sql {
		if _, err := db.Exec(sqliteNames.Replace(q)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// forEach runs test on every backend, each with a fresh database.
func forEach(t *testing.T, test func(t *testing.T, b backend, loc string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b, b.fresh(t)) })
	}
}

func mustOpen(t *testing.T, open func(string) (Store, error), loc string) Store {
	t.Helper()
	s, err := open(loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestEpochsRoundTripNonFiniteValues: NaN and ±Inf in a learning curve
// come back as NaN (JSON null), finite values exactly.
func TestEpochsRoundTripNonFiniteValues(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		s := mustOpen(t, b.writer, loc)
		id := sweeps.UnitID{Key: "k", Split: "kfold k=2 seed=1", Seed: 3, Data: "d", Engine: "e"}
		in := sweeps.UnitResult{Accuracy: 0.25, ValLoss: math.Inf(1), Diverged: true, Error: "diverged", Extra: []byte(`{"x":1}`),
			Seconds: 1.5, Samples: 1 << 40,
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
		if out.Accuracy != 0.25 || !math.IsNaN(out.ValLoss) && !math.IsInf(out.ValLoss, 1) || string(out.Extra) != `{"x":1}` || !out.Diverged ||
			out.Seconds != 1.5 || out.Samples != 1<<40 || out.Error != "diverged" {
			t.Errorf("unit came back as %+v", out)
		}
		// A finite validation loss comes back bit for bit, NaN as NaN.
		for _, v := range []float64{0.1 + 0.2, math.NaN()} {
			in := sweeps.UnitResult{Accuracy: 1.0 / 3, ValLoss: v}
			if err := s.SaveUnit(id, "st", in); err != nil {
				t.Fatal(err)
			}
			out, _, err := s.Unit(id)
			if err != nil || math.Float64bits(out.Accuracy) != math.Float64bits(1.0/3) ||
				!(math.Float64bits(out.ValLoss) == math.Float64bits(v) || math.IsNaN(v) && math.IsNaN(out.ValLoss)) || out.Diverged || out.Extra != nil {
				t.Errorf("val_loss %v came back as %+v (%v)", v, out, err)
			}
		}
	})
}

// testStudy is a small study: 3 points, 2 folds.
func testStudy(t *testing.T, name string) (sweeps.Header, []study.Point) {
	t.Helper()
	s, err := study.ParseStudy([]byte(`
name: `+name+`
folds: 2
epochs: 1
seed: 4294967295
base: {hidden: [8], batch: 16}
axes:
  - {name: batch, key: batch, values: [16, 32, 64]}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sweeps.Header{Name: name, Folds: 2, Epochs: 1, Seed: s.Seed, Split: sweeps.KFoldSplit(2, s.Seed),
		Data: "blobs (10 rows)", DataSHA: "sha", Engine: "engine-test"}, s.Points
}

// TestStudiesRoundTrip: studies and their configurations come back as
// saved; the most recent is the default; saving a study again replaces
// its configurations; Load assembles what is stored, units of another
// study included (reuse across studies).
func TestStudiesRoundTrip(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		s := mustOpen(t, b.writer, loc)
		ctx := context.Background()
		ha, pa := testStudy(t, "a")
		hb, pb := testStudy(t, "b")
		for _, x := range []struct {
			h  sweeps.Header
			pt []study.Point
		}{{ha, pa}, {hb, pb[:2]}, {hb, pb}, {ha, pa[:1]}} {
			if err := s.SaveStudy(x.h, x.pt); err != nil {
				t.Fatal(err)
			}
		}
		names, err := s.StudyNames()
		if err != nil || strings.Join(names, ",") != "a,b" {
			t.Errorf("studies %v (%v), want a,b", names, err)
		}
		h, points, err := s.Study(ctx, "")
		started := h.Started // the save's time (TestStudySchedule)
		h.Started = 0
		if err != nil || started == 0 || !reflect.DeepEqual(h, ha) || len(points) != 1 || points[0].Params.Key() != pa[0].Params.Key() {
			t.Errorf("latest study: %+v, %d points (%v)", h, len(points), err)
		}
		h, points, err = s.Study(ctx, "b")
		h.Started = 0
		if err != nil || !reflect.DeepEqual(h, hb) || len(points) != 3 {
			t.Fatalf("study b: %+v, %d points (%v)", h, len(points), err)
		}
		for i := range points {
			if points[i].Axis != pb[i].Axis || points[i].Value != pb[i].Value || points[i].Params.Key() != pb[i].Params.Key() {
				t.Errorf("point %d: %+v, want %+v", i, points[i], pb[i])
			}
		}
		if _, _, err := s.Study(ctx, "nope"); err == nil || !strings.Contains(err.Error(), `no study named "nope"`) {
			t.Errorf("unknown study: %v", err)
		}

		// Study a stores its unit; b's load reuses it, plus one of its own
		// that is running (not shown) and one that failed.
		units := sweeps.Plan(hb, pb)
		if len(units) != 6 {
			t.Fatalf("%d units", len(units))
		}
		if err := s.SaveUnit(units[0].ID, "a", sweeps.UnitResult{Accuracy: 0.5, Seconds: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRunning(units[1].ID, "b", 1); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveUnit(units[2].ID, "b", sweeps.UnitResult{Error: "boom"}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun("b", sweeps.LocalRun(2.5, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun("b", sweeps.LocalRun(1.25, 0, 3)); err != nil {
			t.Fatal(err)
		}
		r, err := Load(ctx, s, "b", false)
		if err != nil {
			t.Fatal(err)
		}
		if r.TotalSeconds != 3.75 || r.UnitsRun != 0 || r.UnitsReused != 3 || len(r.Configs) != 3 {
			t.Errorf("study b: %v s, run %d, reused %d, %d configs", r.TotalSeconds, r.UnitsRun, r.UnitsReused, len(r.Configs))
		}
		var shown []string
		for _, c := range r.Configs {
			for _, u := range c.Units {
				shown = append(shown, fmt.Sprintf("%s/%d:%v%s", c.Value, u.Fold, u.Accuracy, u.Error))
			}
		}
		want := []string{fmt.Sprintf("%s/%d:0.5", units[0].Point.Value, units[0].ID.Fold), fmt.Sprintf("%s/%d:0boom", units[2].Point.Value, units[2].ID.Fold)}
		slices.Sort(shown)
		slices.Sort(want)
		if !slices.Equal(shown, want) {
			t.Errorf("units shown: %v, want %v", shown, want)
		}
		states, err := s.States()
		if err != nil || states["done"] != 1 || states["running"] != 1 || states["failed"] != 1 {
			t.Errorf("states %v (%v)", states, err)
		}
	})
}

// TestUnitStates: MarkRunning never demotes a finished unit, and a failed
// result (a duplicate execution that failed) never replaces a done one.
func TestUnitStates(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		s := mustOpen(t, b.writer, loc)
		id := sweeps.UnitID{Key: "k", Split: "sp", Seed: 1, Data: "d", Engine: "e"}
		check := func(step, want string, acc float64) {
			t.Helper()
			u, state, err := s.Unit(id)
			if err != nil || state != want || state != "" && u.Accuracy != acc {
				t.Errorf("%s: state %q accuracy %v (%v), want %q %v", step, state, u.Accuracy, err, want, acc)
			}
		}
		steps := []struct {
			name  string
			do    func() error
			state string
			acc   float64
		}{
			{"running", func() error { return s.MarkRunning(id, "st", 1) }, "", 0},
			{"failed", func() error { return s.SaveUnit(id, "st", sweeps.UnitResult{Error: "out of memory"}) }, "failed", 0},
			{"running again", func() error { return s.MarkRunning(id, "st", 1) }, "", 0},
			{"done", func() error { return s.SaveUnit(id, "st", sweeps.UnitResult{Accuracy: 0.75}) }, "done", 0.75},
			{"running after done", func() error { return s.MarkRunning(id, "other", 1) }, "done", 0.75},
			{"failed after done", func() error { return s.SaveUnit(id, "st", sweeps.UnitResult{Error: "killed"}) }, "done", 0.75},
			{"done twice", func() error { return s.SaveUnit(id, "st", sweeps.UnitResult{Accuracy: 0.5}) }, "done", 0.5},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			check(st.name, st.state, st.acc)
		}
	})
}

// TestRunningMarkKeepsAPrunedResult: a study that trains a unit another
// study stored pruned further marks it running, then is interrupted
// before it stores it (its store closed, as a killed process leaves it):
// the other study's result reads as before, machine and start included,
// and is not counted running. The first study's own result replaces it.
func TestRunningMarkKeepsAPrunedResult(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		id := sweeps.UnitID{Key: "k", Split: "sp", Seed: 1, Data: "d", Engine: "e"}
		other := sweeps.Machine{Host: "elsewhere", CPU: "another cpu", ISA: "avx2"}
		epochs := []engine.EpochStats{{Epoch: 1, ValAccuracy: 0.5, ValLoss: 1.5}, {Epoch: 2, ValAccuracy: 0.625, ValLoss: 1.25}}
		s := mustOpen(t, b.writer, loc)
		if err := s.MarkRunning(id, "other", 1); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveUnit(id, "other", sweeps.UnitResult{Epochs: epochs, Accuracy: 0.625, ValLoss: 1.25, PrunedAt: 2, Seconds: 3, Samples: 200, Machine: other}); err != nil {
			t.Fatal(err)
		}
		before, state, err := s.Unit(id)
		if err != nil || state != "pruned" || before.PrunedAt != 2 || before.Machine != other || before.Started == 0 {
			t.Fatalf("stored pruned: %q %+v (%v)", state, before, err)
		}
		if err := s.MarkRunning(id, "this", 1); err != nil {
			t.Fatal(err)
		}
		s.Close() // interrupted before it stores the unit
		s = mustOpen(t, b.reader, loc)
		after, state, err := s.Unit(id)
		if err != nil || state != "pruned" || fmt.Sprintf("%+v", after) != fmt.Sprintf("%+v", before) {
			t.Errorf("after another study's running mark: %q %+v (%v)\nwant pruned %+v", state, after, err, before)
		}
		if states, err := s.States(); err != nil || states["pruned"] != 1 || states["running"] != 0 {
			t.Errorf("states %v (%v), want 1 pruned", states, err)
		}
		s = mustOpen(t, b.writer, loc)
		if err := s.SaveUnit(id, "this", sweeps.UnitResult{Epochs: append(epochs, engine.EpochStats{Epoch: 3, ValAccuracy: 0.75}), Accuracy: 0.75}); err != nil {
			t.Fatal(err)
		}
		if u, state, err := s.Unit(id); err != nil || state != "done" || u.Accuracy != 0.75 || len(u.Epochs) != 3 {
			t.Errorf("stored done by the study that trained it further: %q %+v (%v)", state, u, err)
		}
	})
}

// TestMigratesVersion1 opens a database as the first release wrote it (no
// extra column, learning curves with "NaN" strings) as a sweep and as a
// report does; then a database from a newer mlpsweep is refused, naming
// the database and what to do, and nothing is written to it.
func TestMigratesVersion1(t *testing.T) {
	for _, b := range backends {
		for _, role := range []string{"writer", "reader"} {
			t.Run(b.name+"/"+role, func(t *testing.T) {
				open := b.writer
				if role == "reader" {
					open = b.reader
				}
				loc := b.fresh(t)
				b.exec(t, loc, b.v1, `INSERT INTO units (key, fold, split, seed, data_sha256, engine_version, state, accuracy, val_loss, epochs, seconds, samples, study)
					VALUES ('k', 0, 'sp', 1, 'd', 'e', 'done', 0.5, 0.25, '[{"epoch":1,"loss":0.5,"accuracy":0.5,"val_loss":"NaN","val_accuracy":"NaN","seconds":1,"samples_per_second":2}]', 1, 10, 'st')`)
				if b.name == "postgres" {
					b.setVersion(t, loc, 1) // SQLite's first release left user_version 0
				}
				s, err := open(loc)
				if err != nil {
					t.Fatal(err)
				}
				u, state, err := s.Unit(sweeps.UnitID{Key: "k", Split: "sp", Seed: 1, Data: "d", Engine: "e"})
				if err != nil || state != "done" || len(u.Epochs) != 1 || !math.IsNaN(u.Epochs[0].ValLoss) || u.Epochs[0].Loss != 0.5 || u.Accuracy != 0.5 ||
					u.Machine != (sweeps.Machine{}) || u.EngineVer != "e" {
					t.Fatalf("version-1 unit: %+v %q %v", u, state, err)
				}
				if v := schemaOf(t, b, loc); v != schemaVersion {
					t.Errorf("schema version %d after migration", v)
				}
				s.Close()

				b.setVersion(t, loc, 99)
				b.exec(t, loc, `DELETE FROM mlpsweep_units`)
				s, err = open(loc)
				if err == nil {
					s.Close()
				}
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("written by a newer mlpsweep (schema version 99; this one knows %d): use that version, or another", schemaVersion)) ||
					!strings.Contains(err.Error(), "nothing was written") || !strings.HasPrefix(err.Error(), dbName(b, loc)+": ") {
					t.Errorf("newer schema: %v", err)
				}
				if v := schemaOf(t, b, loc); v != 99 {
					t.Errorf("schema version %d after refusing", v)
				}
			})
		}
	}
}

// schemaOf reads the schema version recorded in the database at loc.
func schemaOf(t *testing.T, b backend, loc string) int {
	t.Helper()
	var v int
	var err error
	if b.name == "sqlite" {
		var db *sql.DB
		if db, err = sqlOpen(filepath.Join(loc, DBName), "mode=ro"); err == nil {
			err = db.QueryRow(`PRAGMA user_version`).Scan(&v)
			db.Close()
		}
	} else {
		storetest.QueryRow(t, loc, `SELECT coalesce(max(version), 0) FROM mlpsweep_schema`, &v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func dbName(b backend, loc string) string {
	if b.name == "sqlite" {
		return filepath.Join(loc, DBName)
	}
	_, name, _ := ParsePostgresURL(loc)
	return name
}

// TestEachUnitCommitsAtOnce: a unit is committed when SaveUnit returns, so
// a reader (another process, a report) sees it while the writer goes on,
// and a writer that fails or dies later loses it not.
func TestEachUnitCommitsAtOnce(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		w := mustOpen(t, b.writer, loc)
		for i := range 3 {
			id := sweeps.UnitID{Key: "k", Fold: i, Split: "sp", Seed: 1, Data: "d", Engine: "e"}
			if err := w.MarkRunning(id, "st", 1); err != nil {
				t.Fatal(err)
			}
			if err := w.SaveUnit(id, "st", sweeps.UnitResult{Accuracy: 0.5, Epochs: []engine.EpochStats{}}); err != nil {
				t.Fatal(err)
			}
			r, err := b.reader(loc)
			if err != nil {
				t.Fatal(err)
			}
			states, err := r.States()
			r.Close()
			if err != nil || states["done"] != i+1 {
				t.Fatalf("after unit %d a reader sees %v (%v)", i, states, err)
			}
		}
	})
}

// benchStore opens a fresh database of be for a benchmark, closed when it
// ends.
func benchStore(b *testing.B, be backend) Store {
	loc := b.TempDir()
	if be.name != "sqlite" {
		loc = storetest.Postgres(b)
	}
	s, err := be.writer(loc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkUnit is what the scheduler asks of the store per unit: mark it
// running, save its result with a 10-epoch learning curve, on each
// database (PostgreSQL over loopback).
func BenchmarkUnit(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := benchStore(b, be)
			r := sweeps.UnitResult{Accuracy: 0.9, ValLoss: 0.3, Seconds: 12.5, Samples: 450000}
			for e := 1; e <= 10; e++ {
				r.Epochs = append(r.Epochs, engine.EpochStats{Epoch: e, Loss: 1 / float64(e), Accuracy: 0.9, ValLoss: 0.31, ValAccuracy: 0.89, Seconds: 1.25, SamplesPerSecond: 36000})
			}
			i := 0
			for b.Loop() {
				id := sweeps.UnitID{Key: "k", Fold: i, Split: "sp", Seed: 1, Data: "d", Engine: "e"}
				i++
				if err := s.MarkRunning(id, "st", 1); err != nil {
					b.Fatal(err)
				}
				if err := s.SaveUnit(id, "st", r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
