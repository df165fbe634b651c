package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps/prune"
)

// tpeStudy is a TPE study of n configurations of one size proposed 4 at
// a time, 2 folds, epochs epochs.
func tpeStudy(epochs, n int) string {
	return fmt.Sprintf(`
name: tpe
folds: 2
epochs: %d
seed: 5
base: {hidden: [16], batch: 16, optimizer: sgd}
sampler: {kind: tpe, n: %d, seed: 1, batch: 4, params: {lr: {log_uniform: [0.001, 0.3]}}}
`, epochs, n)
}

// statuses runs src and returns the status of every event from Planned on.
func statuses(t *testing.T, src string, opt Options) []Status {
	t.Helper()
	var ss []Status
	opt.Dir = t.TempDir()
	opt.Progress = func(e Event) {
		if e.Kind == Planned && len(ss) > 0 {
			t.Errorf("planned twice")
		}
		ss = append(ss, e.Status)
	}
	if _, err := RunStudy(context.Background(), parse(t, src), shaData(), opt); err != nil {
		t.Fatal(err)
	}
	if len(ss) == 0 {
		t.Fatal("no events")
	}
	return ss
}

// TestForecastOfPrunedStudies: the work a pruned study's progress expects
// to train, against what it then trained. With sha and hyperband (their
// rung schedule) the forecast equals the work trained from the first
// event on (all configurations the same size, none diverging: 12 → 4 at
// epoch 1 → 1 at epoch 3 is 12 + 4·2 + 3 = 23 configuration-epochs of
// the 72 of the full study); with asha it is an expectation that ends at
// the work trained; with median, bounds that hold at every event; and
// a unit that diverges takes its lost epochs off the forecast.
func TestForecastOfPrunedStudies(t *testing.T) {
	// 400 rows, 2 folds: 200 training rows each, and 200 held-out rows
	// scored after each epoch.
	epochWork := EpochFLOPs([]int{16}, 10, 3, 200) + ScoringFLOPs([]int{16}, 10, 3, 200)
	for _, c := range []struct {
		pruner   string
		forecast prune.Forecast
		epochs   int64 // unit-epochs the schedule fixes; 0: not fixed
	}{
		{"{kind: sha, eta: 3}", prune.Schedule, 2 * 23},
		{"{kind: hyperband, eta: 3}", prune.Schedule, 0},
		{"{kind: asha, eta: 3}", prune.Expected, 0},
		{"{kind: median, min_epochs: 2, startup: 4}", prune.Bounded, 0},
	} {
		ss := statuses(t, kindsStudy+"pruner: "+c.pruner+"\n", Options{Workers: 2})
		first, last := ss[0], ss[len(ss)-1]
		done := last.WorkDone
		if first.Forecast != c.forecast || first.WorkFull != 2*12*6*epochWork {
			t.Errorf("%s: forecast %v, full work %d; want %v, %d", c.pruner, first.Forecast, first.WorkFull, c.forecast, 2*12*6*epochWork)
		}
		if c.epochs > 0 && done != c.epochs*epochWork {
			t.Errorf("%s: %d unit-epochs trained, want %d", c.pruner, done/epochWork, c.epochs)
		}
		if last.WorkToRun != done || last.WorkLeast != done || last.WorkMost != done {
			t.Errorf("%s: forecast at the end [%d, %d, %d], %d trained", c.pruner, last.WorkLeast, last.WorkToRun, last.WorkMost, done)
		}
		for i, s := range ss {
			if s.WorkLeast > done || done > s.WorkMost || s.WorkDone > s.WorkToRun {
				t.Fatalf("%s: event %d: forecast [%d, %d, %d] with %d done; %d trained in the end", c.pruner, i, s.WorkLeast, s.WorkToRun, s.WorkMost, s.WorkDone, done)
			}
			if c.forecast == prune.Schedule && s.WorkToRun != done {
				t.Fatalf("%s: event %d: %d unit-epochs forecast, %d trained", c.pruner, i, s.WorkToRun/epochWork, done/epochWork)
			}
		}
		t.Logf("%s: %d unit-epochs forecast before training ([%d, %d]), %d trained, %d without a pruner", c.pruner,
			first.WorkToRun/epochWork, first.WorkLeast/epochWork, first.WorkMost/epochWork, done/epochWork, first.WorkFull/epochWork)
	}

	// Two configurations of shaStudy diverge in their first epoch (lr
	// 1e30): their units train nothing, and the forecast of 2 × (8 + 2·2
	// + 1) unit-epochs drops to the 22 trained.
	ss := statuses(t, shaStudy, Options{Workers: 2})
	if first, last := ss[0], ss[len(ss)-1]; first.WorkToRun != 26*epochWork || last.WorkToRun != 22*epochWork || last.WorkDone != 22*epochWork {
		t.Errorf("diverging: %d unit-epochs forecast, then %d, %d trained; want 26, 22, 22", first.WorkToRun/epochWork, last.WorkToRun/epochWork, last.WorkDone/epochWork)
	}
}

