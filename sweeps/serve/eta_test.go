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
	state        string  // done, pruned, running; "": never started
	started, end int     // seconds ago (end: finished)
	epochs       []int   // seconds ago each epoch's row was written, epoch 1 first
	stale        [2]int  // a row of an earlier run: epoch, seconds ago (0, 0: none)
	acc          float64 // held-out accuracy at epoch e: acc + e/1000 (0: 0.9 each)
}

// etaStudy is an ETA test's study: 1001 MNIST rows in 2 folds (500 and
// 501 training rows), a configuration per hidden widths (a learning rate
// apart when they repeat), its pruner recorded with it, its latest
// invocation started seconds ago.
type etaStudy struct {
	name, sha string
	hidden    [][]int
	epochs    int
	pruner    *study.Pruner
	started   int
	units     []etaUnit
}

// header and points are s's record.
func (s etaStudy) header(t *testing.T, now time.Time) (sweeps.Header, []study.Point) {
	t.Helper()
	h := sweeps.Header{Name: s.name, Folds: 2, Epochs: s.epochs, Seed: 1, Split: sweeps.KFoldSplit(2, 1),
		Data: "mnist-train (1001 rows)", DataSHA: s.sha, Engine: sweeps.EngineID(),
		Schedule: sweeps.Schedule{Pruner: s.pruner}, Started: now.Add(-time.Duration(s.started) * time.Second).UnixNano()}
	var points []study.Point
	for i, hidden := range s.hidden {
		c := engine.DefaultConfig()
		c.Hidden, c.Epochs, c.LR = hidden, s.epochs, 0.01*float64(i+1)
		p, err := study.NewParams(c)
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, study.Point{Axis: "hidden", Value: fmt.Sprint(hidden), Params: p})
	}
	return h, points
}

// accuracy is u's held-out accuracy at epoch e.
func (u etaUnit) accuracy(e int) float64 {
	if u.acc == 0 {
		return 0.9
	}
	return u.acc + float64(e)/1000
}

// writeETAStudy stores study s with its units as given, setting the
// times a store sets itself with exec (SQL on tables named by table),
// and returns its plan.
func writeETAStudy(t *testing.T, w store.Store, exec func(string), table func(string) string, now time.Time, s etaStudy) []sweeps.Unit {
	t.Helper()
	h, points := s.header(t, now)
	if err := w.SaveStudy(h, points); err != nil {
		t.Fatal(err)
	}
	plan := sweeps.Plan(h, points)
	at := func(ago int) int64 { return now.Add(-time.Duration(ago) * time.Second).UnixNano() }
	for _, u := range s.units {
		pu := plan[2*u.config+u.fold]
		if u.state == "" {
			continue
		}
		id := pu.ID
		where := fmt.Sprintf("key = '%s' AND fold = %d AND data_sha256 = '%s'", id.Key, id.Fold, s.sha)
		if err := w.MarkRunning(id, s.name); err != nil {
			t.Fatal(err)
		}
		if u.stale[0] > 0 {
			if err := w.SaveEpoch(id, s.name, engine.EpochStats{Epoch: u.stale[0]}); err != nil {
				t.Fatal(err)
			}
			exec(fmt.Sprintf("UPDATE %s SET written = %d WHERE %s AND epoch = %d", table("epoch_scores"), at(u.stale[1]), where, u.stale[0]))
		}
		res := sweeps.UnitResult{Fold: u.fold, Accuracy: 0.9, Machine: sweeps.ThisMachine()}
		for e, ago := range u.epochs {
			res.Epochs = append(res.Epochs, engine.EpochStats{Epoch: e + 1, Accuracy: 0.9, ValAccuracy: u.accuracy(e + 1)})
			if err := w.SaveEpoch(id, s.name, res.Epochs[e]); err != nil {
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
		if err := w.SaveUnit(id, s.name, res); err != nil {
			t.Fatal(err)
		}
	}
	return plan
}

// onBoth runs check on a fresh SQLite store and, when the test cluster
// is there, a PostgreSQL one: loc is the store, exec runs SQL on it
// behind its back, table names its tables (SQLite's drop the mlpsweep_
// prefix).
func onBoth(t *testing.T, check func(t *testing.T, loc string, exec func(string), table func(string) string)) {
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
		check(t, dir, exec, func(name string) string { return name })
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := storetest.Postgres(t)
		check(t, url, func(q string) { storetest.Exec(t, url, q) }, func(name string) string { return "mlpsweep_" + name })
	})
}

