package serve

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
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
	seconds      float64 // each epoch's training seconds (a fused member's share)
	threads      int     // the GEMM threads its mark records (0: 1; -1: none, as an older mlpsweep's)
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
	trials    int // a sampler's configurations to train (0: none), batch at a time
	batch     int
	curves    bool // its units score their held-out rows after each epoch (sweeps.Schedule.Curves)
	started   int
	units     []etaUnit
}

// header and points are s's record.
func (s etaStudy) header(t *testing.T, now time.Time) (sweeps.Header, []study.Point) {
	t.Helper()
	h := sweeps.Header{Name: s.name, Folds: 2, Epochs: s.epochs, Seed: 1, Split: sweeps.KFoldSplit(2, 1),
		Data: "mnist-train (1001 rows)", DataSHA: s.sha, Engine: sweeps.EngineID(),
		Schedule: sweeps.Schedule{Pruner: s.pruner, Trials: s.trials, Batch: s.batch, Rows: 1001, Features: 784, Classes: 10, Curves: s.curves}, Started: now.Add(-time.Duration(s.started) * time.Second).UnixNano()}
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
		threads := u.threads
		if threads == 0 {
			threads = 1
		}
		if err := w.MarkRunning(id, s.name, max(0, threads)); err != nil {
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
			res.Epochs = append(res.Epochs, engine.EpochStats{Epoch: e + 1, Accuracy: 0.9, ValAccuracy: u.accuracy(e + 1), Seconds: u.seconds})
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

// The forward FLOPs of scoring a held-out row (2 × the multiply-adds of
// each Dense layer), by hand, for the scoring an ETA counts: after each
// epoch with curves or a pruner, else once at a unit's end.
const (
	sA = 2 * (784*128 + 128*10)                     // 203,264
	sB = 2 * (784*512 + 512*256 + 256*128 + 128*10) // 1,133,056
)

// TestETAByWork: the list's ETA is the work left (epochs × training rows
// × FLOPs per row, and the held-out rows' scoring: once at a unit's end,
// or after each epoch with curves) at the rate of the work of the last 5 minutes, or
// since the study's first unit started; a running unit's epochs of its
// run so far are done, a pruned unit has none left. The units of the
// 512-256-128 network weigh 6.35 of the 128 one's: counting units gave
// 900 s and 300 s where the training work says 4,035 s and 147 s (and
// with the scoring 3,992 s and 160 s; with curves 3,880 s). The GFLOP/s is
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
	// Without curves each unit's held-out rows (501 of fold 0, 500 of
	// fold 1) are scored once at its end: the done unit's in the window.
	archETA := ((4-1)*501*fA + 500*sA + 4*500*fB + 501*sB + 4*501*fB + 500*sB) / ((3*500+1*501)*fA + 501*sA) * 300
	// "arch-curves": the same units scored after each epoch (their
	// training and scoring, scheduler.ScoredWork): the page counted
	// training alone, 4035 s.
	wA := [2]float64{500*fA + 501*sA, 501*fA + 500*sA} // an epoch of each fold
	wB := [2]float64{500*fB + 501*sB, 501*fB + 500*sB}
	curvesETA := (3*wA[1] + 4*wB[0] + 4*wB[1]) / (3*wA[0] + wA[1]) * 300
	// "fresh": started 100 s ago; the 512-256-128 network's fold 0 was
	// pruned after 2 epochs, both folds of the 128 one trained, fold 1
	// still runs (2 of 4 epochs), and the 512-256-128 fold 1 just started.
	fresh := []etaUnit{
		{config: 0, fold: 0, state: "done", started: 100, end: 55, epochs: []int{90, 80, 70, 60}},
		{config: 1, fold: 0, state: "pruned", started: 100, end: 35, epochs: []int{70, 40}},
		{config: 0, fold: 1, state: "running", started: 50, epochs: []int{30, 5}},
		{config: 1, fold: 1, state: "running", started: 30},
	}
	freshETA := ((4-2)*501*fA + 500*sA + 4*501*fB + 500*sB) / (4*500*fA + 2*500*fB + 2*501*fA + 501*sA) * 100
	if math.Round(archETA) != 3992 || math.Round(freshETA) != 160 || math.Round(curvesETA) != 3880 {
		t.Fatalf("the test's own figures: %.3f s, %.3f s, %.3f s", archETA, freshETA, curvesETA)
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
		writeETAStudy(t, w, exec, table, now, etaStudy{name: "arch-curves", sha: "sha-arch-curves", hidden: twoNets, epochs: 4, started: 3600, units: arch, curves: true})
		infos := list(t, loc, now)
		// The GFLOP/s is the training work over the same window.
		for name, want := range map[string][3]float64{"arch": {archETA, (3*500 + 1*501) * fA / 300 / 1e9, 1}, "fresh": {freshETA, (4*500*fA + 2*500*fB + 2*501*fA) / 100 / 1e9, 2},
			"arch-curves": {curvesETA, (3*500 + 1*501) * fA / 300 / 1e9, 1}} {
			info, ok := infos[name]
			if !ok || !near(info.ETASeconds, want[0]) || !near(info.GFLOPS, want[1]) || info.ETAForecast != ForecastExact || info.Running != int(want[2]) {
				t.Errorf("%s: eta_seconds %.9f %q, gflops %.9f, running %d; want %.9f exact, %.9f, %v (units %d done, %d pruned of %d)",
					name, info.ETASeconds, info.ETAForecast, info.GFLOPS, info.Running, want[0], want[1], want[2], info.UnitsDone, info.UnitsPruned, info.UnitsTotal)
			}
		}
	})
}

