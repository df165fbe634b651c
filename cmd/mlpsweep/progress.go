package main

import (
	"fmt"
	"math"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
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

// eta is ", eta 1m30s" from the work done so far, or "".
func eta(s scheduler.Status) string {
	if s.WorkDone <= 0 || s.WorkDone >= s.WorkToRun {
		return ""
	}
	left := time.Duration(float64(s.Elapsed) / float64(s.WorkDone) * float64(s.WorkToRun-s.WorkDone))
	return ", eta " + left.Round(time.Second).String()
}

// width is the number of decimal digits of n.
func width(n int) int { return len(fmt.Sprint(n)) }

// doneLine is a finished unit's line: "[ 3/12] " + what + the ETA.
func doneLine(s scheduler.Status, what string) string {
	return fmt.Sprintf("[%*d/%d] %s%s", width(s.UnitsToRun), s.UnitsDone, s.UnitsToRun, what, eta(s))
}
