package scheduler

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// tinySearch is a TPE study of 14 configurations (past the 10 random
// startup trials) over 3 folds of 2 epochs.
const tinySearch = `
name: tiny-tpe
folds: 3
epochs: 2
seed: 7
base: {hidden: [8], optimizer: adam}
sampler:
  kind: tpe
  n: 14
  params:
    lr: {log_uniform: [1e-4, 0.3]}
    batch: {choice: [16, 64]}
    hidden: {choice: [4, 8]}
`

// TestRunSearch: a batch of 2 proposes the same configurations and gives
// bit-identical results with 1 and 2 workers, and a rerun reuses every unit.
func TestRunSearch(t *testing.T) {
	data := datasets.Blobs(200, 6, 3)
	runSearch := func(dir string, workers int) ([]string, []float64, int) {
		r, err := RunSearch(context.Background(), parse(t, tinySearch), data, 2, Options{Dir: dir, Workers: workers, GroupColumns: 64})
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		for _, c := range r.Configs {
			if c.Axis != "tpe" || len(c.Units) != 3 {
				t.Fatalf("config %s %s: %d units", c.Axis, c.Value, len(c.Units))
			}
			values = append(values, c.Value)
		}
		return values, numbers(r), r.UnitsReused
	}
	a, na, reused := runSearch(t.TempDir(), 1)
	if reused != 0 {
		t.Errorf("a fresh run reports %d units reused", reused)
	}
	if len(a) != 14 {
		t.Fatalf("%d configurations, want 14", len(a))
	}
	dir := t.TempDir()
	b, nb, _ := runSearch(dir, 2)
	if strings.Join(a, "; ") != strings.Join(b, "; ") || !sameBits(na, nb) {
		t.Fatalf("1 and 2 workers differ:\n%v\n%v", a, b)
	}
	c, nc, reused := runSearch(dir, 2)
	if strings.Join(a, "; ") != strings.Join(c, "; ") || !sameBits(na, nc) || reused != 14*3 {
		t.Fatalf("rerun: %d units reused (want 42), proposals %v", reused, c)
	}
}

func TestRunSearchNeedsSampler(t *testing.T) {
	if _, err := RunSearch(context.Background(), parse(t, tinyStudy), datasets.Blobs(60, 4, 2), 2, Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no sampler") {
		t.Errorf("a study without a sampler: %v", err)
	}
}

// prunedSearch is tinySearch over 2 folds of 4 epochs under successive halving with
// η = 2: batches of η² = 4, each with rungs at epochs 1 (keeps 2) and 2
// (keeps 1), then a last batch of 2 (keeps 1 at epoch 1): 3 + 3 + 3 + 1
// configurations pruned.
var prunedSearch = strings.NewReplacer("tiny-tpe", "tpe-sha", "folds: 3", "folds: 2", "epochs: 2", "epochs: 4").Replace(tinySearch) +
	"pruner: {kind: sha, eta: 2}\n"

func prunedSearchData() *datasets.Dataset { return datasets.Blobs(300, 6, 3) }

// proposals are a search's configurations, in order.
func proposals(r sweeps.StudyResult) string {
	var values []string
	for _, c := range r.Configs {
		values = append(values, c.Value)
	}
	return strings.Join(values, "; ")
}

