package report

import (
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestRefitLineSaysWhereTheModelIs: the line said "model best.safetensors",
// which a user looked for in the current folder; it is in the study's.
func TestRefitLineSaysWhereTheModelIs(t *testing.T) {
	f := &sweeps.RefitResult{Axis: "grid", Value: "lr=0.01", CVMeanAccuracy: 0.9806, TrainRows: 3200, TestAccuracy: 0.96625, TestLoss: 0.07, TestRows: 800, ModelFile: "best.safetensors"}
	want := "refit of grid=lr=0.01 (cross-validated accuracy 0.9806) on all 3200 training rows: test accuracy 0.9663, loss 0.0700 on 800 rows; model best.safetensors in the study's output folder"
	if got := refitLine(f); !strings.HasPrefix(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