// TestPercentOfPeak: the list's percent of peak is the window's training
// FLOPs over the core-seconds its epochs' steps took (epoch seconds ×
// the unit's GEMM threads), against one core's peak: a fused group of 4
// units marked running by one worker, each epoch's 120 s shared among
// them, reads what one unit of 30 s epochs does (dividing by the units
// running read a quarter of it; a group of 128, 0.1 %), as does one unit
// on 2 threads at 15 s. Units whose marks recorded no threads (an older
// mlpsweep's) give no percent, yet their GFLOP/s. On SQLite and, when the
// test cluster is there, PostgreSQL.
func TestPercentOfPeak(t *testing.T) {
	peak := kernels.MachinePeak().GFLOPS
	if peak <= 0 {
		t.Skip("no peak measured on this machine")
	}
	f := 500 * scheduler.TrainingFLOPsPerRow([]int{128}, 784, 10) // an epoch of fold 0
	want := 100 * f / 30 / 1e9 / peak
	one := []etaUnit{{config: 0, fold: 0, state: "running", started: 100, epochs: []int{70, 40, 10}, seconds: 30}}
	var group []etaUnit
	for c := range 4 {
		group = append(group, etaUnit{config: c, fold: 0, state: "running", started: 250, epochs: []int{130, 10}, seconds: 30})
	}
	threads := []etaUnit{{config: 0, fold: 0, state: "running", started: 100, epochs: []int{85, 70, 55}, seconds: 15, threads: 2}}
	unknown := []etaUnit{{config: 0, fold: 0, state: "running", started: 100, epochs: []int{70, 40, 10}, seconds: 30, threads: -1}}
	now := time.Now()
	four := [][]int{{128}, {128}, {128}, {128}}
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for name, units := range map[string][]etaUnit{"one": one, "group": group, "threads": threads, "unknown": unknown} {
			writeETAStudy(t, w, exec, table, now, etaStudy{name: name, sha: "sha-" + name, hidden: four, epochs: 4, started: 3600, units: units})
		}
		infos := list(t, loc, now)
		for name, u := range map[string]struct {
			running int
			gflops  float64
			percent float64
		}{"one": {1, 3 * f / 100 / 1e9, want}, "group": {4, 2 * 4 * f / 250 / 1e9, want}, "threads": {1, 3 * f / 100 / 1e9, want}, "unknown": {1, 3 * f / 100 / 1e9, 0}} {
			info := infos[name]
			if info.Running != u.running || !near(info.GFLOPS, u.gflops) || !near(info.PercentOfPeak, u.percent) {
				t.Errorf("%s: running %d, gflops %.9f, percent of peak %.9f; want %d, %.9f, %.9f", name, info.Running, info.GFLOPS, info.PercentOfPeak, u.running, u.gflops, u.percent)
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
	kfold := sweeps.Header{Folds: 2, Seed: 1, Split: sweeps.KFoldSplit(2, 1), Schedule: sweeps.Schedule{Rows: 1001}}
	if r, ok := trainRows(kfold); !ok || r(0) != 500 || r(1) != 501 {
		t.Errorf("training rows of 1001 in 2 folds: %v, %v (%v)", r(0), r(1), ok)
	}
	// The description for people does not count: only the recorded shape.
	heldOut := sweeps.Header{Folds: 1, Split: "holdout mnist-test", Data: "MNIST, 50000 training rows, scored on the 10000 test images", Schedule: sweeps.Schedule{Rows: 60000}}
	if r, ok := trainRows(heldOut); !ok || r(0) != 60000 {
		t.Errorf("a held-out split's training rows: %v (%v), want 60000", r(0), ok)
	}
	if r, ok := trainRows(sweeps.Header{Folds: 2, Seed: 1, Split: sweeps.KFoldSplit(2, 1), Data: "wine.csv (178 rows)"}); ok || r(0) != 1 {
		t.Errorf("rows not recorded: %v (%v), want 1 and not known", r(0), ok)
	}
	shaped := sweeps.Header{Schedule: sweeps.Schedule{Features: 13, Classes: 3}}
	if m, known := workPerRow(shaped, points, nil); m[points[2].Params.Key()] != scheduler.TrainingFLOPsPerRow(points[2].Params.Hidden(), 13, 3) || !known[points[2].Params.Key()] {
		t.Errorf("per row from the recorded shape: %v", m)
	}
}

// shaStudy is a study of 9 configurations (hidden 128, learning rates
// 0.01…0.09) of 9 epochs pruned by sha (η 3, first rung 1: rungs at 1 and
// 3) stored mid-run, its latest invocation started 200 s ago: every unit
// trained epoch 1 (from 200–192 s ago), the rung at epoch 1 decided on
// those scores as the local run decides (prune.Run.Decide) and stored,
// the 6 configurations it stopped stored pruned and the 3 it kept (the
// best: 6, 7, 8) training on, fold 0 at epoch 2, fold 1 still at 1. It
// returns the stored study and its decisions, and the outlook the CLI
// takes from the same scores (prune.Run.Outlook after Decide).
func shaStudy(t *testing.T, name string) (etaStudy, []sweeps.Decision, prune.Outlook) {
	t.Helper()
	s := etaStudy{name: name, sha: "sha-" + name, epochs: 9, pruner: &study.Pruner{Kind: "sha", Eta: 3, MinEpochs: 1}, started: 200}
	var keys []string
	for c := range 9 {
		s.hidden = append(s.hidden, []int{128})
		acc := 0.5 + 0.01*float64(c)
		for f := range 2 {
			u := etaUnit{config: c, fold: f, state: "pruned", started: 200 - c, end: 150, epochs: []int{190 - c}, acc: acc + 0.001*float64(f)}
			if c >= 6 {
				u.state, u.end = "running", 0
				if f == 0 {
					u.epochs = append(u.epochs, 20)
				}
			}
			s.units = append(s.units, u)
		}
	}
	h, points := s.header(t, time.Now())
	plan := sweeps.Plan(h, points)
	for c := range 9 {
		keys = append(keys, plan[2*c].ID.Key)
	}
	run, err := prune.New(*s.pruner, 9, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	for c := range 9 {
		u0, u1 := s.units[2*c], s.units[2*c+1]
		run.Report(c, prune.FoldMeans([][]float64{{u0.accuracy(1)}, {u1.accuracy(1)}}, 1)) // the scores every fold reached: epoch 1
	}
	ds := run.Decide()
	if len(ds) != 9 {
		t.Fatalf("the rung at epoch 1 made %d decisions, want 9", len(ds))
	}
	for c, d := range ds {
		if d.Promoted != (c >= 6) {
			t.Fatalf("decision %d: %+v, want configurations 6, 7, 8 promoted", c, d)
		}
	}
	return s, ds, run.Outlook()
}

// TestETAPrunedSHA: the page's ETA of a sha study stored mid-run is the
// CLI's for the same scores: the pruner replayed from the store (its
// recorded pruner, the epoch rows' scores, the decisions taken back)
// gives the 3 live configurations 5 epochs each (rung 3, then 1 of 3 on
// to 9), so the work left is that less what they trained, exact; without
// the recorded pruner it counted them to epoch 9 (what a store of the
// previous schema still says, at most). The window is 200 s: the
// invocation's start.
func TestETAPrunedSHA(t *testing.T) {
	now := time.Now()
	s, ds, o := shaStudy(t, "sha")
	f := scheduler.TrainingFLOPsPerRow([]int{128}, 784, 10)
	w := [2]float64{500*f + 501*sA, 501*f + 500*sA} // an epoch of each fold, its held-out rows scored after it (a rung's)
	// The CLI's figure (scheduler.Run's forecast: the work each unit will
	// have trained, less what it trained; the same rate).
	var left, most float64
	for c := 6; c < 9; c++ {
		if o.Expect[c] != 5 || o.Least[c] != 3 || o.Most[c] != 9 || o.Forecast != prune.Schedule {
			t.Fatalf("the CLI's outlook of configuration %d: %v (least %d, most %d, forecast %d), want 5 (3, 9, schedule)", c, o.Expect[c], o.Least[c], o.Most[c], o.Forecast)
		}
		left += (o.Expect[c]-2)*w[0] + (o.Expect[c]-1)*w[1]
		most += float64(o.Most[c]-2)*w[0] + float64(o.Most[c]-1)*w[1]
	}
	done := 9*(w[0]+w[1]) + 3*w[0] // every epoch row is in the window
	cli := sweeps.ETA(left, done, 200*time.Second).Seconds()
	bound := sweeps.ETA(most, done, 200*time.Second).Seconds()
	if math.Round(cli) != 200 || math.Round(bound) != 429 { // as with training alone: the same work per epoch each
		t.Fatalf("the test's own figures: %.3f s, %.3f s", cli, bound)
	}
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		writeETAStudy(t, w, exec, table, now, s)
		defer w.Close()
		if err := w.ReplaceDecisions(s.name, ds); err != nil {
			t.Fatal(err)
		}
		info := list(t, loc, now)[s.name]
		if !near(info.ETASeconds, cli) || info.ETAForecast != ForecastExact || info.Running != 6 || info.UnitsPruned != 12 {
			t.Errorf("eta_seconds %.9f %q (running %d, pruned %d), want the CLI's %.9f exact (6, 12)", info.ETASeconds, info.ETAForecast, info.Running, info.UnitsPruned, cli)
		}
		// Decisions that do not fit the scores (a rung beyond them): the bound.
		bad := slices.Clone(ds)
		bad[0].Epoch = 3
		if err := w.ReplaceDecisions(s.name, bad); err != nil {
			t.Fatal(err)
		}
		if info := list(t, loc, now)[s.name]; !near(info.ETASeconds, bound) || info.ETAForecast != ForecastAtMost {
			t.Errorf("decisions that do not fit: eta_seconds %.9f %q, want %.9f at most", info.ETASeconds, info.ETAForecast, bound)
		}
		// Before the decisions are stored, sha's rung decides from the scores as the run will.
		exec(fmt.Sprintf("DELETE FROM %s", table("decisions")))
		exec(fmt.Sprintf("UPDATE %s SET state = 'running', finished = NULL WHERE data_sha256 = '%s'", table("units"), s.sha))
		if info := list(t, loc, now)[s.name]; !near(info.ETASeconds, cli) || info.ETAForecast != ForecastExact {
			t.Errorf("the rung not decided yet: eta_seconds %.9f %q, want %.9f exact", info.ETASeconds, info.ETAForecast, cli)
		}
	})
}

// TestETAPrunedSHASizes: sha's rung schedule fixes how many
// configurations go on, not which: with live configurations of two sizes
// the page's ETA is expected (the CLI's ~), as the CLI's is
// (prune.Outlook.OfWork); a pruned configuration of another size leaves
// it exact.
func TestETAPrunedSHASizes(t *testing.T) {
	now := time.Now()
	live, _, _ := shaStudy(t, "live")
	live.hidden[8] = []int{256}
	gone, _, _ := shaStudy(t, "gone")
	gone.hidden[0] = []int{256}
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for _, s := range []etaStudy{live, gone} {
			writeETAStudy(t, w, exec, table, now, s)
		}
		infos := list(t, loc, now)
		for name, want := range map[string]string{"live": ForecastExpected, "gone": ForecastExact} {
			if info := infos[name]; info.ETAForecast != want || info.ETASeconds <= 0 {
				t.Errorf("%s: eta_seconds %.3f %q, want %q", name, info.ETASeconds, info.ETAForecast, want)
			}
		}
	})
}