// TestPrunedSearch: TPE with successive halving prunes each batch apart
// (10 of 14 configurations), proposes the same configurations with the
// same numbers and decisions with 1 and 2 workers (the batch is the
// study's, not the worker count), informs the TPE of each pruned
// configuration at the rung it stopped at, and a rerun reuses every unit.
func TestPrunedSearch(t *testing.T) {
	runSearch := func(dir string, workers int) sweeps.StudyResult {
		r, err := RunSearch(context.Background(), parse(t, prunedSearch), prunedSearchData(), workers, Options{Dir: dir, Workers: workers, GroupColumns: 64})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := runSearch(t.TempDir(), 1)
	pruned := map[int]int{}
	for _, c := range a.Configs {
		pruned[c.PrunedAt]++
	}
	if len(a.Configs) != 14 || pruned[1] != 2*3+1 || pruned[2] != 3 || pruned[0] != 4 {
		t.Fatalf("%d configurations, pruned at epoch: %v; want 14, {1: 7, 2: 3, 0: 4}", len(a.Configs), pruned)
	}
	dir := t.TempDir()
	b := runSearch(dir, 2)
	if proposals(a) != proposals(b) || !sameBits(numbers(a), numbers(b)) || decisionsOf(a) != decisionsOf(b) {
		t.Fatalf("1 and 2 workers differ:\n%s\n%s\n%s\n%s", proposals(a), proposals(b), decisionsOf(a), decisionsOf(b))
	}
	// The store's record of the search counts every batch's units as run
	// (each batch's used to replace the others').
	if back := loadStudy(t, dir, "", b.Name); b.UnitsRun != 28 || back.UnitsRun != 28 || back.UnitsReused != 0 {
		t.Errorf("search ran %d units; the store's record: %d run, %d reused; want 28, 0", b.UnitsRun, back.UnitsRun, back.UnitsReused)
	}
	c := runSearch(dir, 2)
	if proposals(a) != proposals(c) || !sameBits(numbers(a), numbers(c)) || decisionsOf(a) != decisionsOf(c) || c.UnitsReused != 14*2 || c.UnitsRun != 0 {
		t.Fatalf("rerun: %d units reused, %d run (want 28, 0); proposals %s", c.UnitsReused, c.UnitsRun, proposals(c))
	}

	// Hyperband deals each batch to its brackets (here 3: first rungs at
	// epochs 1, 2 and 4, the last trained fully) and halves each apart.
	hb, err := RunSearch(context.Background(), parse(t, strings.Replace(prunedSearch, "kind: sha", "kind: hyperband", 1)), prunedSearchData(), 2, Options{Dir: t.TempDir(), Workers: 2, GroupColumns: 64})
	if err != nil {
		t.Fatal(err)
	}
	hbPruned := 0
	for _, c := range hb.Configs {
		if c.PrunedAt > 0 {
			hbPruned++
		}
	}
	if len(hb.Configs) != 14 || hbPruned == 0 || hbPruned >= pruned[1]+pruned[2] {
		t.Errorf("hyperband: %d configurations, %d pruned (want 14, fewer than sha's %d but some)", len(hb.Configs), hbPruned, pruned[1]+pruned[2])
	}

	// The TPE sees each pruned configuration at its rung, with its score there.
	trials := make([]tpe.Trial, len(a.Configs))
	var points []study.Point
	for _, c := range a.Configs {
		points = append(points, study.Point{Axis: c.Axis, Value: c.Value, Params: c.Params})
	}
	(&Proposals{Points: points, trials: trials}).Record(a)
	for i, c := range a.Configs {
		tr := trials[i]
		switch {
		case c.PrunedAt > 0 && (tr.State != tpe.Pruned || tr.Step != c.PrunedAt || tr.Value != meanAt(c, c.PrunedAt)):
			t.Errorf("%s pruned at %d: trial %+v, want pruned at that step with %v", c.Value, c.PrunedAt, tr, meanAt(c, c.PrunedAt))
		case c.PrunedAt == 0 && (tr.State != tpe.Complete || tr.Value != c.MeanAccuracy):
			t.Errorf("%s: trial %+v, want complete with %v", c.Value, tr, c.MeanAccuracy)
		}
	}
}

// meanAt is c's held-out accuracy at epoch e, averaged over its folds as
// the pruner does.
func meanAt(c sweeps.ConfigResult, e int) float64 {
	sum := 0.0
	for _, u := range c.Units {
		sum += u.Epochs[e-1].ValAccuracy
	}
	return sum / float64(len(c.Units))
}

// TestKillPrunedSearch SIGKILLs a child process running a TPE study with
// successive halving in its second batch, then runs it again in a child:
// the stored units are reused, the pruner's decisions replayed, the same
// configurations proposed, and the study ends with the numbers and
// decisions of an uninterrupted run on 1 worker.
func TestKillPrunedSearch(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		epochs := 0
		r, err := RunSearch(context.Background(), parse(t, prunedSearch), prunedSearchData(), killWorkers, Options{Dir: dir, Workers: killWorkers,
			Progress: func(e Event) {
				if e.Kind == EpochDone {
					epochs++
					fmt.Println("epoch", epochs)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("finished run=%d reused=%d\n", r.UnitsRun, r.UnitsReused)
		return
	}
	// A batch of 4 configurations × 2 folds trains 4·1 + 2·1 + 1·2 = 8
	// epochs per fold, 16 in all: epoch 20 is in the second batch's first
	// rung.
	dir := t.TempDir()
	seen := 0
	killChild(t, "TestKillPrunedSearch", dir, "", func(line string) bool {
		if strings.HasPrefix(line, "epoch ") {
			seen++
		}
		return seen == 20
	})
	if seen != 20 {
		t.Fatalf("child stopped after %d epochs", seen)
	}
	states := storeStates(t, dir, "")
	if states["pruned"] < 6 || states["done"] < 2 {
		t.Fatalf("after the kill: %v; want the first batch's 6 units pruned and 2 done", states)
	}
	stored := states["pruned"] + states["done"]
	trained, reused := resumeChild(t, "TestKillPrunedSearch", dir, "")
	if reused != stored || trained != 14*2-stored {
		t.Errorf("resume reused %d and trained %d units; want the %d stored reused and %d trained", reused, trained, stored, 28-stored)
	}
	got := loadStudy(t, dir, "", "tpe-sha")
	ref, err := RunSearch(context.Background(), parse(t, prunedSearch), prunedSearchData(), 1, Options{Dir: t.TempDir(), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if proposals(got) != proposals(ref) || !sameBits(numbers(got), numbers(ref)) || decisionsOf(got) != decisionsOf(ref) {
		t.Errorf("killed and resumed search differs from an uninterrupted run on 1 worker:\n%s\n%s\n%s\n%s", proposals(got), proposals(ref), decisionsOf(got), decisionsOf(ref))
	}
}