// TestForecastOfSampledStudy: a TPE study's progress covers the whole
// study (not batch by batch): one Planned event for all its units, units
// and work done that only grow, and a forecast of the batches not yet
// proposed that, with sha, equals the unit-epochs then trained (one
// configuration size).
func TestForecastOfSampledStudy(t *testing.T) {
	src := tpeStudy(4, 14) + "pruner: {kind: sha, eta: 3}\n"
	epochWork := EpochFLOPs([]int{16}, 10, 3, 200) + ScoringFLOPs([]int{16}, 10, 3, 200) // and 200 held-out rows scored
	var ss []Status
	planned := 0
	_, err := RunSearch(context.Background(), parse(t, src), shaData(), 2, Options{Dir: t.TempDir(), Workers: 2, Progress: func(e Event) {
		if e.Kind == Planned {
			planned++
		}
		ss = append(ss, e.Status)
	}})
	if err != nil {
		t.Fatal(err)
	}
	last := ss[len(ss)-1]
	// Batches of 4, 4, 4, 2: 4 → 1 at epoch 1 → 1 to epoch 4 (4 + 3),
	// and 2 → 1 (2 + 3): 3·7 + 5 = 26 configuration-epochs, 2 folds each.
	if planned != 1 || last.UnitsTotal != 28 || last.UnitsDone != 28 || last.WorkDone != 52*epochWork {
		t.Fatalf("%d Planned events; at the end %d of %d units done, %d unit-epochs; want 1, 28 of 28, 52", planned, last.UnitsDone, last.UnitsTotal, last.WorkDone/epochWork)
	}
	for i, s := range ss {
		if s.WorkToRun != last.WorkDone || s.UnitsTotal != 28 {
			t.Fatalf("event %d: %d unit-epochs forecast, %d units; %d trained", i, s.WorkToRun/epochWork, s.UnitsTotal, last.WorkDone/epochWork)
		}
		if i > 0 && (s.WorkDone < ss[i-1].WorkDone || s.UnitsDone < ss[i-1].UnitsDone || s.Elapsed < ss[i-1].Elapsed) {
			t.Fatalf("event %d: progress went back: %+v after %+v", i, s, ss[i-1])
		}
		if s.Forecast != prune.Expected && s.UnitsDone < 24 {
			t.Fatalf("event %d: forecast %v before the last batch, want an estimate", i, s.Forecast)
		}
	}
}

// TestTotalTimeOverInvocations: a study stopped and run again reports as
// its time the sum of both invocations' (as the store keeps it), not the
// second's alone, and the store and the result agree; so does a pruned
// study stopped in its first stage, before it stored any unit.
func TestTotalTimeOverInvocations(t *testing.T) {
	for _, c := range []struct {
		src  string
		stop EventKind // the 10th of which stops the first invocation
	}{
		{kindsStudy, UnitDone},
		{kindsStudy + "pruner: sha\n", UnitDone},
		{kindsStudy + "pruner: sha\n", EpochDone},
	} {
		src := c.src
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		events := 0
		start := time.Now()
		first, err := RunStudy(ctx, parse(t, src), shaData(), Options{Dir: dir, Workers: 2, Progress: func(e Event) {
			if e.Kind == c.stop {
				if events++; events == 10 {
					cancel()
				}
			}
		}})
		firstWall := time.Since(start).Seconds()
		cancel()
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("interrupted: %v", err)
		}
		if first.UnitsRun == 0 != (c.stop == EpochDone) || first.TotalSeconds <= 0 || first.TotalSeconds > firstWall {
			t.Fatalf("first invocation stopped at the 10th event %d: %d units, %v s (wall %v s)", c.stop, first.UnitsRun, first.TotalSeconds, firstWall)
		}
		start = time.Now()
		second, err := RunStudy(context.Background(), parse(t, src), shaData(), Options{Dir: dir, Workers: 2})
		secondWall := time.Since(start).Seconds()
		if err != nil {
			t.Fatal(err)
		}
		this := second.GFLOP / second.GFLOPS // this invocation's wall time, as its rate has it
		if second.UnitsRun == 0 || second.UnitsReused == 0 != (c.stop == EpochDone) || this <= 0 {
			t.Fatalf("resumed: %d units trained, %d reused, rate over %v s", second.UnitsRun, second.UnitsReused, this)
		}
		if second.TotalSeconds < first.TotalSeconds+this-1e-9 || second.TotalSeconds > firstWall+secondWall {
			t.Errorf("resumed: total %v s; first invocation %v s, second %v s (walls %v, %v)", second.TotalSeconds, first.TotalSeconds, this, firstWall, secondWall)
		}
		if math.Abs(second.TotalSeconds-(first.TotalSeconds+this)) > 1e-6 {
			t.Errorf("resumed: total %v s, not the sum of %v and %v", second.TotalSeconds, first.TotalSeconds, this)
		}
		back := loadStudy(t, dir, "", "kinds")
		if back.TotalSeconds != second.TotalSeconds {
			t.Errorf("the store has %v s, the sweep %v s", back.TotalSeconds, second.TotalSeconds)
		}
		// Run again: nothing to train, the total unchanged.
		third, err := RunStudy(context.Background(), parse(t, src), shaData(), Options{Dir: dir, Workers: 2})
		if err != nil || third.UnitsRun != 0 || third.TotalSeconds != second.TotalSeconds {
			t.Errorf("rerun with nothing to train: %v, %d units, total %v s; want %v s", err, third.UnitsRun, third.TotalSeconds, second.TotalSeconds)
		}
		if strings.Contains(src, "pruner") && len(second.Decisions) == 0 {
			t.Error("pruned study without decisions")
		}
	}
}