// TestETAOldSchema: a store of the previous schema (version 7: no
// recorded pruner, data shape or invocation start) holding the same sha
// study opens (a reader migrates it) and keeps the bound: each live unit
// to its last epoch, at most, its folds' epochs alike.
func TestETAOldSchema(t *testing.T) {
	now := time.Now()
	s, ds, _ := shaStudy(t, "old")
	f := scheduler.TrainingFLOPsPerRow([]int{128}, 784, 10)
	// The store did not record the data's rows: each fold's epoch weighs
	// its FLOPs per row alone.
	most := 3 * ((9-2)*f + (9-1)*f)
	done := 9*(f+f) + 3*f
	bound := sweeps.ETA(most, done, 200*time.Second).Seconds() // the first unit started 200 s ago
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		writeETAStudy(t, w, exec, table, now, s)
		if err := w.ReplaceDecisions(s.name, ds); err != nil {
			t.Fatal(err)
		}
		w.Close()
		exec(fmt.Sprintf("ALTER TABLE %s DROP COLUMN schedule", table("study")))
		exec(fmt.Sprintf("ALTER TABLE %s DROP COLUMN run_started", table("study")))
		exec(fmt.Sprintf("ALTER TABLE %s DROP COLUMN threads", table("units")))
		for _, c := range []string{"study", "started", "host", "cpu", "isa", "error"} { // schema 11's and 12's
			exec(fmt.Sprintf("ALTER TABLE %s DROP COLUMN retrain_%s", table("units"), c))
		}
		if table("x") == "x" {
			exec("PRAGMA user_version = 7")
		} else {
			exec("UPDATE mlpsweep_schema SET version = 7")
		}
		info := list(t, loc, now)[s.name]
		if !near(info.ETASeconds, bound) || info.ETAForecast != ForecastAtMost || info.Running != 6 {
			t.Errorf("eta_seconds %.9f %q (running %d), want %.9f at most (6)", info.ETASeconds, info.ETAForecast, info.Running, bound)
		}
	})
}

