package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// EpochStats are one epoch's figures, as Keras's fit reports them.
type EpochStats struct {
	Epoch          int     // 1-based
	Loss, Accuracy float64 // training: batch-size-weighted means over the epoch's steps (loss incl. regularization), measured before each update with dropout active
	// ValLoss and ValAccuracy are Evaluate on the validation data after the
	// epoch; NaN when there is none.
	ValLoss, ValAccuracy float64
	// Seconds is the wall time of the epoch's training steps (validation
	// excluded); SamplesPerSecond is training rows over Seconds.
	Seconds, SamplesPerSecond float64
	// Diagnostics are Diagnose on the batch set by SetDiagnosticBatch after
	// the epoch; nil when none is set.
	Diagnostics *Diagnostics `json:",omitempty"`
}

// History is what Fit returns: one EpochStats per completed epoch, and
// whether training stopped on a NaN or infinite loss.
type History struct {
	Epochs     []EpochStats
	Diverged   bool
	Divergence string // "diverged at epoch E, step S" (both 1-based) when Diverged
}

// Fit trains cfg.Epochs epochs on train, as Keras's model.fit: every epoch
// reshuffles the training rows (from the seed's shuffle stream) and runs
// ceil(n/B) steps, the last on the n mod B remaining rows when B does not
// divide n. After each epoch it evaluates val (if non-nil) and calls
// onEpoch (if non-nil).
//
// A NaN or infinite batch loss stops training: Fit returns the completed
// epochs with Diverged set and a nil error. Invalid data is an error;
// cancelling ctx (checked before every step) returns ctx.Err() with the
// completed epochs. Calling Fit again continues training from the current
// weights and optimizer state. On a model from LoadCheckpoint, Fit
// continues the checkpointed run instead: epochs E+1 … cfg.Epochs after the
// checkpoint's E, with its row order (train must use the same rows).
func (m *Model) Fit(ctx context.Context, train Data, val *Data, onEpoch func(EpochStats)) (History, error) {
	var hist History
	n, err := train.size(m.in, m.out)
	if err != nil {
		return hist, fmt.Errorf("training data: %w", err)
	}
	if val != nil {
		if _, err := val.size(m.in, m.out); err != nil {
			return hist, fmt.Errorf("validation data: %w", err)
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	first := 1
	if m.resume {
		if err := checkOrder(m.order, train, n); err != nil {
			return hist, err
		}
		m.resume = false
		first = m.epoch + 1
	} else {
		m.order = m.order[:0]
		for i := 0; i < n; i++ {
			m.order = append(m.order, train.row(i))
		}
	}
	batch := m.cfg.Batch
	steps := (n + batch - 1) / batch
	for epoch := first; epoch <= m.cfg.Epochs; epoch++ {
		shuffle(m.shuffleRNG, m.order)
		start := time.Now()
		var lossSum float64 // Σ rows·batch loss
		correct := 0
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				return hist, err
			}
			rows := m.order[s*batch : min((s+1)*batch, n)]
			b := len(rows)
			train.gather(rows, m.train.x, m.train.t, m.in, m.out)
			loss, c := m.step(m.train.x[:b*m.in], m.train.t[:b*m.out], b)
			if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
				hist.Diverged = true
				hist.Divergence = fmt.Sprintf("diverged at epoch %d, step %d", epoch, s+1)
				return hist, nil
			}
			lossSum += float64(b) * float64(loss)
			correct += c
		}
		seconds := time.Since(start).Seconds()
		stats := EpochStats{
			Epoch: epoch, Loss: lossSum / float64(n), Accuracy: float64(correct) / float64(n),
			ValLoss: math.NaN(), ValAccuracy: math.NaN(),
			Seconds: seconds, SamplesPerSecond: float64(n) / seconds,
		}
		if val != nil {
			stats.ValLoss, stats.ValAccuracy = m.Evaluate(*val)
		}
		stats.Diagnostics = m.diagnoseEpoch()
		m.epoch = epoch
		hist.Epochs = append(hist.Epochs, stats)
		if onEpoch != nil {
			onEpoch(stats)
		}
	}
	return hist, nil
}

// checkOrder reports whether a checkpoint's row order is a permutation of
// the rows train uses (n of them), so that a resumed Fit sees the same data.
func checkOrder(order []int, train Data, n int) error {
	if len(order) != n {
		return fmt.Errorf("resuming: the checkpoint trained on %d rows, this data has %d", len(order), n)
	}
	want := make([]int, n)
	for i := range want {
		want[i] = train.row(i)
	}
	got := slices.Clone(order)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("resuming: the checkpoint's training rows differ from this data's")
	}
	return nil
}
