package scheduler

import (
	"math"
	"runtime"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Calibration of the group width. Whether fusing pays depends on the
// kernels (SgemmBlocks), the CPU's caches and the load of the machine: a
// fused step shares the batch's gathered and packed rows and runs wider
// products, but each member's weights, gradients and optimizer state leave
// the cache between its steps (bench/NOTES.md, "Fused training: group
// width"). So a fused run measures instead of assuming: before training,
// calibrate times fused steps of its typical member at a few widths and
// keeps the fastest per member.
const (
	calibrationRounds = 5  // interleaved rounds; each width keeps its fastest
	calibrationSteps  = 16 // member steps per width and round (at least one group step)
	calibrationMargin = 0.95
	maxCalibration    = 32 // members at most
)

// calibrate returns the first-layer columns a fused group of units holds
// at most: the typical member's width times the member count whose fused
// step took the least CPU time per member (min over calibrationRounds
// interleaved rounds of about calibrationSteps member steps each, single
// threaded; the thread's CPU time, not the wall clock, where the OS gives
// it, so that other processes on a shared machine do not decide), a wider group counting as faster only when at least 5 %
// faster than the best narrower one. The typical member is the most common
// first-layer width of the largest set of units that can train together.
// It returns 0 when no two units can train together.
func (f *foldFit) calibrate(units []sweeps.Unit) int {
	type key struct{ fold, batch, epochs int }
	sets := map[key][]sweeps.Unit{}
	var largest []sweeps.Unit
	for _, u := range units {
		k := key{u.ID.Fold, u.Point.Params.Config(0).Batch, u.Point.Params.Epochs()}
		sets[k] = append(sets[k], u)
		if len(sets[k]) > len(largest) {
			largest = sets[k]
		}
	}
	if len(largest) < 2 {
		return 0
	}
	count := map[int]int{}
	for _, u := range largest {
		count[f.columns(u)]++
	}
	typical := largest[0]
	for _, u := range largest {
		if count[f.columns(u)] > count[f.columns(typical)] {
			typical = u
		}
	}
	width := f.columns(typical)
	sizes := []int{1}
	for m := 2; m <= min(len(largest), maxCalibration); m *= 2 {
		sizes = append(sizes, m)
	}
	perMember := f.timeGroups(typical, sizes)
	best := 0
	for i := range sizes {
		if perMember[i] < calibrationMargin*perMember[best] {
			best = i
		}
	}
	return sizes[best] * width
}

// timeGroups returns, for each member count in sizes (ascending), the
// least time per member step of a fused group of that many models of u's
// configuration (seeds 1, 2, …) on a batch of u's fold, or +Inf for counts
// whose models the engine rejects.
func (f *foldFit) timeGroups(u sweeps.Unit, sizes []int) []float64 {
	perMember := make([]float64, len(sizes))
	for i := range perMember {
		perMember[i] = math.Inf(1)
	}
	kc := kernels.NewContext(1)
	cfg := u.Normalized()
	var models []*engine.Model
	for s := range sizes[len(sizes)-1] {
		m, err := engine.NewNormalized(cfg.WithSeed(int64(s+1)), f.data.Features, f.data.Classes, kc)
		if err != nil {
			return perMember
		}
		models = append(models, m)
	}
	// A batch of the fold's training rows, scattered as after a shuffle.
	train := f.folds[u.ID.Fold].Train
	rows := make([]int, min(u.Config().Batch, len(train)))
	for i := range rows {
		rows[i] = train[(i*337)%len(train)]
	}
	t := make([]float32, len(rows)*f.data.Classes)
	for i, r := range rows {
		copy(t[i*f.data.Classes:], f.data.Y[r*f.data.Classes:(r+1)*f.data.Classes])
	}
	g := &engine.Group{}
	runtime.LockOSThread() // threadCPU times this thread
	defer runtime.UnlockOSThread()
	for round := range calibrationRounds {
		for i, m := range sizes {
			if err := g.Reset(models[:m], 1); err != nil {
				return perMember
			}
			steps := max(1, calibrationSteps/m)
			if round == 0 { // warm-up: the first touches of the buffers
				if _, _, err := g.TrainBatch(f.data.X, rows, t); err != nil {
					return perMember
				}
			}
			start := threadCPU()
			for range steps {
				g.TrainBatch(f.data.X, rows, t)
			}
			perMember[i] = min(perMember[i], (threadCPU()-start).Seconds()/float64(steps*m))
		}
	}
	return perMember
}