// TestETAStaleRunning: a study resumed 60 s ago after its earlier run
// was killed still has that run's unit marked running (since 1000 s ago,
// its epoch 1 written 990 s ago). The mark is stale: not in flight, and
// its every epoch is left; the window starts with the new run's first
// unit (50 s ago), not 5 minutes ago as the stale mark made it (an ETA
// 6 times too high).
func TestETAStaleRunning(t *testing.T) {
	now := time.Now()
	fA := scheduler.TrainingFLOPsPerRow([]int{128}, 784, 10)
	fB := scheduler.TrainingFLOPsPerRow([]int{512, 256, 128}, 784, 10)
	units := []etaUnit{
		{config: 0, fold: 0, state: "done", started: 2000, end: 1500, epochs: []int{1900, 1800, 1700, 1600}},
		{config: 0, fold: 1, state: "running", started: 1000, epochs: []int{990}}, // the killed run's
		{config: 1, fold: 0, state: "running", started: 50, epochs: []int{30, 5}},
	}
	left := 4*501*fA + 500*sA + 2*500*fB + 501*sB + 4*501*fB + 500*sB // each scored once at its end
	done := 2 * 500 * fB
	want := sweeps.ETA(left, done, 50*time.Second).Seconds()
	if math.Round(want) != 190 {
		t.Fatalf("the test's own figure: %.3f s", want)
	}
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		writeETAStudy(t, w, exec, table, now, etaStudy{name: "resumed", sha: "sha-resumed", hidden: [][]int{{128}, {512, 256, 128}}, epochs: 4, started: 60, units: units})
		info := list(t, loc, now)["resumed"]
		if !near(info.ETASeconds, want) || info.Running != 1 || info.Machines != 1 || !near(info.GFLOPS, done/50/1e9) {
			t.Errorf("eta_seconds %.9f, running %d, machines %d, gflops %.9f; want %.9f, 1, 1, %.9f", info.ETASeconds, info.Running, info.Machines, info.GFLOPS, want, done/50/1e9)
		}
		// The stale unit started again by the new run (10 s ago) is in flight.
		id := sweeps.Plan(etaStudy{name: "resumed", sha: "sha-resumed", hidden: [][]int{{128}, {512, 256, 128}}, epochs: 4}.header(t, now))[1].ID
		if err := w.MarkRunning(id, "resumed", 1); err != nil {
			t.Fatal(err)
		}
		exec(fmt.Sprintf("UPDATE %s SET started = %d WHERE key = '%s' AND fold = 1 AND data_sha256 = 'sha-resumed'", table("units"), now.Add(-10*time.Second).UnixNano(), id.Key))
		if info := list(t, loc, now)["resumed"]; info.Running != 2 || !near(info.ETASeconds, want) {
			t.Errorf("started again: running %d, eta_seconds %.9f; want 2, %.9f", info.Running, info.ETASeconds, want)
		}
	})
}

