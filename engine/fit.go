package engine

import (
	"context"
	"encoding/json"
)

// EpochStats are one epoch's figures, as Keras's fit reports them.
type EpochStats struct {
	Epoch    int     `json:"epoch"`    // 1-based
	Loss     float64 `json:"loss"`     // training: batch-size-weighted mean over the epoch's steps (incl. regularization), measured before each update with dropout active
	Accuracy float64 `json:"accuracy"` // training, likewise
	// ValLoss and ValAccuracy are Evaluate on the validation data after the
	// epoch; NaN when there is none.
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
	// Seconds is the wall time of the epoch's training steps (validation
	// excluded); SamplesPerSecond is training rows over Seconds.
	Seconds          float64 `json:"seconds"`
	SamplesPerSecond float64 `json:"samples_per_second"`
	// Diagnostics are Diagnose on the batch set by SetDiagnosticBatch after
	// the epoch; nil when none is set.
	Diagnostics *Diagnostics `json:"diagnostics,omitempty"`
}

// epochStatsJSON is EpochStats's JSON form: its floats as JSONFloat (the
// shallower fields hide the embedded ones of the same name).
type epochStatsJSON struct {
	epochStatsFields
	Loss             JSONFloat `json:"loss"`
	Accuracy         JSONFloat `json:"accuracy"`
	ValLoss          JSONFloat `json:"val_loss"`
	ValAccuracy      JSONFloat `json:"val_accuracy"`
	Seconds          JSONFloat `json:"seconds"`
	SamplesPerSecond JSONFloat `json:"samples_per_second"`
}

type epochStatsFields EpochStats // EpochStats without its JSON methods

// MarshalJSON writes non-finite numbers as null (see JSONFloat).
func (s EpochStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(epochStatsJSON{epochStatsFields(s), JSONFloat(s.Loss), JSONFloat(s.Accuracy),
		JSONFloat(s.ValLoss), JSONFloat(s.ValAccuracy), JSONFloat(s.Seconds), JSONFloat(s.SamplesPerSecond)})
}

// UnmarshalJSON reads null as NaN.
func (s *EpochStats) UnmarshalJSON(b []byte) error {
	var v epochStatsJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = EpochStats(v.epochStatsFields)
	s.Loss, s.Accuracy, s.ValLoss, s.ValAccuracy = float64(v.Loss), float64(v.Accuracy), float64(v.ValLoss), float64(v.ValAccuracy)
	s.Seconds, s.SamplesPerSecond = float64(v.Seconds), float64(v.SamplesPerSecond)
	return nil
}

// History is what Fit returns: one EpochStats per completed epoch, and
// whether training stopped on a NaN or infinite loss.
type History struct {
	Epochs     []EpochStats
	Diverged   bool
	Divergence string // "diverged at epoch E, step S" (both 1-based) when Diverged
}

// Fit trains cfg.Epochs epochs on train, as Keras's model.fit: every epoch
// reshuffles the training rows (from the model's shuffle stream: cfg.Seed,
// or the seed given to SetShuffleSeed) and runs ceil(n/B) steps, the last
// on the n mod B remaining rows when B does not divide n. After each epoch
// it evaluates val (if non-nil) and calls onEpoch (if non-nil).
//
// A NaN or infinite batch loss stops training: Fit returns the completed
// epochs with Diverged set and a nil error. Invalid data is an error;
// cancelling ctx (checked before every step) returns ctx.Err() with the
// completed epochs. Calling Fit again continues training from the current
// weights and optimizer state. On a model from LoadCheckpoint, Fit
// continues the checkpointed run instead: epochs E+1 … cfg.Epochs after the
// checkpoint's E, with its row order (train must use the same rows). Fit is
// Group.Fit of the model alone.
func (m *Model) Fit(ctx context.Context, train Data, val *Data, onEpoch func(EpochStats)) (History, error) {
	var each func(int, EpochStats)
	if onEpoch != nil {
		each = func(_ int, s EpochStats) { onEpoch(s) }
	}
	hists, err := m.solo.Fit(ctx, train, val, each)
	return hists[0], err
}
