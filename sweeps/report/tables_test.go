package report

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

func TestWriteTablesAxisStudy(t *testing.T) {
	var b strings.Builder
	if err := WriteTables(&b, axisStudy()); err != nil {
		t.Fatal(err)
	}
	// Means, stds and val losses as worked out by hand in axisStudy; each
	// config's units take 10+11+12 = 33 s.
	want := `study "demo-axes": 6 configurations × 3 folds, 4 epochs, 18 units (15 trained, 3 reused), 2m05s

axis lr
   value  accuracy         val loss  seconds  status
   0.001  0.9600 ± 0.0082  0.1500    33.0
*  0.01   0.9750 ± 0.0041  0.0900    33.0
   1      0.6400 ± 0.3819  inf       33.0     diverged 1/3
best lr = 0.01: accuracy 0.9750 ± 0.0041

axis hidden
   value      accuracy         val loss  seconds  status
   [64]       0.9620 ± 0.0016  0.1200    33.0
   [256]      0.9760 ± 0.0014  0.0800    33.0
*  [256,128]  0.9820 ± 0.0022  0.0600    33.0
best hidden = [256,128]: accuracy 0.9820 ± 0.0022

units that diverged or failed:
  lr=1 fold 1: diverged at epoch 2, step 7
`
	if got := b.String(); got != want {
		t.Errorf("tables:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTablesRankedStudy(t *testing.T) {
	var b strings.Builder
	if err := WriteTables(&b, gridStudy()); err != nil {
		t.Fatal(err)
	}
	// Ranks as sklearn's: the two 0.97 configurations tie at 2, the next is
	// 4; the configuration missing a fold is flagged.
	want := `study "demo-grid": 4 configurations × 3 folds, 4 epochs, 12 units (11 trained, 0 reused), 1h06m

configurations ranked by mean accuracy
   rank  lr    batch  accuracy         val loss  seconds  status
*  1     0.01  128    0.9800 ± 0.0000  0.0800    33.0
   2     0.01  32     0.9700 ± 0.0000  0.1000    33.0
   2     0.1   32     0.9700 ± 0.0000  0.1200    33.0
   4     0.1   128    0.9550 ± 0.0050  0.1900    21.0     missing 1/3
`
	if got := b.String(); got != want {
		t.Errorf("tables:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTablesUnscoredAndFailed(t *testing.T) {
	r := gridStudy()
	r.Configs[0].Units[2].Error = "out of memory"     // failed, not diverged
	r.Configs[3].Units, r.Configs[3].Seconds = nil, 0 // nothing finished yet
	var b strings.Builder
	if err := WriteTables(&b, r); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"4     0.1   128    —                —         0.0      missing 3/3", // unscored: last, no numbers
		"failed 1/3",
		"lr=0.01 batch=32 fold 2: out of memory",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("tables lack %q:\n%s", want, got)
		}
	}
}

func TestWriteTablesBadInput(t *testing.T) {
	var b strings.Builder
	if err := WriteTables(&b, sweeps.StudyResult{Name: "empty"}); err == nil || !strings.Contains(err.Error(), "no configurations") {
		t.Errorf("empty study: err = %v", err)
	}
	r := gridStudy()
	r.Configs[1].Units[1].Fold = 0
	if err := WriteTables(&b, r); err == nil || !strings.Contains(err.Error(), "fold 0") {
		t.Errorf("repeated fold: err = %v", err)
	}
	r = gridStudy()
	r.Configs[1].Units[1].Fold = -1
	if err := WriteTables(&b, r); err == nil || !strings.Contains(err.Error(), "fold -1") {
		t.Errorf("negative fold: err = %v", err)
	}
	if b.Len() != 0 {
		t.Errorf("bad input wrote %q", b.String())
	}
}

func TestRankByScore(t *testing.T) {
	cfg := func(mean float64, units int) sweeps.ConfigResult {
		return sweeps.ConfigResult{MeanAccuracy: mean, Units: make([]sweeps.UnitResult, units)}
	}
	failed := cfg(0.99, 1)
	failed.Units[0].Error = "killed"
	got := rankByScore([]sweeps.ConfigResult{cfg(0.9, 1), cfg(math.NaN(), 1), cfg(0.95, 1), cfg(0.99, 0), cfg(0.9, 2), failed})
	want := []int{2, 4, 1, 4, 2, 4} // unscored configurations (NaN, no units, all failed) share the last rank
	if !slices.Equal(got, want) {
		t.Errorf("ranks = %v, want %v", got, want)
	}

	// A configuration with a diverged fold ranks after the others, whatever
	// its accuracy, and is no axis's best while another has a result.
	diverged := sweeps.ConfigResult{Key: "d", Axis: "lr", MeanAccuracy: 0.0955, Units: []sweeps.UnitResult{{Diverged: true, Error: "diverged at epoch 1, step 3"}}}
	poor := sweeps.ConfigResult{Key: "p", Axis: "lr", MeanAccuracy: 0.0925, Units: make([]sweeps.UnitResult, 1)}
	if got := rankByScore([]sweeps.ConfigResult{diverged, poor}); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("ranks of a diverged and a poor configuration = %v, want [2 1]", got)
	}
	if axes := groupByAxis([]sweeps.ConfigResult{diverged, poor}); len(axes) != 1 || axes[0].Best != 1 {
		t.Errorf("axes %+v: the best of lr is the diverged configuration", axes)
	}

	// A configuration listed under two axes (one key) counts once.
	best := sweeps.ConfigResult{Key: "base", MeanAccuracy: 0.98, Units: make([]sweeps.UnitResult, 1)}
	other := sweeps.ConfigResult{Key: "other", MeanAccuracy: 0.97, Units: make([]sweeps.UnitResult, 1)}
	if got := rankByScore([]sweeps.ConfigResult{best, other, best}); !slices.Equal(got, []int{1, 2, 1}) {
		t.Errorf("ranks with a shared baseline = %v, want [1 2 1]", got)
	}
}

func TestStatus(t *testing.T) {
	c := sweeps.ConfigResult{Units: []sweeps.UnitResult{{Fold: 0}, {Fold: 1, Diverged: true, Error: "diverged at epoch 1, step 3"}, {Fold: 3, Error: "killed"}}}
	if got, want := status(c, 5, nil), "diverged 1/5, failed 1/5, missing 2/5"; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if got := status(sweeps.ConfigResult{Units: []sweeps.UnitResult{{Fold: 0}}}, 1, nil); got != "" {
		t.Errorf("status of a clean config = %q", got)
	}
	// A pruned configuration says why: its score and the cutoff it missed.
	pruned := sweeps.ConfigResult{Key: "p", PrunedAt: 3, Units: []sweeps.UnitResult{{Fold: 0, PrunedAt: 3}}}
	v := &studyView{r: sweeps.StudyResult{Decisions: []sweeps.Decision{{Key: "p", Epoch: 1, Score: 0.5, Cutoff: 0.4, Promoted: true},
		{Key: "q", Epoch: 3, Score: 0.7, Cutoff: 0.8}, {Key: "p", Epoch: 3, Score: 0.61234, Cutoff: 0.7}}}, folds: 1}
	if got, want := v.status(pruned), "pruned at epoch 3: 0.6123 < cutoff 0.7000"; got != want {
		t.Errorf("status of a pruned config = %q, want %q", got, want)
	}
	scores := foldScores(c, 5)
	if scores[0] != 0 || scores[1] != 0 || !math.IsNaN(scores[2]) || !math.IsNaN(scores[3]) || !math.IsNaN(scores[4]) {
		t.Errorf("fold scores = %v, want [0 0 NaN NaN NaN] (failed and missing folds unscored)", scores)
	}
}
