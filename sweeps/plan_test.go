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