// TestETASampled: a sampled study's configurations not proposed yet count
// at the mean work of an epoch of those proposed (their folds together),
// as many epochs as its pruner's schedule gives a batch of them
// (prune.Future), and the ETA is an expectation. 2 of 5 trials proposed
// (hidden 128 and 512-256-128, 4 epochs), the first running (fold 0 at
// epoch 2 since 40 s ago), the others waiting: without a pruner 3 × 4
// epochs to come; with sha (η 2, first rung 1: rungs 1 and 2; batches of
// 2) a configuration of a batch of 2 expects 2.5 epochs (1, then 1 of the
// 2 on to 4), the last one alone 4.
func TestETASampled(t *testing.T) {
	now := time.Now()
	fA := scheduler.TrainingFLOPsPerRow([]int{128}, 784, 10)
	fB := scheduler.TrainingFLOPsPerRow([]int{512, 256, 128}, 784, 10)
	mean := (1001*fA + 1001*fB) / 2       // an epoch of a configuration, both folds
	final := float64(1001*sA+1001*sB) / 2 // its scoring at each unit's end, both folds (no curves)
	units := []etaUnit{{config: 0, fold: 0, state: "running", started: 40, epochs: []int{30, 10}}}
	proposed := (4-2)*500*fA + 4*501*fA + 4*1001*fB + 1001*sA + 1001*sB
	done := 2 * 500 * fA
	sha := &study.Pruner{Kind: "sha", Eta: 2, MinEpochs: 1}
	future := prune.Future(sha, 4, 3, 2) // a batch of 2, then 1 alone
	want := map[string]float64{
		"tpe": sweeps.ETA(proposed+3*4*mean+3*final, done, 40*time.Second).Seconds(),
	}
	// The pruned study's own proposed configurations are a batch of 2 judged by sha.
	run, err := prune.New(*sha, 4, []string{"a", "b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := run.Outlook()
	// sha scores each epoch: its held-out rows (501, 500) count in each.
	wA := [2]float64{500*fA + 501*sA, 501*fA + 500*sA}
	shaMean := mean + float64(1001*sA+1001*sB)/2
	shaProposed := (o.Expect[0]-2)*wA[0] + o.Expect[0]*wA[1] + o.Expect[1]*(1001*fB+1001*sB)
	want["tpe-sha"] = sweeps.ETA(shaProposed+future[1]*shaMean, 2*wA[0], 40*time.Second).Seconds()
	if future[1] != 2*2.5+4 || o.Expect[0] != 2.5 {
		t.Fatalf("the test's own outlook: %v epochs to come, %v a configuration", future, o.Expect[0])
	}
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		twoNets := [][]int{{128}, {512, 256, 128}}
		writeETAStudy(t, w, exec, table, now, etaStudy{name: "tpe", sha: "sha-tpe", hidden: twoNets, epochs: 4, trials: 5, started: 60, units: units})
		writeETAStudy(t, w, exec, table, now, etaStudy{name: "tpe-sha", sha: "sha-tpe-sha", hidden: twoNets, epochs: 4, trials: 5, batch: 2, pruner: sha, started: 60, units: units})
		infos := list(t, loc, now)
		for name, eta := range want {
			if info := infos[name]; !near(info.ETASeconds, eta) || info.ETAForecast != ForecastExpected {
				t.Errorf("%s: eta_seconds %.9f %q, want %.9f expected", name, info.ETASeconds, info.ETAForecast, eta)
			}
		}
	})
}