// TestTotalTimeOfSampledStudy: a TPE study stopped in its second batch
// and run again reports the time of both invocations, as the store has
// it; a rerun with nothing to train leaves it unchanged. Each run's
// progress is planned once, counting the units the store has.
func TestTotalTimeOfSampledStudy(t *testing.T) {
	src := tpeStudy(3, 8)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	first, err := RunSearch(ctx, parse(t, src), shaData(), 2, Options{Dir: dir, Workers: 2, Progress: func(e Event) {
		if e.Kind == EpochDone && e.Status.UnitsDone == 8 { // the first batch is stored, the second trains
			cancel()
		}
	}})
	firstWall := time.Since(start).Seconds()
	cancel()
	if !errors.Is(err, ErrInterrupted) || first.TotalSeconds <= 0 || first.TotalSeconds > firstWall {
		t.Fatalf("interrupted: %v, %v s (wall %v s)", err, first.TotalSeconds, firstWall)
	}
	var planned []Status
	opt := Options{Dir: dir, Workers: 2, Progress: func(e Event) {
		if e.Kind == Planned {
			planned = append(planned, e.Status)
		}
	}}
	start = time.Now()
	second, err := RunSearch(context.Background(), parse(t, src), shaData(), 2, opt)
	secondWall := time.Since(start).Seconds()
	// Planned at the first batch with units to train: the second.
	if len(planned) != 1 || planned[0].UnitsTotal != 16 || planned[0].UnitsReused != 8 || planned[0].UnitsToRun != 8 {
		t.Errorf("resumed: planned %+v; want once, 16 units, 8 stored", planned)
	}
	if err != nil {
		t.Fatal(err)
	}
	if second.TotalSeconds <= first.TotalSeconds || second.TotalSeconds > firstWall+secondWall {
		t.Errorf("resumed: total %v s after %v s; walls %v and %v s", second.TotalSeconds, first.TotalSeconds, firstWall, secondWall)
	}
	if back := loadStudy(t, dir, "", "tpe"); back.TotalSeconds != second.TotalSeconds {
		t.Errorf("the store has %v s, the sweep %v s", back.TotalSeconds, second.TotalSeconds)
	}
	planned = nil
	third, err := RunSearch(context.Background(), parse(t, src), shaData(), 2, opt)
	if err != nil || third.TotalSeconds != second.TotalSeconds {
		t.Errorf("rerun with nothing to train: %v, total %v s, want %v s", err, third.TotalSeconds, second.TotalSeconds)
	}
	if len(planned) != 1 || planned[0].UnitsReused != 16 || planned[0].UnitsToRun != 0 {
		t.Errorf("rerun with nothing to train: planned %+v; want once, 16 units stored", planned)
	}
}

