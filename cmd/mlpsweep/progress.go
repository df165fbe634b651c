package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

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

// epochProgress prints one training run's progress (train, its folds in
// parallel, sweep's refit) on stderr: a line per finished epoch, and,
// partway through an epoch long enough, how far it is (engine.EpochPart),
// redrawn in place every partEvery on a terminal, else a plain line every
// partLines; each with the time left. Folds call it concurrently.
type epochProgress struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string           // "refit " or "", before the fold's "fold 2/4 "
	folds  int              // > 1: the lines name the fold
	epochs int              // each fold's
	tty    bool             // a terminal: the partway line is redrawn in place
	clock  sweeps.Clock     // from the start, less the warm-up
	done   int              // epochs finished, of every fold
	total  int              // epochs this run trains, of every fold
	part   []float64        // [folds] the share done of each fold's epoch in flight
	open   bool             // a partway line is drawn and not ended (tty)
	work   sweeps.EpochWork // an epoch's (scored), for the share of its work a part of its steps is; zero: the steps are all of it
}

// How often a long epoch says how far it is: redrawn on a terminal, a
// line in a log. Variables for the tests.
var (
	partEvery = time.Second
	partLines = 10 * time.Second
	// A queue worker's log is a file (Slurm's, a pod's) of lines from
	// all its jobs at once: a job's line comes at most every 30 s.
	workerPartLines = 30 * time.Second
)

// newEpochProgress starts the clock of a run of folds folds of epochs
// epochs each, total of them still to train (a resumed run has fewer);
// tty draws the partway line in place (a terminal, no --json).
func newEpochProgress(w io.Writer, prefix string, folds, epochs, total int, tty bool) *epochProgress {
	return &epochProgress{w: w, prefix: prefix, folds: folds, epochs: epochs, tty: tty, clock: sweeps.NewClock(time.Now()), total: total, part: make([]float64, folds)}
}

// scores says that each epoch's work is w, its held-out scoring
// included (scheduler.EpochWorkOf), and returns e.
func (e *epochProgress) scores(w sweeps.EpochWork) *epochProgress {
	e.work = w
	return e
}

// every is the interval to ask the engine's reports for (SetProgress).
func (e *epochProgress) every() time.Duration {
	if e.tty {
		return partEvery
	}
	return partLines
}

// partway is fold's model's progress hook (engine.Model.SetProgress).
func (e *epochProgress) partway(fold int) func(engine.EpochPart) {
	return func(p engine.EpochPart) { e.partwayLine(fold, p) }
}

// partways is the run's scheduler.Partway (the folds of CrossValidate).
func (e *epochProgress) partways() scheduler.Partway {
	return scheduler.Partway{Every: e.every(), Report: e.partwayLine}
}

// epoch prints fold's finished epoch s with the time left.
func (e *epochProgress) epoch(fold int, s engine.EpochStats) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.done++
	e.part[fold] = 0
	e.clock.EpochEnded()
	e.writeLine(e.foldPrefix(fold) + epochLine(s, e.epochs) + e.eta())
}

// partwayLine prints how far fold's epoch is, with the time left.
func (e *epochProgress) partwayLine(fold int, p engine.EpochPart) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.part[fold] = p.Fraction()
	if w := e.work.Total(); w > 0 {
		e.part[fold] = e.work.Done(p.Fraction()) / w
	}
	e.clock.Part(now, p, e.done == 0)
	line := fmt.Sprintf("%sepoch %d/%d: %.0f %% (%d/%d steps)%s", e.foldPrefix(fold), p.Epoch, e.epochs, 100*p.Fraction(), p.Step, p.Steps, e.eta())
	if !e.tty {
		fmt.Fprintln(e.w, line)
		return
	}
	fmt.Fprint(e.w, "\r\033[K"+line) // carriage return, erase the line
	e.open = true
}

// writeLine prints a line, over the partway line when one is drawn.
func (e *epochProgress) writeLine(line string) {
	if e.open {
		line = "\r\033[K" + line
		e.open = false
	}
	fmt.Fprintln(e.w, line)
}

// clearLine erases a partway line left drawn (an interrupted run's).
func (e *epochProgress) clearLine() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.open {
		fmt.Fprint(e.w, "\r\033[K")
		e.open = false
	}
}

// foldPrefix starts a line of fold.
func (e *epochProgress) foldPrefix(fold int) string {
	if e.folds > 1 {
		return fmt.Sprintf("%sfold %d/%d ", e.prefix, fold+1, e.folds)
	}
	return e.prefix
}

// eta is ", eta 1m30s" while epochs remain and a rate past the warm-up
// is known (after a step of the first epoch: sweeps.Warmup): the time per
// epoch so far (less the warm-up), over every fold's epochs finished and the parts
// done of those in flight, times the epochs still to run (sweeps.ETA, the
// rule of every ETA). The epochs of one run weigh the same
// (scheduler.EpochWorkOf one network on a fold's rows, the folds a row
// apart), so they are its work; a part of an epoch's steps is that part of
// its training, not of its scoring.
func (e *epochProgress) eta() string {
	done := float64(e.done)
	for _, f := range e.part {
		done += f
	}
	elapsed, known := e.clock.Elapsed(time.Now())
	if e.done >= e.total || !known {
		return "" // or no rate past the warm-up yet
	}
	return ", eta " + sweeps.ETA(float64(e.total)-done, done, elapsed).Round(time.Second).String()
}

// isTerminal reports whether w is a terminal (a bar or a line redrawn in
// place), not a file or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// eta is ", eta 1m30s" from the rate of the work done so far and the
// work left as s.Forecast knows it: ", eta ~1m30s" for an expectation
// (asha, a sampler's configurations to come), ", eta 40s–1m30s" for
// bounds (the median pruner); "" before any work or after the last, or
// while a first step is all that was timed (Status.Timed).
func eta(s scheduler.Status) string {
	if s.WorkDone <= 0 || !s.Timed {
		return ""
	}
	left := func(w int64) string {
		return sweeps.ETA(float64(w-s.WorkDone), float64(s.WorkDone), s.Elapsed-s.Warmup).Round(time.Second).String()
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