// TestRetrainedPrunedUnitRuns: a unit study a stopped (stored pruned at
// epoch 1) that study b trains further is running on b's page, its
// epochs since b started it done, and pruned on a's; once b stores its
// own deeper stop it is pruned on both, b's mark cleared. It counted as
// pruned on b's page, not running. On SQLite and, when the test cluster
// is there, PostgreSQL.
func TestRetrainedPrunedUnitRuns(t *testing.T) {
	now := time.Now()
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		w, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		a := etaStudy{name: "a", sha: "sha-shared", hidden: [][]int{{128}}, epochs: 4, started: 300,
			units: []etaUnit{{config: 0, fold: 0, state: "pruned", started: 290, end: 280, epochs: []int{285}}}}
		plan := writeETAStudy(t, w, exec, table, now, a)
		b := a
		b.name, b.started, b.units = "b", 60, nil
		writeETAStudy(t, w, exec, table, now, b)
		id := plan[0].ID
		if err := w.MarkRunning(id, "b", 2); err != nil {
			t.Fatal(err)
		}
		where := fmt.Sprintf("key = '%s' AND fold = 0 AND data_sha256 = 'sha-shared'", id.Key)
		exec(fmt.Sprintf("UPDATE %s SET retrain_started = %d WHERE %s", table("units"), now.Add(-50*time.Second).UnixNano(), where))
		for e := 1; e <= 2; e++ { // b's epochs 1 and 2 so far
			if err := w.SaveEpoch(id, "b", engine.EpochStats{Epoch: e, Accuracy: 0.9, ValAccuracy: 0.9, Seconds: 10}); err != nil {
				t.Fatal(err)
			}
			exec(fmt.Sprintf("UPDATE %s SET written = %d WHERE %s AND epoch = %d", table("epoch_scores"), now.Add(-time.Duration(40-10*e)*time.Second).UnixNano(), where, e))
		}
		infos := list(t, loc, now)
		f := scheduler.TrainingFLOPsPerRow([]int{128}, 784, 10)
		// b: epochs 3 and 4 of fold 0 and 4 of fold 1 left, 2 done in the
		// 50 s since it started the unit.
		// Each is scored once at its end (501 and 500 held-out rows).
		want := sweeps.ETA(2*500*f+501*sA+4*501*f+500*sA, 2*500*f, 50*time.Second).Seconds()
		if got := infos["b"]; got.Running != 1 || got.UnitsPruned != 0 || got.Machines != 1 || !near(got.ETASeconds, want) {
			t.Errorf("b, which trains the unit further: running %d, pruned %d, machines %d, eta %.3f; want 1, 0, 1, %.3f", got.Running, got.UnitsPruned, got.Machines, got.ETASeconds, want)
		}
		if got := infos["a"]; got.Running != 0 || got.UnitsPruned != 1 {
			t.Errorf("a, which stopped the unit: running %d, pruned %d; want 0, 1", got.Running, got.UnitsPruned)
		}
		doc, err := LoadDocument(context.Background(), w, "b", false)
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Units) != 1 || doc.Units[0].State != "running" || len(doc.Units[0].Epochs) != 2 {
			t.Errorf("b's page: units %+v, want the unit running with 2 epochs", doc.Units)
		}

		// b stops it deeper, at epoch 2.
		res := sweeps.UnitResult{Accuracy: 0.9, PrunedAt: 2, Machine: sweeps.ThisMachine(), Finished: now.UnixNano(),
			Epochs: []engine.EpochStats{{Epoch: 1}, {Epoch: 2}}}
		if err := w.SaveUnit(id, "b", res); err != nil {
			t.Fatal(err)
		}
		if got := list(t, loc, now)["b"]; got.Running != 0 || got.UnitsPruned != 1 {
			t.Errorf("b after storing its stop: running %d, pruned %d; want 0, 1 (its mark cleared)", got.Running, got.UnitsPruned)
		}
	})
}

