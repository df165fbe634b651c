package scheduler

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Partway asks for reports partway through long epochs
// (engine.Group.SetProgress): Report(fold, p) at most once per Every of
// wall time in each epoch of a fold's unit. The zero Partway asks for none.
type Partway struct {
	Every  time.Duration
	Report func(fold int, p engine.EpochPart)
}

// hook is p's progress hook for fold's model; nil for the zero Partway.
func (p Partway) hook(fold int) func(engine.EpochPart) {
	if p.Report == nil {
		return nil
	}
	return func(e engine.EpochPart) { p.Report(fold, e) }
}

// FitAndScore is TrainAndScore on a model the caller built (or loaded from
// a checkpoint) and keeps, to save it: it fits m on train and scores it on
// test (after every epoch too when curves is set). Bad data or a
// divergence are results (with Error set), not errors; the only error is
// ctx's.
func FitAndScore(ctx context.Context, m *engine.Model, train, test engine.Data, curves bool, onEpoch func(engine.EpochStats)) (sweeps.UnitResult, error) {
	start := time.Now()
	u := sweeps.UnitResult{Epochs: []engine.EpochStats{}}
	var val *engine.Data
	if curves {
		val = &test
	}
	h, err := m.Fit(ctx, train, val, onEpoch)
	if ctx.Err() != nil {
		return u, ctx.Err()
	}
	if err != nil {
		u.Error = err.Error()
		u.Seconds = time.Since(start).Seconds()
		return u, nil
	}
	rows, _ := train.Size(m.Inputs(), m.Outputs()) // Fit checked it
	score(&u, h, rows, curves, func() (float64, float64) { return m.Evaluate(test) })
	u.Seconds = time.Since(start).Seconds()
	return u, nil
}

// score fills a unit's result from its training history h on rows rows:
// its learning curve, samples, divergence, and its held-out loss and
// accuracy, from the last epoch's validation when curves were scored and
// the unit did not diverge, else from evaluate. Training stops on a
// non-finite batch loss, measured before each update; the last updates can
// still blow the model up, and a non-finite held-out loss then counts as a
// divergence too.
func score(u *sweeps.UnitResult, h engine.History, rows int, curves bool, evaluate func() (loss, accuracy float64)) {
	if h.Epochs != nil {
		u.Epochs = h.Epochs
	}
	u.Diverged, u.Error = h.Diverged, h.Divergence
	u.Samples = int64(rows) * int64(len(h.Epochs))
	if last := len(h.Epochs) - 1; curves && last >= 0 && !h.Diverged {
		u.ValLoss, u.Accuracy = h.Epochs[last].ValLoss, h.Epochs[last].ValAccuracy
	} else {
		u.ValLoss, u.Accuracy = evaluate()
	}
	if !u.Diverged && (math.IsNaN(u.ValLoss) || math.IsInf(u.ValLoss, 0)) {
		u.Diverged, u.Error = true, fmt.Sprintf("diverged: held-out loss %v after epoch %d", u.ValLoss, len(h.Epochs))
	}
}
