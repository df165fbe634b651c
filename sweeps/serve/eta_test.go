package serve

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// etaUnit is a unit of an ETA test's study, its times in seconds before
// the test's now.
type etaUnit struct {
	config, fold int
	state        string // done, pruned, running; "": never started
	started, end int    // seconds ago (end: finished)
	epochs       []int  // seconds ago each epoch's row was written, epoch 1 first
	stale        [2]int // a row of an earlier run: epoch, seconds ago (0, 0: none)
}

// writeETAStudy stores study name (data fingerprint sha, 1001 MNIST
// rows in 2 folds: 500 and 501 training rows, 4 epochs) of configurations
// of hidden widths 128 and 512-256-128 with units as given, setting the
// times a store sets itself with exec (SQL on tables named by table).
func writeETAStudy(t *testing.T, w store.Store, exec func(string), table func(string) string, now time.Time, name, sha string, units []etaUnit) {
	t.Helper()
	h := sweeps.Header{Name: name, Folds: 2, Epochs: 4, Seed: 1, Split: sweeps.KFoldSplit(2, 1),
		Data: "mnist-train (1001 rows)", DataSHA: sha, Engine: sweeps.EngineID()}
	var points []study.Point
	for _, hidden := range [][]int{{128}, {512, 256, 128}} {
		c := engine.DefaultConfig()
		c.Hidden, c.Epochs = hidden, 4
		p, err := study.NewParams(c)
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, study.Point{Axis: "hidden", Value: fmt.Sprint(hidden), Params: p})
	}
	if err := w.SaveStudy(h, points); err != nil {
		t.Fatal(err)
	}
	plan := sweeps.Plan(h, points)
	at := func(ago int) int64 { return now.Add(-time.Duration(ago) * time.Second).UnixNano() }
	for _, u := range units {
		pu := plan[2*u.config+u.fold]
		if u.state == "" {
			continue
		}
		id := pu.ID
		where := fmt.Sprintf("key = '%s' AND fold = %d AND data_sha256 = '%s'", id.Key, id.Fold, sha)
		if err := w.MarkRunning(id, name); err != nil {
			t.Fatal(err)
		}
		if u.stale[0] > 0 {
			if err := w.SaveEpoch(id, name, engine.EpochStats{Epoch: u.stale[0]}); err != nil {
				t.Fatal(err)
			}
			exec(fmt.Sprintf("UPDATE %s SET written = %d WHERE %s AND epoch = %d", table("epoch_scores"), at(u.stale[1]), where, u.stale[0]))
		}
		res := sweeps.UnitResult{Fold: u.fold, Accuracy: 0.9, Machine: sweeps.ThisMachine()}
		for e, ago := range u.epochs {
			res.Epochs = append(res.Epochs, engine.EpochStats{Epoch: e + 1, Accuracy: 0.9})
			if err := w.SaveEpoch(id, name, res.Epochs[e]); err != nil {
				t.Fatal(err)
			}
			exec(fmt.Sprintf("UPDATE %s SET written = %d WHERE %s AND epoch = %d", table("epoch_scores"), at(ago), where, e+1))
		}
		exec(fmt.Sprintf("UPDATE %s SET started = %d WHERE %s", table("units"), at(u.started), where))
		if u.state == "running" {
			continue
		}
		res.Samples = int64(len(u.epochs)) * int64(1001-sizeOfFold(u.fold))
		res.GFLOP = float64(res.Samples) * scheduler.TrainingFLOPsPerRow(pu.Point.Params.Hidden(), 784, 10) / 1e9 // as a sweep records it
		res.Started, res.Finished = at(u.started), at(u.end)
		if u.state == "pruned" {
			res.PrunedAt = len(u.epochs)
		}
		if err := w.SaveUnit(id, name, res); err != nil {
			t.Fatal(err)
		}
	}
}

// sizeOfFold is the held-out rows of fold f of 1001 rows in 2 folds.
func sizeOfFold(f int) int { return 501 - f }

