package scheduler

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

// mixStudy mixes, within each fold's batch-16 group, optimizers,
// activations, widths, depths, dropout and a member that diverges; the
// batch axis makes a second group per fold. 12 distinct configs × 3 folds.
const mixStudy = `
name: mix
folds: 3
epochs: 3
seed: 11
base: {hidden: [16], batch: 16, optimizer: adam}
axes:
  - {name: optimizer, key: optimizer, values: [sgd, adam, rmsprop], set: {lr: 0}}
  - {name: activation, key: activation, values: [relu, tanh, sigmoid]}
  - {name: hidden, key: hidden, values: [8, 24, [16, 8]]}
  - {name: dropout, key: dropout, values: [0.2, 0.5]}
  - {name: batch, key: batch, values: [16, 32]}
  - {name: huge, key: lr, values: [1e30], set: {optimizer: sgd}}
`

// TestFusedEqualsAlone runs a study fused and with every unit alone, on 1
// and 2 workers, with and without learning curves, and compares every
// stored number (fold accuracies, losses, learning curves) bit for bit.
// Fused, the groups are as wide as possible (one per fold and batch size)
// on 1 worker and at most 64 columns (several per fold) on 2.
func TestFusedEqualsAlone(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	for _, curves := range []bool{true, false} {
		var ref []float64
		for _, fuse := range []bool{false, true} {
			for _, workers := range []int{1, 2} {
				s := parse(t, mixStudy)
				s.Fuse = fuse
				dir := t.TempDir()
				columns := map[int]int{1: 1 << 20, 2: 64}[workers]
				if _, err := RunStudy(context.Background(), s, data, Options{Dir: dir, Workers: workers, Curves: curves, GroupColumns: columns}); err != nil {
					t.Fatal(err)
				}
				r, err := store.LoadStudy(context.Background(), dir, "mix", false)
				if err != nil {
					t.Fatal(err)
				}
				got := numbers(r)
				diverged := 0
				for _, c := range r.Configs {
					for _, u := range c.Units {
						if u.Diverged {
							diverged++
						}
					}
				}
				if r.UnitsRun != 12*3 || diverged != 3 {
					t.Fatalf("fuse=%v: %d units run, %d diverged; want 36 and 3", fuse, r.UnitsRun, diverged)
				}
				if ref == nil {
					ref = got
				} else if !sameBits(got, ref) {
					t.Errorf("curves=%v fuse=%v workers=%d: numbers differ from fuse=false, 1 worker", curves, fuse, workers)
				}
			}
		}
	}
}

// TestGroupsShareFoldBatchAndEpochs checks the jobs a fused study plans.
func TestGroupsShareFoldBatchAndEpochs(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	s := parse(t, mixStudy)
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		t.Fatal(err)
	}
	h := sweeps.Header{Folds: s.Folds, Seed: s.Seed}
	units := sweeps.Plan(h, s.Points)
	f := &foldFit{data: data, folds: folds, seed: s.Seed, fuse: true, maxColumns: 1 << 20}
	key := func(u sweeps.Unit) string {
		return fmt.Sprint(u.ID.Fold, u.Point.Params.Config(0).Batch, u.Point.Params.Epochs())
	}
	for _, workers := range []int{1, 2, 8, 64} {
		jobs := f.jobs(units, workers)
		var seen []string
		for _, j := range jobs {
			cols := 0
			for _, u := range j {
				if key(u) != key(j[0]) {
					t.Errorf("workers %d: a job mixes %s and %s", workers, key(u), key(j[0]))
				}
				cols += f.columns(u)
				seen = append(seen, fmt.Sprint(u.ID))
			}
			if len(j) > 1 && cols > f.maxColumns {
				t.Errorf("workers %d: a job of %d units has %d columns", workers, len(j), cols)
			}
		}
		var want []string
		for _, u := range units {
			want = append(want, fmt.Sprint(u.ID))
		}
		slices.Sort(seen)
		slices.Sort(want)
		if !slices.Equal(seen, want) {
			t.Errorf("workers %d: the jobs do not hold every unit once", workers)
		}
		// 11 distinct configs of batch 16 and 1 of batch 32 on each of 3
		// folds: 6 groups, split while fewer than the workers and a group
		// has 2 units or more.
		if n := len(jobs); n != max(6, min(workers, len(units))) {
			t.Errorf("workers %d: %d jobs", workers, n)
		}
	}
	f.maxColumns = 40 // the batch-16 groups of 11 configs of 8 to 24 columns split
	for _, j := range f.jobs(units, 1) {
		cols := 0
		for _, u := range j {
			cols += f.columns(u)
		}
		if len(j) > 1 && cols > 40 {
			t.Errorf("a job of %d units has %d columns, cap 40", len(j), cols)
		}
	}
	f.fuse = false
	if jobs := f.jobs(units, 2); len(jobs) != len(units) {
		t.Errorf("unfused: %d jobs for %d units", len(jobs), len(units))
	}
}

// TestWorkspaceIsReusedFromUnitToUnit trains a study's jobs twice on one
// worker's workspace: the second pass reuses the models and group of the
// first, so it allocates a small fraction of what the first did, and far
// less than one model's buffers per unit.
func TestWorkspaceIsReusedFromUnitToUnit(t *testing.T) {
	data := datasets.Blobs(200, 64, 3)
	s := parse(t, `
folds: 2
epochs: 1
base: {hidden: [256, 128], batch: 32}
axes:
  - {name: optimizer, key: optimizer, values: [sgd, adam, rmsprop], set: {lr: 0}}
  - {name: hidden, key: hidden, values: [[128], [64, 32]]}
`)
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		t.Fatal(err)
	}
	units := sweeps.Plan(sweeps.Header{Folds: s.Folds, Seed: s.Seed}, s.Points)
	for _, fuse := range []bool{true, false} {
		f := &foldFit{data: data, folds: folds, seed: s.Seed, fuse: fuse, maxColumns: 1 << 20}
		jobs := f.jobs(units, 1)
		ws := &workspace{kc: kernels.NewContext(1)}
		pass := func() uint64 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for _, j := range jobs {
				err := f.fit(context.Background(), ws, j, func(int, engine.EpochStats) {}, func(int, sweeps.UnitResult) error { return nil })
				if err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			return after.TotalAlloc - before.TotalAlloc
		}
		first := pass()
		second := pass()
		third := pass()
		// 64-256-128-3 with Adam: 50k parameters, ×4 (weights, gradients,
		// two moments) ×4 bytes, before any workspace.
		model := uint64(4 * 4 * (64*256 + 256*128 + 128*3))
		perUnit := second / uint64(len(units))
		t.Logf("fuse=%v: %d units, allocated %d B, then %d B and %d B (%d B per unit; a model's parameters alone: %d B)",
			fuse, len(units), first, second, third, perUnit, model)
		if perUnit > model/20 || third > second+second/2 {
			t.Errorf("fuse=%v: allocations per unit do not stay flat: %d B per unit, passes %d, %d, %d", fuse, perUnit, first, second, third)
		}
	}
}