// TestETAResumedFromCheckpoint: a unit a queue worker continues from its
// checkpoint (a pruned study's next stage) is marked running again as
// the stage starts; its epochs up to the checkpoint are trained, though
// written before that mark. They counted from 0 until its first new
// epoch was written (epoch 3 of 4 counted as none: 4 epochs left, not
// 1). Two configurations of hidden 128, curves on, 4 epochs: fold 0 of
// the first done (epochs 280 to 220 s ago), its fold 1 at 3 epochs (200
// to 100 s ago) and checkpointed there, marked running again 20 s ago;
// the window starts 290 s ago with the first unit. On SQLite and, when
// the test cluster is there, PostgreSQL.
func TestETAResumedFromCheckpoint(t *testing.T) {
	now := time.Now()
	f := scheduler.TrainingFLOPsPerRow([]int{128}, 784, 10)
	w := [2]float64{500*f + 501*sA, 501*f + 500*sA} // an epoch of each fold, scored after it
	want := sweeps.ETA(1*w[1]+4*w[0]+4*w[1], 4*w[0]+3*w[1], 290*time.Second).Seconds()
	if math.Round(want) != 373 {
		t.Fatalf("the test's own figure: %.3f s", want)
	}
	s := etaStudy{name: "staged", sha: "sha-staged", hidden: [][]int{{128}, {128}}, epochs: 4, started: 300, curves: true, units: []etaUnit{
		{config: 0, fold: 0, state: "done", started: 290, end: 210, epochs: []int{280, 260, 240, 220}},
		{config: 0, fold: 1, state: "running", started: 20, epochs: []int{200, 150, 100}},
	}}
	onBoth(t, func(t *testing.T, loc string, exec func(string), table func(string) string) {
		st, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		id := writeETAStudy(t, st, exec, table, now, s)[1].ID
		exec(fmt.Sprintf(`INSERT INTO mlpsweep_checkpoints (key, fold, split, seed, data_sha256, engine_version, epoch, state, study, written)
			VALUES ('%s', %d, '%s', %d, '%s', '%s', 3, '', 'staged', %d)`, id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, now.Add(-90*time.Second).UnixNano()))
		if info := list(t, loc, now)["staged"]; !near(info.ETASeconds, want) || info.Running != 1 {
			t.Errorf("eta_seconds %.9f, running %d; want %.9f, 1", info.ETASeconds, info.Running, want)
		}
	})
}