// TestETAByWork: the list's ETA is the work left (epochs × training rows
// × FLOPs per row) at the rate of the work of the last 5 minutes, or
// since the study's first unit started; a running unit's epochs of its
// run so far are done, a pruned unit has none left. The units of the
// 512-256-128 network weigh 6.35 of the 128 one's: counting units gave
// 900 s and 300 s where the work says 4,035 s and 147 s. On SQLite and,
// when the test cluster is there, PostgreSQL.
func TestETAByWork(t *testing.T) {
	fA := scheduler.TrainingFLOPsPerRow([]int{128}, 784, 10)           // 409,088
	fB := scheduler.TrainingFLOPsPerRow([]int{512, 256, 128}, 784, 10) // 2,596,352
	// "arch": the 128 network's fold 0 (500 rows) trained 4 epochs from
	// 400 s ago, 3 of them in the window; its fold 1 (501 rows) runs, 1
	// epoch done since it started (an earlier run's epoch 2 row is not
	// its); the 512-256-128 units wait. The window is 300 s.
	arch := []etaUnit{
		{config: 0, fold: 0, state: "done", started: 400, end: 75, epochs: []int{380, 280, 180, 80}},
		{config: 0, fold: 1, state: "running", started: 60, epochs: []int{10}, stale: [2]int{2, 600}},
	}
	archETA := ((4-1)*501*fA + 4*500*fB + 4*501*fB) / ((3*500 + 1*501) * fA) * 300
	// "fresh": started 100 s ago; the 512-256-128 network's fold 0 was
	// pruned after 2 epochs, both folds of the 128 one trained, fold 1
	// still runs (2 of 4 epochs), and the 512-256-128 fold 1 just started.
	fresh := []etaUnit{
		{config: 0, fold: 0, state: "done", started: 100, end: 55, epochs: []int{90, 80, 70, 60}},
		{config: 1, fold: 0, state: "pruned", started: 100, end: 35, epochs: []int{70, 40}},
		{config: 0, fold: 1, state: "running", started: 50, epochs: []int{30, 5}},
		{config: 1, fold: 1, state: "running", started: 30},
	}
	freshETA := ((4-2)*501*fA + 4*501*fB) / (4*500*fA + 2*500*fB + 2*501*fA) * 100
	if math.Round(archETA) != 4035 || math.Round(freshETA) != 147 {
		t.Fatalf("the test's own figures: %.3f s, %.3f s", archETA, freshETA)
	}
	now := time.Now()
	// check writes both studies into the store at loc, the times set with
	// exec on tables named by table, and lists them from a reader.
	check := func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		writeETAStudy(t, w, exec, table, now, "arch", "sha-arch", arch)
		writeETAStudy(t, w, exec, table, now, "fresh", "sha-fresh", fresh)
		st, err := store.Open(context.Background(), loc, store.ReadOnly)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		infos, err := ListStudies(context.Background(), st, false, now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{"arch": archETA, "fresh": freshETA}
		for _, info := range infos {
			if w := want[info.Name]; math.Abs(info.ETASeconds-w) > 1e-9*w {
				t.Errorf("%s: eta_seconds %.9f, want %.9f (units %d done, %d pruned, %d running of %d)",
					info.Name, info.ETASeconds, w, info.UnitsDone, info.UnitsPruned, info.Running, info.UnitsTotal)
			}
			delete(want, info.Name)
		}
		if len(want) > 0 {
			t.Errorf("not listed: %v", want)
		}
	}

	t.Run("SQLite", func(t *testing.T) {
		dir := t.TempDir()
		var db *sql.DB // opened once the store made the database
		defer func() {
			if db != nil {
				db.Close()
			}
		}()
		exec := func(q string) {
			var err error
			if db == nil {
				if db, err = sql.Open("sqlite", filepath.Join(dir, store.DBName)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err = db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		check(t, dir, exec, func(name string) string { return name }) // SQLite's tables drop the mlpsweep_ prefix
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := storetest.Postgres(t)
		check(t, url, func(q string) { storetest.Exec(t, url, q) }, func(name string) string { return "mlpsweep_" + name })
	})
}

// TestWorkPerRow: data of a shape the record does not tell weighs a
// configuration by what its units recorded, and the others at the mean.
func TestWorkPerRow(t *testing.T) {
	var points []study.Point
	for _, lr := range []float64{0.1, 0.2, 0.3} {
		c := engine.DefaultConfig()
		c.LR = lr
		p, err := study.NewParams(c)
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, study.Point{Params: p})
	}
	h := sweeps.Header{Data: "wine.csv (178 rows)"}
	units := []store.StudyUnit{
		{ID: sweeps.UnitID{Key: points[0].Params.Key()}, Result: sweeps.UnitResult{Samples: 100, GFLOP: 100 * 3000 / 1e9}},
		{ID: sweeps.UnitID{Key: points[1].Params.Key()}, Result: sweeps.UnitResult{Samples: 100, GFLOP: 100 * 5000 / 1e9}},
	}
	m := workPerRow(h, points, units)
	got := fmt.Sprintf("%.6g %.6g %.6g", m[points[0].Params.Key()], m[points[1].Params.Key()], m[points[2].Params.Key()])
	if got != "3000 5000 4000" {
		t.Errorf("per row: %s, want 3000 5000 4000", got)
	}
	if m := workPerRow(h, points, nil); m[points[2].Params.Key()] != 1 {
		t.Errorf("nothing recorded: %v, want 1 each", m)
	}
	if r := trainRows(sweeps.Header{Folds: 2, Seed: 1, Split: sweeps.KFoldSplit(2, 1), Data: "mnist-train (1001 rows)"}); r(0) != 500 || r(1) != 501 {
		t.Errorf("training rows of 1001 in 2 folds: %v, %v", r(0), r(1))
	}
	if r := trainRows(sweeps.Header{Folds: 1, Split: "holdout mnist-test", Data: "MNIST, 60000 training rows"}); r(0) != 1 {
		t.Errorf("a held-out split: %v", r(0))
	}
}
