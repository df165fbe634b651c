package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// sweepProgress shows a sweep's progress on stderr: a live bar (share of
// the training work done, units done/total, running units, samples/s, ETA)
// on a terminal, else one plain line per finished unit with an ETA; and a
// line per rung a synchronous pruner decides.
type sweepProgress struct {
	w       io.Writer
	study   string
	workers int
	pruner  string                   // the study's pruner kind; "": none
	sampled bool                     // a sampler proposes the configurations
	bar     *progressbar.ProgressBar // nil: plain lines
	max     int64                    // the bar's maximum: the work to run as forecast
	tty     bool
	printed time.Time // when the last line was printed
}

func newSweepProgress(stderr io.Writer, s *study.Study, workers int) *sweepProgress {
	p := &sweepProgress{w: stderr, study: s.Name, workers: workers, sampled: s.Search != nil, tty: isTerminal(stderr), printed: time.Now()}
	if s.Pruner != nil {
		p.pruner = s.Pruner.Kind
	}
	return p
}

func (p *sweepProgress) event(e scheduler.Event) {
	s := e.Status
	switch e.Kind {
	case scheduler.Planned:
		how := fmt.Sprintf(" on %s, %s", words.Count(p.workers, "worker"), grouping(s.GroupColumns, s.GroupWidth))
		if s.UnitsToRun == 0 && s.UnitsReused == s.UnitsTotal { // nothing trains: no grouping was chosen
			how = ""
		}
		fmt.Fprintf(p.w, "study %s: %s, %d already stored, %d to train%s\n",
			p.study, words.Count(s.UnitsTotal, "unit"), s.UnitsReused, s.UnitsToRun, how)
		if line := forecastLine(s, p.pruner, p.sampled); line != "" {
			fmt.Fprintln(p.w, line)
		}
		if p.tty && s.UnitsToRun > 0 {
			p.max = s.WorkToRun
			p.bar = progressbar.NewOptions64(p.max,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetPredictTime(false), // the caption's ETA knows a pruned study's work
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
			p.describe(s)
		}
	case scheduler.UnitStart:
		if p.bar != nil {
			p.describe(s)
		}
	case scheduler.EpochDone, scheduler.InEpoch: // InEpoch: a long epoch's part done counts (Options.PartEvery)
		if p.bar != nil {
			p.set(s)
		} else if time.Since(p.printed) >= quietLines {
			// Units of a pruned study end only at its rungs: say how far
			// the work is meanwhile.
			p.println(doneLine(s, fmt.Sprintf("training: %.0f %% of the work done, %d units started", 100*float64(s.WorkDone)/float64(max(1, s.WorkToRun)), s.UnitsRunning)))
		}
	case scheduler.UnitDone:
		line := unitLine(e)
		if p.bar == nil {
			p.println(doneLine(s, line))
			return
		}
		if e.Unit.Error != "" { // keep problems visible above the bar
			p.bar.Clear()
			fmt.Fprintln(p.w, line)
		}
		p.set(s)
	case scheduler.Decided:
		lines := rungLines(e.Decisions, p.pruner)
		if len(lines) == 0 {
			return
		}
		lines[len(lines)-1] += eta(s)
		if p.bar != nil {
			p.bar.Clear()
		}
		for _, l := range lines {
			p.println(l)
		}
		if p.bar != nil {
			p.set(s)
		}
	}
}

// partEvery is how often a job partway through a long epoch reports
// (scheduler.Options.PartEvery): it moves the bar, or makes a quiet
// line; a plain line needs no more than partLines.
func (p *sweepProgress) partEvery() time.Duration {
	if p.tty {
		return partEvery
	}
	return partLines
}

// quietLines is the longest a sweep without a bar prints nothing while
// it trains.
const quietLines = 30 * time.Second

// println prints a line (above the bar, or without one).
func (p *sweepProgress) println(line string) {
	fmt.Fprintln(p.w, line)
	p.printed = time.Now()
}

// set moves the bar to the work done, its end to the work forecast.
func (p *sweepProgress) set(s scheduler.Status) {
	if s.WorkToRun != p.max && s.WorkToRun > 0 {
		p.max = s.WorkToRun
		p.bar.ChangeMax64(p.max)
	}
	p.bar.Set64(min(s.WorkDone, p.max))
	p.describe(s)
}

// describe updates the bar's caption.
func (p *sweepProgress) describe(s scheduler.Status) {
	rate := 0.0
	if sec := s.Elapsed.Seconds(); sec > 0 {
		rate = float64(s.Samples) / sec
	}
	running := "running"
	if p.pruner != "" {
		running = "started" // a pruned study's units stay in flight from rung to rung
	}
	p.bar.Describe(fmt.Sprintf("units %d/%d, %d %s, %.0f samples/s%s", s.UnitsDone, s.UnitsToRun, s.UnitsRunning, running, rate, eta(s)))
}

// rungLines describe a pruner's new decisions, a line per rung decided
// ("rung 1 (epoch 3): 21 judged, 7 go on, cutoff 0.8123"); none for asha,
// which decides a configuration at a time (its unit lines say which
// stopped).
func rungLines(ds []sweeps.Decision, pruner string) []string {
	if pruner == "asha" {
		return nil
	}
	type rung struct{ bracket, rung, epoch int }
	var order []rung
	judged, promoted, cutoff := map[rung]int{}, map[rung]int{}, map[rung]float64{}
	for _, d := range ds {
		r := rung{d.Bracket, d.Rung, d.Epoch}
		if judged[r] == 0 {
			order = append(order, r)
		}
		judged[r]++
		if d.Promoted {
			promoted[r]++
		}
		cutoff[r] = d.Cutoff
	}
	var lines []string
	for _, r := range order {
		var l string
		switch {
		case pruner == "median":
			l = fmt.Sprintf("epoch %d: %d judged against the median %.4f, %d go on", r.epoch, judged[r], cutoff[r], promoted[r])
		case pruner == "hyperband":
			l = fmt.Sprintf("bracket %d rung %d (epoch %d): %d judged, %d go on, cutoff %.4f", r.bracket, r.rung, r.epoch, judged[r], promoted[r], cutoff[r])
		default:
			l = fmt.Sprintf("rung %d (epoch %d): %d judged, %d go on, cutoff %.4f", r.rung, r.epoch, judged[r], promoted[r], cutoff[r])
		}
		lines = append(lines, l)
	}
	return lines
}

// finish removes the bar.
func (p *sweepProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
		p.bar = nil
	}
}

