package store

import (
	"math"
	"slices"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
)

func TestEpochsRoundTripNonFiniteValues(t *testing.T) {
	in := []engine.EpochStats{
		{Epoch: 1, Loss: 0.5, Accuracy: 0.75, ValLoss: math.NaN(), ValAccuracy: math.NaN(), Seconds: 1.25, SamplesPerSecond: 1e5},
		{Epoch: 2, Loss: math.Inf(1), Accuracy: 0.1, ValLoss: math.Inf(-1), ValAccuracy: 0, Seconds: 0, SamplesPerSecond: 0},
	}
	s, err := encodeEpochs(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeEpochs(s)
	if err != nil {
		t.Fatal(err)
	}
	flat := func(es []engine.EpochStats) (xs []float64) {
		for _, e := range es {
			xs = append(xs, float64(e.Epoch), e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.SamplesPerSecond)
		}
		return xs
	}
	if !slices.EqualFunc(flat(out), flat(in), func(x, y float64) bool {
		return math.Float64bits(x) == math.Float64bits(y) || math.IsNaN(x) && math.IsNaN(y)
	}) {
		t.Errorf("round trip of %s gave %+v", s, out)
	}
}
