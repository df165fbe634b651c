package main

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
)

// Progress lines on stderr, shared by the commands that train: an epoch's
// line (train, sweep's refit) and a finished unit's, with the ETA (sweep,
// depth).

// epochLine describes a finished epoch of epochs.
func epochLine(s engine.EpochStats, epochs int) string {
	line := fmt.Sprintf("epoch %d/%d loss %.4f acc %.4f", s.Epoch, epochs, s.Loss, s.Accuracy)
	if !math.IsNaN(s.ValLoss) {
		line += fmt.Sprintf(" val_loss %.4f val_acc %.4f", s.ValLoss, s.ValAccuracy)
	}
	return line + fmt.Sprintf(" %.1fs %.0f samples/s", s.Seconds, s.SamplesPerSecond)
}

// epochETA adds the time left to the epoch lines of one training run
// (train, its folds in parallel, or sweep's refit): the time per epoch so
// far, over every fold's epochs finished, times the epochs still to run
// (sweeps.ETA, the rule of every ETA).
type epochETA struct {
	mu    sync.Mutex
	start time.Time
	done  int // epochs finished, of every fold
	total int // epochs this run trains, of every fold
}

// newEpochETA starts the clock of a run of total epochs.
func newEpochETA(total int) *epochETA { return &epochETA{start: time.Now(), total: total} }

// line is epochLine(s, epochs) of the next finished epoch, with ", eta 1m30s"
// while epochs remain. Folds call it concurrently.
func (e *epochETA) line(s engine.EpochStats, epochs int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.done++
	line := epochLine(s, epochs)
	if e.done < e.total {
		line += ", eta " + sweeps.ETA(float64(e.total-e.done), float64(e.done), time.Since(e.start)).Round(time.Second).String()
	}
	return line
}

// eta is ", eta 1m30s" from the rate of the work done so far and the
// work left as s.Forecast knows it: ", eta ~1m30s" for an expectation
// (asha, a sampler's configurations to come), ", eta 40s–1m30s" for
// bounds (the median pruner); "" before any work or after the last.
func eta(s scheduler.Status) string {
	if s.WorkDone <= 0 {
		return ""
	}
	left := func(w int64) string {
		return sweeps.ETA(float64(w-s.WorkDone), float64(s.WorkDone), s.Elapsed).Round(time.Second).String()
	}
	switch {
	case s.Forecast == prune.Bounded && s.WorkLeast < s.WorkMost && s.WorkDone < s.WorkMost:
		return ", eta " + left(s.WorkLeast) + "–" + left(s.WorkMost)
	case s.WorkDone >= s.WorkToRun:
		return ""
	case s.Forecast == prune.Expected:
		return ", eta ~" + left(s.WorkToRun)
	}
	return ", eta " + left(s.WorkToRun)
}

// forecastLine says, for the Planned line of a study with a pruner or a
// sampler, what share of the work of training every unit fully the ETA
// counts on, and why; "" for other studies.
func forecastLine(s scheduler.Status, pruner string, sampled bool) string {
	if s.WorkFull <= 0 || pruner == "" && !sampled {
		return ""
	}
	share := func(w int64) string { return fmt.Sprintf("%.0f %%", 100*float64(w)/float64(s.WorkFull)) }
	var line string
	switch {
	case pruner == "":
	case s.WorkLeast >= s.WorkFull:
		line = fmt.Sprintf("pruner %s: no rung ends before the study's last epoch, so every configuration trains fully (lower min_epochs, or train more epochs)", pruner)
	case s.Forecast == prune.Bounded:
		line = fmt.Sprintf("pruner %s: between %s and %s of the work of training every unit fully (the median rule's stops cannot be foreseen; the ETA gives both ends)",
			pruner, share(s.WorkLeast), share(s.WorkMost))
	case pruner == "asha":
		line = fmt.Sprintf("pruner asha: about %s of the work of training every unit fully, expected if configurations reach each rung in random order (the ETA, ~, counts on it)", share(s.WorkToRun))
	default:
		line = fmt.Sprintf("pruner %s: %s of the work of training every unit fully, by its rung schedule (the ETA counts on it)", pruner, share(s.WorkToRun))
	}
	if sampled {
		if line != "" {
			line += "; "
		}
		line += "sampler: the configurations not proposed yet are counted at the mean size of those proposed so far (the ETA, ~, is an estimate)"
	}
	return line
}

// width is the number of decimal digits of n.
func width(n int) int { return len(fmt.Sprint(n)) }

// doneLine is a finished unit's line: "[ 3/12] " + what + the ETA.
func doneLine(s scheduler.Status, what string) string {
	return fmt.Sprintf("[%*d/%d] %s%s", width(s.UnitsToRun), s.UnitsDone, s.UnitsToRun, what, eta(s))
}