// list lists the studies of the store at loc from a reader at now, by name.
func list(t *testing.T, loc string, now time.Time) map[string]StudyInfo {
	t.Helper()
	st, err := store.Open(context.Background(), loc, store.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	infos, err := ListStudies(context.Background(), st, false, now)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]StudyInfo{}
	for _, info := range infos {
		m[info.Name] = info
	}
	return m
}

// near reports whether got is want to 9 digits.
func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Abs(want) }

// sizeOfFold is the held-out rows of fold f of 1001 rows in 2 folds.
func sizeOfFold(f int) int { return 501 - f }

// TestETAByWork: the list's ETA is the work left (epochs × training rows
// × FLOPs per row) at the rate of the work of the last 5 minutes, or
// since the study's first unit started; a running unit's epochs of its
// run so far are done, a pruned unit has none left. The units of the
// 512-256-128 network weigh 6.35 of the 128 one's: counting units gave
// 900 s and 300 s where the work says 4,035 s and 147 s. The GFLOP/s is
// that work over that window (it divided the units finished in the last 5
// minutes by 5 minutes). On SQLite and, when the test cluster is there,
// PostgreSQL.
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
	twoNets := [][]int{{128}, {512, 256, 128}}
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		writeETAStudy(t, w, exec, table, now, etaStudy{name: "arch", sha: "sha-arch", hidden: twoNets, epochs: 4, started: 3600, units: arch})
		writeETAStudy(t, w, exec, table, now, etaStudy{name: "fresh", sha: "sha-fresh", hidden: twoNets, epochs: 4, started: 3600, units: fresh})
		infos := list(t, loc, now)
		// The GFLOP/s is the same work over the same window.
		for name, want := range map[string][3]float64{"arch": {archETA, (3*500 + 1*501) * fA / 300 / 1e9, 1}, "fresh": {freshETA, (4*500*fA + 2*500*fB + 2*501*fA) / 100 / 1e9, 2}} {
			info, ok := infos[name]
			if !ok || !near(info.ETASeconds, want[0]) || !near(info.GFLOPS, want[1]) || info.ETAForecast != ForecastExact || info.Running != int(want[2]) {
				t.Errorf("%s: eta_seconds %.9f %q, gflops %.9f, running %d; want %.9f exact, %.9f, %v (units %d done, %d pruned of %d)",
					name, info.ETASeconds, info.ETAForecast, info.GFLOPS, info.Running, want[0], want[1], want[2], info.UnitsDone, info.UnitsPruned, info.UnitsTotal)
			}
		}
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
	m, known := workPerRow(h, points, units)
	got := fmt.Sprintf("%.6g %.6g %.6g", m[points[0].Params.Key()], m[points[1].Params.Key()], m[points[2].Params.Key()])
	if got != "3000 5000 4000" || !known[points[1].Params.Key()] || known[points[2].Params.Key()] {
		t.Errorf("per row: %s (known %v), want 3000 5000 4000, the last not known", got, known)
	}
	if m, _ := workPerRow(h, points, nil); m[points[2].Params.Key()] != 1 {
		t.Errorf("nothing recorded: %v, want 1 each", m)
	}
	if r := trainRows(sweeps.Header{Folds: 2, Seed: 1, Split: sweeps.KFoldSplit(2, 1), Data: "mnist-train (1001 rows)"}); r(0) != 500 || r(1) != 501 {
		t.Errorf("training rows of 1001 in 2 folds: %v, %v", r(0), r(1))
	}
	if r := trainRows(sweeps.Header{Folds: 1, Split: "holdout mnist-test", Data: "MNIST, 60000 training rows, scored on the 10000 test images"}); r(0) != 60000 {
		t.Errorf("a held-out split's training rows: %v, want 60000", r(0))
	}
	if r := trainRows(sweeps.Header{Folds: 1, Split: "holdout x", Data: "wine.csv (178 rows)"}); r(0) != 1 {
		t.Errorf("rows not told: %v, want 1", r(0))
	}
}
