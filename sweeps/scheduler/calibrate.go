package scheduler

import (
	"math"
	"runtime"
	"strings"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Calibration of the group width. Whether fusing pays depends on the
// kernels (SgemmBlocks), the CPU's caches and the load of the machine: a
// fused step shares the gathering and packing of the batch's rows and runs
// wider products, but each member's weights, gradients and optimizer
// state leave the cache between its steps (bench/NOTES.md, "Fused
// training: group width"). The kernels' per-CPU table (or a file of
// mlpsweep tune) gives the width for the CPUs it knows (tableColumns); for
// the others a fused run measures it at its start (calibrate, about 0.2 s
// of CPU).
const (
	calibrationRounds = 12   // interleaved rounds of one timed group step per width; each width keeps its fastest
	aloneMargin       = 0.95 // training alone is chosen only when at least 5 % faster per member than the best fused width
	maxCalibration    = 16   // members at most: a wider step is rarely timed without being preempted on a busy machine
)

// tableColumns is the fused group width (first-layer columns) the
// kernels' tuning in force gives for this CPU, 0 when it does not know
// it, and where it comes from: "table" (the per-CPU table) or "tuned" (a
// file of mlpsweep tune).
func tableColumns() (int, string) {
	from, _, _ := strings.Cut(kernels.TuningSource(), ":")
	return kernels.GroupColumns(), from
}

// MeasureGroupColumns as Options.GroupColumns measures the group width at
// the start of the run even when the kernels' table gives one.
const MeasureGroupColumns = -1

// chooseWidth sets f.maxColumns, unless given (> 0), to the table's width
// for this CPU or, when the table does not know it or when asked to
// (MeasureGroupColumns), to calibrate's, and f.widthFrom to say which.
func (f *foldFit) chooseWidth(units []sweeps.Unit) {
	table, from := tableColumns()
	switch {
	case f.maxColumns > 0:
		f.widthFrom = "given"
	case f.maxColumns == 0 && table > 0:
		f.maxColumns, f.widthFrom = table, from
	default:
		f.maxColumns, f.widthFrom = f.calibrate(units), "measured"
	}
}

// calibrate returns the first-layer columns a fused group of units holds
// at most: the typical member's width times the member count that pickWidth
// chooses from the CPU time per member step of fused groups of 1, 2, 4, …
// maxCalibration members of the typical configuration (timeGroups). The
// typical member is the most common first-layer width of the largest set
// of units that can train together. It returns 0 when no two units can
// train together.
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
	return sizes[pickWidth(f.timeGroups(typical, sizes))] * width
}

// pickWidth returns the index of the member count to fuse, given the time
// per member step of each count (ascending from 1 member): the fused count
// (≥ 2 members) with the least time, or 0 (no fusion) only when training
// alone is at least 5 % faster than that. Fusion is the default and the
// measurement must show it losing to turn it off: it saves the gathering
// of each batch, and a near tie is as likely to be the machine's noise.
func pickWidth(perMember []float64) int {
	if len(perMember) < 2 {
		return 0
	}
	best := 1
	for i := 2; i < len(perMember); i++ {
		if perMember[i] < perMember[best] {
			best = i
		}
	}
	if perMember[0] < aloneMargin*perMember[best] {
		return 0
	}
	return best
}

// timeGroups returns, for each member count in sizes (ascending), the
// least CPU time per member of one fused training step of that many models
// of u's configuration (seeds 1, 2, …), over calibrationRounds interleaved
// rounds, or +Inf for counts whose models the engine rejects. It times the
// thread's CPU time, one step at a time: a short window is often not
// preempted on a busy machine, and the fastest is the step's own cost.
// Every step takes the next batch of a walk through the fold's training
// rows in a scattered order, as an epoch does, so the rows come from
// memory: fusion shares their gathering and packing among the members,
// and one batch timed over and over (in cache) made fusion look worse than
// it is.
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
	// The batches of the walk: rows [steps×b] and their targets t [steps×b×classes].
	train := f.folds[u.ID.Fold].Train
	b := min(u.Config().Batch, len(train))
	steps := len(sizes) * (1 + calibrationRounds)
	classes := f.data.Classes
	rows := make([]int, steps*b)
	t := make([]float32, len(rows)*classes)
	stride := scatterStride(len(train))
	for i := range rows {
		r := train[(i*stride)%len(train)]
		rows[i] = r
		copy(t[i*classes:(i+1)*classes], f.data.Y[r*classes:(r+1)*classes])
	}
	next := 0 // the walk's next batch
	data := engine.DataOf(f.data, nil)
	batch := func(g *engine.Group) error {
		_, _, err := g.TrainBatch(data, rows[next*b:(next+1)*b], t[next*b*classes:(next+1)*b*classes])
		next = (next + 1) % steps
		return err
	}
	g := &engine.Group{}
	runtime.LockOSThread() // threadCPU times this thread
	defer runtime.UnlockOSThread()
	for round := range calibrationRounds {
		for i, m := range sizes {
			if err := g.Reset(models[:m], 1); err != nil {
				return perMember
			}
			if round == 0 { // warm-up: the first touches of the buffers
				if err := batch(g); err != nil {
					return perMember
				}
			}
			start := threadCPU()
			batch(g)
			perMember[i] = min(perMember[i], (threadCPU()-start).Seconds()/float64(m))
		}
	}
	return perMember
}

// scatterStride is a step through n rows that visits them all in a
// scattered order: the prime 7919 (or 1 when it divides n), far enough
// apart that consecutive rows of a batch share no cache line or page.
func scatterStride(n int) int {
	if n%7919 == 0 {
		return 1
	}
	return 7919
}
