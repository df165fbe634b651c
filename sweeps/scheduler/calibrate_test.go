package scheduler

import (
	"math"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestPickWidth: the fused width with the least time per member step
// wins; training alone only when at least 5 % faster than it, so that a
// near tie (the machine's noise) keeps fusion on.
func TestPickWidth(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		perMember []float64 // µs per member step at 1, 2, 4, … members
		want      int
	}{
		{[]float64{100, 97, 94, 92, 93}, 3},     // fusion pays: the fastest width
		{[]float64{100, 104, 103, 106}, 2},      // fused 3 % slower: within the noise, fused
		{[]float64{90, 100, 96, 101}, 0},        // alone 6 % faster: alone
		{[]float64{629, 553, 573, 546, 591}, 3}, // calibrate's timings on a busy Zen 4 (cold batches)
		{[]float64{100, inf, inf}, 0},           // the engine rejected the fused models
		{[]float64{100}, 0},                     // one unit: nothing to fuse
		{nil, 0},
	} {
		if got := pickWidth(tc.perMember); got != tc.want {
			t.Errorf("pickWidth(%v) = %d, want %d", tc.perMember, got, tc.want)
		}
	}
}

// mixFit is a fused foldFit of mixStudy's units on blobs, with group
// width maxColumns, and the units.
func mixFit(t *testing.T, maxColumns int) (*foldFit, []sweeps.Unit) {
	t.Helper()
	data := datasets.Blobs(300, 10, 3)
	s := parse(t, mixStudy)
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		t.Fatal(err)
	}
	units := sweeps.Plan(sweeps.Header{Folds: s.Folds, Seed: s.Seed}, s.Points)
	return &foldFit{data: data, folds: folds, seed: s.Seed, fuse: true, maxColumns: maxColumns}, units
}

// TestCalibrate measures a group width: a power of two times the typical
// member's width (16, the base's), at most the units that can train
// together; and none when no two units can.
func TestCalibrate(t *testing.T) {
	f, units := mixFit(t, 0)
	c := f.calibrate(units)
	if c%16 != 0 || c < 16 || c > 8*16 || (c/16)&(c/16-1) != 0 {
		t.Errorf("calibrated %d columns, want 16 × 2^k ≤ 16 × 8 (11 units train together)", c)
	}
	t.Logf("calibrated %d columns", c)
	if f.jobs(units, 1); f.maxColumns == 0 {
		t.Error("jobs did not calibrate")
	}
	one := parse(t, "folds: 3\nepochs: 1\nbase: {hidden: [4]}\n")
	if c := f.calibrate(sweeps.Plan(sweeps.Header{Folds: 3, Seed: one.Seed}, one.Points)); c != 0 {
		t.Errorf("calibrated %d columns for units that never train together", c)
	}
}

// TestChooseWidth: a width given is kept; otherwise the kernels' tuning's
// width for this CPU is taken when it has one, and measured when it has
// none or when asked to (MeasureGroupColumns).
func TestChooseWidth(t *testing.T) {
	table, from := tableColumns()
	for _, tc := range []struct {
		given    int
		want     int // 0: measured, a multiple of the typical member's 16 columns
		wantFrom string
	}{
		{48, 48, "given"},
		{0, table, from},
		{MeasureGroupColumns, 0, "measured"},
	} {
		if tc.given == 0 && table == 0 {
			tc.want, tc.wantFrom = 0, "measured" // the tuning does not know this CPU
		}
		f, units := mixFit(t, tc.given)
		f.chooseWidth(units)
		if f.widthFrom != tc.wantFrom || tc.want > 0 && f.maxColumns != tc.want || tc.want == 0 && (f.maxColumns < 16 || f.maxColumns%16 != 0) {
			t.Errorf("given %d: %d columns (%s), want %d (%s)", tc.given, f.maxColumns, f.widthFrom, tc.want, tc.wantFrom)
		}
	}
	t.Logf("this CPU's tuning: %d columns (%s)", table, kernels.TuningSource())
}
