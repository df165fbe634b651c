package sweeps

import (
	"fmt"
	"math"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
)

func TestUnitSeed(t *testing.T) {
	// Fixed forever: stored units are found by these values.
	const key = "77289123a015efb1adf6fe12ce356b1d" // engine.DefaultConfig()
	if s0, s3 := UnitSeed(42, key, 0), UnitSeed(42, key, 3); s0 != 1763007242876312543 || s3 != 6211803683984446238 {
		t.Errorf("UnitSeed changed: %d %d", s0, s3)
	}
	if UnitSeed(42, "k", 0) == UnitSeed(42, "k", 1) || UnitSeed(42, "k", 0) == UnitSeed(43, "k", 0) || UnitSeed(42, "k", 0) < 0 {
		t.Error("unit seeds collide or are negative")
	}
}

func TestShuffleSeed(t *testing.T) {
	// Fixed for engine.Version 2: a change reorders every sweep's batches.
	if s0, s3 := ShuffleSeed(42, 0), ShuffleSeed(42, 3); s0 != 4610924905080366249 || s3 != 4322040720726286192 {
		t.Errorf("ShuffleSeed changed: %d %d", s0, s3)
	}
	if ShuffleSeed(42, 0) == ShuffleSeed(42, 1) || ShuffleSeed(42, 0) == ShuffleSeed(43, 0) || ShuffleSeed(42, 0) < 0 ||
		ShuffleSeed(42, 0) == UnitSeed(42, "", 0) {
		t.Error("shuffle seeds collide or are negative")
	}
}

// TestStoppedAt: a unit trained past a study's stop shows as pruned there,
// scored on that epoch's held-out figures, with the samples, work and time
// of its first epochs, a divergence after the stop dropped; a unit that
// did not train past it, or has no held-out figures there, is unchanged.
func TestStoppedAt(t *testing.T) {
	epochs := []engine.EpochStats{{Epoch: 1, ValAccuracy: 0.5, ValLoss: 2}, {Epoch: 2, ValAccuracy: 0.75, ValLoss: 1}, {Epoch: 3, ValAccuracy: math.NaN(), ValLoss: math.Inf(1)}}
	u := UnitResult{Epochs: epochs, Accuracy: 0.25, ValLoss: 3, Samples: 300, Seconds: 6, GFLOP: 0.3, Diverged: true, Error: "diverged: held-out loss +Inf after epoch 3"}
	got := u.StoppedAt(2)
	if len(got.Epochs) != 2 || got.PrunedAt != 2 || got.Accuracy != 0.75 || got.ValLoss != 1 || got.Samples != 200 || got.Seconds != 4 ||
		math.Abs(got.GFLOP-0.2) > 1e-15 || got.Diverged || got.Error != "" || got.Failed() {
		t.Errorf("stopped at 2: %+v", got)
	}
	if len(u.Epochs) != 3 || u.Accuracy != 0.25 {
		t.Errorf("the unit itself changed: %+v", u)
	}
	noCurve := UnitResult{Epochs: []engine.EpochStats{{Epoch: 1, ValAccuracy: math.NaN()}, {Epoch: 2, ValAccuracy: math.NaN()}}, Accuracy: 0.5, Samples: 200}
	for _, c := range []struct {
		name string
		u    UnitResult
		e    int
	}{{"at its last epoch", u, 3}, {"before it", u, 4}, {"no stop", u, 0}, {"without held-out figures", noCurve, 1}, {"failed", UnitResult{Error: "rejected"}, 1}} {
		if got := c.u.StoppedAt(c.e); fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", c.u) {
			t.Errorf("%s: %+v, want it unchanged", c.name, got)
		}
	}
}
