package sweeps

import (
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
)

// ETA is the time the work left takes at the rate at which the work done
// took elapsed: the one rule of every estimate of the time a study has
// left (sweep's bar and lines, queue mode's Follow and pruned
// coordinator, serve's list). Work is training work (Σ epochs × rows ×
// work per row, and the held-out rows scored after each epoch: EpochWork,
// or once at a unit's end without curves: scheduler.ScoredWork),
// in whatever measure left and done share: a unit of a 512-256-128
// network weighs about 6 of a 128 one. 0 before any work was done, or
// with none left.
//
// One rate for all the work: what costs more or less per GEMM FLOP than
// the work done so far moves it, and nothing measured on Zen 4 is worth a
// rule of its own: a unit's setup (about 5 ms of CPU, some 4 % of an
// epoch of 9,000 MNIST rows; the run's own start, 65 ms), an epoch
// credited as it ends (a fused group's members one by one), and the
// configurations a pruner keeps, which cost more per FLOP when they have
// small batches (an adaptive study's last stage, 9 % more) and weigh more
// or less than the mean it forecast them at (prune.Outlook.OfWork: "~").
// The one exception is the warm-up before a run's first step ends
// (Warmup), which a partway ETA leaves out of elapsed.
// TestPrunedETAAgainstTimeLeft bounds it on a real run.
func ETA(left, done float64, elapsed time.Duration) time.Duration {
	if done <= 0 || left <= 0 {
		return 0
	}
	return time.Duration(left / done * float64(elapsed))
}

// EpochWork is the work of one epoch of a unit, for ETAs: its training
// steps and, when its held-out rows are scored after it (learning curves,
// a pruned study's rungs, train's test set), their forward pass, which
// with few training rows and many scored ones (train --limit-rows on
// MNIST's 10,000 test images) is most of the epoch.
type EpochWork struct {
	Train float64 // scheduler.EpochFLOPs: rows × scheduler.TrainingFLOPsPerRow
	Eval  float64 // scheduler.ScoringFLOPs of the scored rows; 0: none scored
}

// Total is the epoch's work.
func (w EpochWork) Total() float64 { return w.Train + w.Eval }

// Done is the work done when a share fraction of the epoch's steps is
// (engine.EpochPart.Fraction): the scoring comes after its last step.
func (w EpochWork) Done(fraction float64) float64 { return fraction * w.Train }

// Warmup is how much of the time from a run's start to a report p of its
// first epoch, made at now, was warm-up rather than work at the pace the
// steps since went: the run's setup and its first step, which touches the
// models' buffers for the first time (a page fault costs about 10 µs on
// these VMs: a 4096-4096 network's first step took 2.5 times the next
// ones). It is the time to the end of the first step (p.Warm before now)
// less a step at the pace since; ok is false when p cannot tell (at its
// Step 1 nothing is past the warm-up).
func Warmup(start, now time.Time, p engine.EpochPart) (d time.Duration, ok bool) {
	if p.Step < 2 || p.Warm <= 0 {
		return 0, false
	}
	first := now.Add(-p.Warm).Sub(start)
	return max(0, first-p.Warm/time.Duration(p.Step-1)), true
}

// Clock times a run for its ETAs: from its start, less the largest
// Warmup of its reports partway through its first epochs, so that its
// first ETA does not extrapolate from the slow start; reports after an
// epoch ended are past the warm-up.
type Clock struct {
	start  time.Time
	warmup time.Duration
	known  bool // warmup is measured, or an epoch ended
}

// NewClock starts a clock at start.
func NewClock(start time.Time) Clock { return Clock{start: start} }

// Part notes a report p made at now; first says that no epoch of the run
// ended before it.
func (c *Clock) Part(now time.Time, p engine.EpochPart, first bool) {
	if d, ok := Warmup(c.start, now, p); ok && first {
		c.warmup, c.known = max(c.warmup, d), true
	}
}

// EpochEnded notes that an epoch of the run ended: its rate is known.
func (c *Clock) EpochEnded() { c.known = true }

// Warmup is the warm-up measured so far.
func (c *Clock) Warmup() time.Duration { return c.warmup }

// Elapsed is the time from the start to now less the warm-up, for ETA;
// ok is false while no rate past the warm-up is known (only a first step
// was reported): no ETA then.
func (c *Clock) Elapsed(now time.Time) (d time.Duration, ok bool) {
	return now.Sub(c.start) - c.warmup, c.known
}
