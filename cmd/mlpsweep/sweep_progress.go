package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
)

// sweepProgress shows a sweep's progress on stderr: a live bar (share of
// the training work done, units done/total, running units, samples/s, ETA)
// on a terminal, else one plain line per finished unit with an ETA.
type sweepProgress struct {
	w       io.Writer
	study   string
	workers int
	bar     *progressbar.ProgressBar // nil: plain lines
	tty     bool
}

func newSweepProgress(stderr io.Writer, study string, workers int) *sweepProgress {
	f, ok := stderr.(*os.File)
	return &sweepProgress{w: stderr, study: study, workers: workers, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *sweepProgress) event(e scheduler.Event) {
	s := e.Status
	switch e.Kind {
	case scheduler.Planned:
		fmt.Fprintf(p.w, "study %s: %d units, %d already stored, %d to train on %d workers, %s\n",
			p.study, s.UnitsTotal, s.UnitsReused, s.UnitsToRun, p.workers, grouping(s.GroupColumns, s.GroupWidth))
		if p.tty && s.UnitsToRun > 0 {
			p.bar = progressbar.NewOptions64(s.WorkToRun,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetPredictTime(true),
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
	case scheduler.EpochDone:
		if p.bar != nil {
			p.bar.Set64(s.WorkDone)
			p.describe(s)
		}
	case scheduler.UnitDone:
		line := unitLine(e)
		if p.bar == nil {
			fmt.Fprintln(p.w, doneLine(s, line))
			return
		}
		if e.Unit.Error != "" { // keep problems visible above the bar
			p.bar.Clear()
			fmt.Fprintln(p.w, line)
		}
		p.bar.Set64(s.WorkDone)
		p.describe(s)
	}
}

// describe updates the bar's caption.
func (p *sweepProgress) describe(s scheduler.Status) {
	rate := 0.0
	if sec := s.Elapsed.Seconds(); sec > 0 {
		rate = float64(s.Samples) / sec
	}
	p.bar.Describe(fmt.Sprintf("units %d/%d, %d running, %.0f samples/s", s.UnitsDone, s.UnitsToRun, s.UnitsRunning, rate))
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
	line += fmt.Sprintf("accuracy %.4f, %.1f s", u.Accuracy, u.Seconds)
	if u.Seconds > 0 {
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
