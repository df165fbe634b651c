package sweeps

import "testing"

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
