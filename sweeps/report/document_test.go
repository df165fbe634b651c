package report

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestDocumentTiers: the document carries each configuration's Tier, the
// one rule the live page's best-so-far curve reads (it counted pruned and
// diverged configurations).
func TestDocumentTiers(t *testing.T) {
	configs := []sweeps.ConfigResult{
		{Key: "a", Axis: "lr", Value: "1", Units: []sweeps.UnitResult{{Accuracy: 0.5}}, FoldAccuracies: []float64{0.5}, MeanAccuracy: 0.5},
		{Key: "b", Axis: "lr", Value: "2", PrunedAt: 3, Units: []sweeps.UnitResult{{PrunedAt: 3, Accuracy: 0.6}}, FoldAccuracies: []float64{0.6}, MeanAccuracy: 0.6},
		{Key: "c", Axis: "lr", Value: "3", Units: []sweeps.UnitResult{{Diverged: true, Accuracy: 0.1}}, FoldAccuracies: []float64{0.1}, MeanAccuracy: 0.1},
	}
	doc, err := NewDocument(sweeps.StudyResult{Name: "s", Folds: 1, Epochs: 3, Configs: configs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Tiers []int `json:"tiers"`
	}
	if err := json.Unmarshal(b, &got); err != nil || !slices.Equal(got.Tiers, []int{0, 1, 2}) {
		t.Errorf("tiers %v (%v), want [0 1 2]", got.Tiers, err)
	}
}
