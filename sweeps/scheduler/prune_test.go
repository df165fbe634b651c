package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// shaStudy is 9 configurations × 2 folds, 4 epochs, successive halving
// with η = 3 from epoch 1: rungs at 1 and 3 keep 3, then 1. Two batch
// sizes make two groups per fold; one configuration diverges.
const shaStudy = `
name: sha
folds: 2
epochs: 4
seed: 5
base: {hidden: [16], batch: 16, optimizer: sgd}
grid:
  lr: [0.003, 0.03, 0.3, 1e30]
  batch: [16, 32]
pruner: {kind: sha, eta: 3, min_epochs: 1}
`

func shaData() *datasets.Dataset { return datasets.Blobs(400, 10, 3) }

// prunedRun runs src, counting the epochs trained.
func runPruned(t *testing.T, src string, dir string, opt Options) (sweeps.StudyResult, int) {
	t.Helper()
	epochs := 0
	opt.Dir = dir
	opt.Progress = func(e Event) {
		if e.Kind == EpochDone {
			epochs++
		}
	}
	r, err := RunStudy(context.Background(), parse(t, src), shaData(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return r, epochs
}

// decisionsOf is a study's decisions without their order (for printing).
func decisionsOf(r sweeps.StudyResult) string {
	var b strings.Builder
	for _, d := range r.Decisions {
		fmt.Fprintf(&b, "%s@%d:%v:%x/%x ", d.Key[:6], d.Epoch, d.Promoted, d.Score, d.Cutoff)
	}
	return b.String()
}

// TestSuccessiveHalvingIsReproducible: a study with synchronous successive
// halving gives bit for bit the same numbers and the same decisions with
// 1 and 2 workers, fused (wide and narrow groups) and unfused; it trains
// 8 configurations to epoch 1 (the 2 at lr 1e30 diverge in it), 2 of them
// (⌊8/3⌋) to 3 and 1 to 4, each continuing from where its rung left it
// (2 folds × (6 + 2·2 + 1) = 22 epochs, not the 2 × (6 + 2·3 + 4) = 32 of
// training again from the start); every number equals the same
// configuration's in a study without a pruner, up to the epoch it stopped
// at.
func TestSuccessiveHalvingIsReproducible(t *testing.T) {
	full, _ := runPruned(t, strings.Replace(shaStudy, "pruner:", "#", 1), t.TempDir(), Options{Workers: 2, Curves: true})
	var ref sweeps.StudyResult
	for i, opt := range []Options{
		{Workers: 1, GroupColumns: 1 << 20},
		{Workers: 2, GroupColumns: 16},
		{Workers: 2, GroupColumns: 1 << 20},
		{Workers: 1},
	} {
		src := shaStudy
		if i == 3 {
			src += "fuse: false\n"
		}
		r, epochs := runPruned(t, src, t.TempDir(), opt)
		if epochs != 22 {
			t.Errorf("run %d: %d epochs trained, want 22", i, epochs)
		}
		if i == 0 {
			ref = r
			pruned := map[int]int{}
			for _, c := range r.Configs {
				pruned[c.PrunedAt]++
			}
			if fmt.Sprint(pruned) != "map[0:3 1:4 3:1]" || len(r.Decisions) != 8+2 {
				t.Fatalf("pruned at: %v, %d decisions; want 4 at 1, 1 at 3, 1 trained fully and 2 diverged, 10 decisions", pruned, len(r.Decisions))
			}
			if r.Configs[0].Rank == 0 || r.Configs[slices.IndexFunc(r.Configs, func(c sweeps.ConfigResult) bool { return c.PrunedAt == 0 })].Rank != 1 {
				t.Errorf("the configuration trained fully does not rank first")
			}
			for ci, c := range r.Configs {
				for f, u := range c.Units {
					fu := full.Configs[ci].Units[f]
					if len(u.Epochs) > len(fu.Epochs) {
						t.Fatalf("config %d fold %d: %d epochs pruned, %d without a pruner", ci, f, len(u.Epochs), len(fu.Epochs))
					}
					for e := range u.Epochs {
						a, b := u.Epochs[e], fu.Epochs[e]
						if a.Loss != b.Loss || a.ValAccuracy != b.ValAccuracy || a.ValLoss != b.ValLoss {
							t.Errorf("config %d fold %d epoch %d: %+v pruned, %+v without a pruner", ci, f, e+1, a, b)
						}
					}
					if !u.Diverged && (u.Accuracy != fu.Epochs[len(u.Epochs)-1].ValAccuracy || u.PrunedAt != c.PrunedAt) {
						t.Errorf("config %d fold %d: accuracy %v, pruned at %d", ci, f, u.Accuracy, u.PrunedAt)
					}
				}
			}
			continue
		}
		if !sameBits(numbers(r), numbers(ref)) || decisionsOf(r) != decisionsOf(ref) {
			t.Errorf("run %d (%+v): other numbers or decisions:\n%s\n%s", i, opt, decisionsOf(r), decisionsOf(ref))
		}
	}
}

// TestPrunedStudyResumes: a pruned study interrupted mid-rung, run again,
// replays the pruner on the stored units, trains the rest, and ends with
// the numbers and decisions of an uninterrupted run.
func TestPrunedStudyResumes(t *testing.T) {
	ref, _ := runPruned(t, shaStudy, t.TempDir(), Options{Workers: 2})
	for _, stopAt := range []int{5, 14, 20} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		epochs := 0
		_, err := RunStudy(ctx, parse(t, shaStudy), shaData(), Options{Dir: dir, Workers: 2, Progress: func(e Event) {
			if e.Kind == EpochDone {
				if epochs++; epochs == stopAt {
					cancel()
				}
			}
		}})
		cancel()
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("stopped at epoch %d: %v", stopAt, err)
		}
		r, _ := runPruned(t, shaStudy, dir, Options{Workers: 2})
		if !sameBits(numbers(r), numbers(ref)) || decisionsOf(r) != decisionsOf(ref) {
			t.Errorf("stopped after %d epochs and resumed: other numbers or decisions", stopAt)
		}
		back := loadStudy(t, dir, "", "sha")
		if !sameBits(numbers(back), numbers(ref)) || decisionsOf(back) != decisionsOf(ref) {
			t.Errorf("stopped after %d epochs: the store holds other numbers or decisions", stopAt)
		}
	}
}