// TestForecastOfMixedSizes: a sha study of two network sizes forecasts
// its work as an expectation (the rungs fix how many configurations go
// on, not which, so not the work), until its last rung is decided; then
// the forecast is the work the run did. One size: the schedule's, exact
// (TestForecastOfPrunedStudies).
func TestForecastOfMixedSizes(t *testing.T) {
	ss := statuses(t, `
name: sizes
folds: 2
epochs: 4
seed: 5
base: {hidden: [16], batch: 16, optimizer: sgd}
grid:
  hidden: [[4], [64]]
  lr: [0.3, 0.1, 0.03, 0.01]
pruner: {kind: sha, eta: 2}
`, Options{Workers: 2})
	first, last := ss[0], ss[len(ss)-1]
	if first.Forecast != prune.Expected || last.Forecast != prune.Schedule || last.WorkToRun != last.WorkDone {
		t.Errorf("forecast %v first, %v last (%d of %d done); want expected, then the schedule's and the work done", first.Forecast, last.Forecast, last.WorkDone, last.WorkToRun)
	}
	t.Logf("forecast before training: %.3f of the work then done", float64(first.WorkToRun)/float64(last.WorkDone))
}

// TestScoringWork: a study's work for its ETA counts the scoring of its
// held-out rows as the units do it: after each epoch with curves, else
// once at each unit's end (ScoredWork), which was not counted. 2
// configurations of hidden 16 on 10 features and 3 classes, 2 folds of
// 200 training and 200 held-out rows, 2 epochs: a training row is
// 6·(10·16 + 16·3) − 2·10·16 = 928 FLOPs, a scored row 2·(10·16 + 16·3)
// = 416.
func TestScoringWork(t *testing.T) {
	const src = `
name: scored
folds: 2
epochs: 2
seed: 5
base: {hidden: [16], batch: 16, optimizer: sgd}
grid:
  lr: [0.1, 0.01]
`
	for _, c := range []struct {
		curves bool
		work   int64
	}{
		{false, 4 * (2*200*928 + 200*416)},  // 1,817,600: the scoring once a unit
		{true, 4 * 2 * (200*928 + 200*416)}, // 2,150,400: after each epoch
	} {
		// The store records the rule for a live view's ETA (serve).
		if plan, err := StudyPlan(parse(t, src), shaData(), c.curves); err != nil || plan.Header.Schedule.Curves != c.curves {
			t.Fatalf("curves %v: the plan's schedule records curves %v (%v)", c.curves, plan.Header.Schedule.Curves, err)
		}
		ss := statuses(t, src, Options{Workers: 2, Curves: c.curves})
		first, last := ss[0], ss[len(ss)-1]
		if first.WorkFull != c.work || first.WorkToRun != c.work || last.WorkToRun != c.work || last.WorkDone != c.work {
			t.Errorf("curves %v: work %d (to run %d), at the end %d of %d done; want %d", c.curves, first.WorkFull, first.WorkToRun, last.WorkDone, last.WorkToRun, c.work)
		}
	}
}

// TestScoringWorkOfSampledStudy: a sampled study's forecast of the
// configurations not proposed yet (SearchForecast) counts the held-out
// scoring by the rule its batches' units count it by (Plan.Work): once at
// a unit's end without curves, which it left out, after each epoch with
// them. 6 configurations of hidden 16 (one size: the forecast is exact)
// proposed 4 then 2, 2 epochs, 2 folds of 200 training and 200 held-out
// rows on 10 features and 3 classes: a training row is 928 FLOPs, a
// scored row 416 (TestScoringWork). Every event's forecast is the work
// the study then did.
func TestScoringWorkOfSampledStudy(t *testing.T) {
	for _, c := range []struct {
		curves bool
		work   int64
	}{
		{false, 12 * (2*200*928 + 200*416)},  // 5,452,800 (5,120,000 forecast at first before)
		{true, 12 * 2 * (200*928 + 200*416)}, // 6,451,200
	} {
		var ss []Status
		_, err := RunSearch(context.Background(), parse(t, tpeStudy(2, 6)), shaData(), 4, Options{Dir: t.TempDir(), Workers: 2, Curves: c.curves, Progress: func(e Event) {
			ss = append(ss, e.Status)
		}})
		if err != nil {
			t.Fatal(err)
		}
		if last := ss[len(ss)-1]; last.UnitsDone != 12 || last.WorkDone != c.work {
			t.Fatalf("curves %v: at the end %d units done, work %d; want 12, %d", c.curves, last.UnitsDone, last.WorkDone, c.work)
		}
		for i, s := range ss {
			if s.WorkToRun != c.work || s.WorkFull != c.work {
				t.Fatalf("curves %v: event %d (%d of %d units done): work to run %d (full %d), want %d", c.curves, i, s.UnitsDone, s.UnitsTotal, s.WorkToRun, s.WorkFull, c.work)
			}
		}
	}
}