// unitLine describes a finished unit: which, accuracy, time, problems.
func unitLine(e scheduler.Event) string {
	u := e.Unit
	line := fmt.Sprintf("%s=%s fold %d: ", e.Point.Axis, e.Point.Value, e.Fold)
	if u.Failed() {
		return line + "failed: " + u.Error
	}
	line += fmt.Sprintf("accuracy %.4f", u.Accuracy)
	if u.PrunedAt > 0 {
		line += fmt.Sprintf(" (pruned at epoch %d)", u.PrunedAt)
	}
	line += fmt.Sprintf(", %.1f s", u.Seconds)
	if u.Seconds > 0 && u.Samples > 0 { // none when it diverged in its first epoch
		line += fmt.Sprintf(", %.0f samples/s", float64(u.Samples)/u.Seconds)
	}
	if u.Diverged {
		line += " (" + u.Error + ")"
	}
	return line
}

// grouping says how a sweep's units train: alone (columns 0) or in fused
// groups of up to columns first-layer columns, chosen as from says
// (scheduler.Status.GroupWidth).
func grouping(columns int, from string) string {
	if columns == 0 {
		return "each unit alone"
	}
	if from == "given" {
		from = "--group-columns"
	}
	return fmt.Sprintf("fused groups of up to %d first-layer columns (%s)", columns, from)
}
