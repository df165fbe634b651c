package scheduler

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// tinyStudy has 4 points on 2 axes, 3 distinct configs, 3 folds: 9 units.
const tinyStudy = `
name: tiny
folds: 3
epochs: 2
seed: 7
base: {hidden: [8], batch: 16}
axes:
  - {name: opt, key: optimizer, values: [sgd, adam], set: {lr: 0}}
  - {name: batch, key: batch, values: [16, 32]}
`

func parse(t testing.TB, src string) *study.Study {
	t.Helper()
	s, err := study.ParseStudy([]byte(src), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t testing.TB, s *study.Study, data *datasets.Dataset, dir string, workers int) sweeps.StudyResult {
	t.Helper()
	r, err := RunStudy(context.Background(), s, data, Options{Dir: dir, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// numbers flattens every number a study computed, learning curves
// included (wall times excluded), config by config and fold by fold.
func numbers(r sweeps.StudyResult) []float64 {
	var xs []float64
	for _, c := range r.Configs {
		xs = append(append(xs, unitNumbers(c)...), float64(c.Rank))
	}
	return xs
}

// unitNumbers flattens the numbers of a config's units and their summary.
func unitNumbers(c sweeps.ConfigResult) []float64 {
	var xs []float64
	for _, u := range c.Units {
		xs = append(xs, float64(u.Fold), u.Accuracy, u.ValLoss, float64(u.Samples), float64(len(u.Epochs)))
		for _, e := range u.Epochs {
			xs = append(xs, float64(e.Epoch), e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy)
		}
	}
	return append(xs, c.MeanAccuracy, c.StdAccuracy, c.MeanValLoss)
}

// sameBits reports whether a and b hold bit-identical numbers (any NaN
// equals any NaN: the store keeps no NaN payloads).
func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool {
		return math.Float64bits(x) == math.Float64bits(y) || math.IsNaN(x) && math.IsNaN(y)
	})
}

func TestRunIsIdenticalForAnyWorkerCount(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	s := parse(t, tinyStudy)
	ref := run(t, s, data, t.TempDir(), 1)
	if ref.UnitsTotal != 9 || ref.UnitsRun != 9 || ref.UnitsReused != 0 || len(ref.Configs) != 4 {
		t.Fatalf("units %d run %d reused %d configs %d; want 9 9 0 4", ref.UnitsTotal, ref.UnitsRun, ref.UnitsReused, len(ref.Configs))
	}
	for _, c := range ref.Configs {
		if len(c.Units) != 3 || len(c.FoldAccuracies) != 3 || c.MeanAccuracy <= 0 || c.MeanAccuracy > 1 || c.Rank < 1 {
			t.Errorf("%s=%s: %d units, accuracies %v, rank %d", c.Axis, c.Value, len(c.Units), c.FoldAccuracies, c.Rank)
		}
		for f, u := range c.Units {
			if u.Fold != f || len(u.Epochs) != 2 || u.Error != "" || u.Seconds <= 0 || u.EngineVer != sweeps.EngineID() || u.DataSHA256 != data.Fingerprint() {
				t.Errorf("%s=%s fold %d: %+v", c.Axis, c.Value, f, u)
			}
		}
	}
	if acc := ref.Configs[1].MeanAccuracy; acc < 0.6 {
		t.Errorf("adam learned nothing: accuracy %v", acc)
	}
	// opt=adam and batch=16 are the base config: trained once, shown twice.
	if !sameBits(unitNumbers(ref.Configs[1]), unitNumbers(ref.Configs[2])) {
		t.Error("the base config differs between its two axes")
	}
	// 9 units × 200 rows × 2 epochs of 10-8-3: forward and weight gradient
	// 2·(80+24) FLOPs each, input gradient 2·24.
	if want := 9 * 200 * 2 * 464 / 1e9; ref.GFLOP != want || ref.GFLOPS <= 0 || ref.PeakGFLOPS <= 0 ||
		math.Abs(ref.PercentOfPeak-100*ref.GFLOPS/ref.PeakGFLOPS) > 1e-9 {
		t.Errorf("rate: %v GFLOP (want %v), %v GFLOP/s, peak %v, %v%%", ref.GFLOP, want, ref.GFLOPS, ref.PeakGFLOPS, ref.PercentOfPeak)
	}
	if f := TrainingFLOPsPerRow([]int{128}, 784, 10); f != 409088 {
		t.Errorf("784-128-10 trains at %v FLOPs per row, want 6·101632 − 2·100352", f)
	}
	for _, workers := range []int{2, 4} {
		if r := run(t, s, data, t.TempDir(), workers); !sameBits(numbers(r), numbers(ref)) {
			t.Errorf("%d workers give other numbers than 1 worker", workers)
		}
	}
}

func TestRunResumesAndReusesAcrossStudies(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	dir := t.TempDir()
	first := run(t, parse(t, tinyStudy), data, dir, 2)
	again := run(t, parse(t, tinyStudy), data, dir, 2)
	if again.UnitsRun != 0 || again.UnitsReused != 9 {
		t.Errorf("rerun trained %d and reused %d units, want 0 and 9", again.UnitsRun, again.UnitsReused)
	}
	if !sameBits(numbers(again), numbers(first)) {
		t.Error("rerun reports other numbers")
	}
	for _, u := range again.Configs[0].Units {
		if !u.Reused {
			t.Error("a unit found in the store is not marked reused")
		}
	}

	// Another study in the same directory shares the sgd config (3 units).
	other := strings.Replace(strings.Replace(tinyStudy, "name: tiny", "name: other", 1), "[sgd, adam]", "[sgd, rmsprop]", 1)
	o := run(t, parse(t, other), data, dir, 2)
	if o.UnitsTotal != 12 || o.UnitsReused != 9 || o.UnitsRun != 3 {
		t.Errorf("other study: %d units, %d reused, %d run; want 12, 9, 3", o.UnitsTotal, o.UnitsReused, o.UnitsRun)
	}
	if !sameBits(unitNumbers(o.Configs[0]), unitNumbers(first.Configs[0])) {
		t.Error("the shared sgd config differs")
	}

	// Other data (one value changed), other engine numerics or another
	// split: nothing is reused.
	changed := datasets.Blobs(300, 10, 3)
	changed.X[5] += 1
	if r := run(t, parse(t, tinyStudy), changed, dir, 2); r.UnitsReused != 0 {
		t.Errorf("changed data reused %d units", r.UnitsReused)
	}
	if r := run(t, parse(t, strings.Replace(tinyStudy, "folds: 3", "folds: 4", 1)), data, dir, 2); r.UnitsReused != 0 {
		t.Errorf("another split reused %d units", r.UnitsReused)
	}

	// The store keeps every study; LoadStudy reads any of them back.
	names, err := store.StudyNames(context.Background(), dir)
	if err != nil || !slices.Equal(names, []string{"tiny", "other"}) {
		t.Errorf("studies %v (%v), want [tiny other], most recent first", names, err)
	}
	loaded, err := store.LoadStudy(context.Background(), dir, "other", false)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(numbers(loaded), numbers(o)) || loaded.UnitsTotal != 12 || loaded.UnitsRun != 3 || loaded.UnitsReused != 9 {
		t.Errorf("LoadStudy differs from the run: %d %d %d", loaded.UnitsTotal, loaded.UnitsRun, loaded.UnitsReused)
	}
	latest, err := store.LoadStudy(context.Background(), dir, "", false)
	if err != nil || latest.Name != "tiny" || latest.Folds != 4 {
		t.Errorf("latest study %q folds %d (%v), want tiny with 4 folds", latest.Name, latest.Folds, err)
	}
	if _, err := store.LoadStudy(context.Background(), dir, "nope", false); err == nil {
		t.Error("LoadStudy of an unknown study succeeded")
	}
	if _, err := store.LoadStudy(context.Background(), t.TempDir(), "", false); err == nil {
		t.Error("LoadStudy of an empty directory succeeded")
	}
}

func TestRunInterruptedKeepsFinishedUnits(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := 0
	r, err := RunStudy(ctx, parse(t, tinyStudy), data, Options{Dir: dir, Workers: 2, Progress: func(e Event) {
		if e.Kind == UnitDone {
			if done++; done == 2 {
				cancel()
			}
		}
	}})
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	if r.UnitsRun != done || done >= 9 {
		t.Fatalf("result counts %d units run, %d reported done", r.UnitsRun, done)
	}
	states := unitStates(t, dir)
	if states["done"] != done || states["running"] > 2 || states["failed"] != 0 {
		t.Errorf("stored unit states %v, want %d done and ≤ 2 running", states, done)
	}
	resumed := run(t, parse(t, tinyStudy), data, dir, 2)
	if resumed.UnitsReused != done || resumed.UnitsRun != 9-done {
		t.Errorf("resume reused %d and ran %d units, want %d and %d", resumed.UnitsReused, resumed.UnitsRun, done, 9-done)
	}
	if ref := run(t, parse(t, tinyStudy), data, t.TempDir(), 1); !sameBits(numbers(resumed), numbers(ref)) {
		t.Error("interrupted and resumed study differs from an uninterrupted one")
	}
}

// unitStates counts the stored units of dir by state.
func unitStates(t testing.TB, dir string) map[string]int {
	t.Helper()
	s, err := store.Open(context.Background(), dir, store.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	states, err := s.States()
	if err != nil {
		t.Fatal(err)
	}
	return states
}

func TestDivergedUnitIsKeptAndStudyGoesOn(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	dir := t.TempDir()
	s := parse(t, `
folds: 2
epochs: 2
base: {hidden: [8], optimizer: sgd, batch: 16}
axes:
  - {name: lr, key: lr, values: [1e30, 0.01]}
`)
	r := run(t, s, data, dir, 2)
	bad, good := r.Configs[0], r.Configs[1]
	for _, u := range bad.Units {
		if !u.Diverged || !strings.Contains(u.Error, "diverged") || u.Accuracy < 0 || u.Accuracy > 1 {
			t.Errorf("lr 1e30 unit: %+v", u)
		}
	}
	if len(bad.FoldAccuracies) != 2 || bad.Rank != 2 || good.Rank != 1 || good.Units[0].Diverged {
		t.Errorf("diverged config accuracies %v rank %d, good rank %d", bad.FoldAccuracies, bad.Rank, good.Rank)
	}
	if again := run(t, s, data, dir, 2); again.UnitsReused != 4 {
		t.Errorf("diverged units are not kept: rerun reused %d of 4", again.UnitsReused)
	}
	loaded, err := store.LoadStudy(context.Background(), dir, "", false)
	if err != nil || !loaded.Configs[0].Units[0].Diverged || !sameBits(numbers(loaded), numbers(r)) {
		t.Errorf("diverged units do not load back (%v)", err)
	}
}

func TestFailedUnitsAreRecordedAndRunAgain(t *testing.T) {
	data := datasets.Blobs(90, 4, 3)
	data.Classes, data.Y = 1, make([]float32, 90) // the engine needs ≥ 2 classes
	dir := t.TempDir()
	s := parse(t, "folds: 3\nepochs: 1\nbase: {hidden: [4]}\n")
	r := run(t, s, data, dir, 2)
	c := r.Configs[0]
	if len(c.Units) != 3 || len(c.FoldAccuracies) != 0 || c.Rank != 0 || !strings.Contains(c.Units[0].Error, "classes") {
		t.Fatalf("failed config: %+v", c)
	}
	if states := unitStates(t, dir); states["failed"] != 3 {
		t.Errorf("states %v, want 3 failed", states)
	}
	if again := run(t, s, data, dir, 2); again.UnitsRun != 3 || again.UnitsReused != 0 {
		t.Errorf("failed units were not run again: run %d reused %d", again.UnitsRun, again.UnitsReused)
	}
}

func TestCrossValidateMatchesSweep(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	s := parse(t, tinyStudy)
	// With onEpoch set, CrossValidate scores every epoch, as a sweep with curves does.
	r, err := RunStudy(context.Background(), s, data, Options{Dir: t.TempDir(), Workers: 2, Curves: true})
	if err != nil {
		t.Fatal(err)
	}
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Configs[:2] {
		var epochs int
		cv, err := CrossValidate(context.Background(), data, c.Params, folds, s.Seed, 2, func(fold int, e engine.EpochStats) { epochs++ }, Partway{})
		if err != nil {
			t.Fatal(err)
		}
		if cv.Key != c.Key || !sameBits(unitNumbers(cv), unitNumbers(c)) {
			t.Errorf("CrossValidate of %s=%s differs from the sweep", c.Axis, c.Value)
		}
		if epochs != 6 {
			t.Errorf("onEpoch called %d times, want 3 folds × 2 epochs", epochs)
		}
		// The fold split is scikit-learn's KFold(3, shuffle, random_state=7).
		for f, u := range c.Units {
			if u.Samples != int64(2*len(folds[f].Train)) {
				t.Errorf("fold %d trained %d samples, want 2 × %d", f, u.Samples, len(folds[f].Train))
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CrossValidate(ctx, data, r.Configs[0].Params, folds, 7, 2, nil, Partway{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled CrossValidate returned %v", err)
	}
}

func TestRunRejectsTooFewRows(t *testing.T) {
	s := parse(t, tinyStudy)
	if _, err := RunStudy(context.Background(), s, datasets.Blobs(2, 3, 2), Options{Dir: t.TempDir()}); err == nil {
		t.Error("3 folds of 2 rows ran")
	}
}

func TestIdleCoresGoToTheLastUnits(t *testing.T) {
	// 3 units on 4 workers: units start on 1 thread while others are
	// queued; once the queue is empty a unit takes 4/running threads.
	p := &pool{workers: 4, queue: make([]job, 3)}
	var threads []int
	for range 3 {
		_, n, ok := p.take(context.Background())
		if !ok {
			t.Fatal("take failed with jobs queued")
		}
		threads = append(threads, n)
	}
	if !slices.Equal(threads, []int{1, 1, 1}) { // the third starts with 3 running: 4/3 = 1
		t.Errorf("threads %v, want [1 1 1]", threads)
	}
	p = &pool{workers: 4, queue: make([]job, 2)}
	_, first, _ := p.take(context.Background())
	_, second, _ := p.take(context.Background())
	if first != 1 || second != 2 {
		t.Errorf("threads %d, %d; want 1 (one unit queued), then 2 (4 cores, 2 running)", first, second)
	}
	p.running = 0
	p.queue = make([]job, 1)
	if _, alone, _ := p.take(context.Background()); alone != 4 {
		t.Errorf("a last unit running alone got %d threads, want 4", alone)
	}
	if _, _, ok := p.take(context.Background()); ok {
		t.Error("take succeeded on an empty queue")
	}
}

func TestCurvesScoreEveryEpochWithTheSameResult(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	s := parse(t, tinyStudy)
	plain := run(t, s, data, t.TempDir(), 2)
	curves, err := RunStudy(context.Background(), s, data, Options{Dir: t.TempDir(), Workers: 2, Curves: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range curves.Configs {
		for f, u := range c.Units {
			p := plain.Configs[i].Units[f]
			if u.Accuracy != p.Accuracy || u.ValLoss != p.ValLoss || u.Epochs[1].Loss != p.Epochs[1].Loss {
				t.Errorf("%s=%s fold %d: curves change the result", c.Axis, c.Value, f)
			}
			if math.IsNaN(u.Epochs[0].ValAccuracy) || !math.IsNaN(p.Epochs[0].ValAccuracy) {
				t.Errorf("%s=%s fold %d: validation curve %v with curves, %v without", c.Axis, c.Value, f, u.Epochs[0].ValAccuracy, p.Epochs[0].ValAccuracy)
			}
		}
	}
}
