package store

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/mlpsweep/mlpsweep/engine"
)

// epochRecord is engine.EpochStats as stored in the units table. Its floats
// may be NaN (no validation data) or infinite (a diverged loss), which JSON
// numbers cannot hold, hence jsonFloat.
type epochRecord struct {
	Epoch            int       `json:"epoch"`
	Loss             jsonFloat `json:"loss"`
	Accuracy         jsonFloat `json:"accuracy"`
	ValLoss          jsonFloat `json:"val_loss"`
	ValAccuracy      jsonFloat `json:"val_accuracy"`
	Seconds          jsonFloat `json:"seconds"`
	SamplesPerSecond jsonFloat `json:"samples_per_second"`
}

// jsonFloat is a float64 written as a JSON number when finite and as the
// string "NaN", "+Inf" or "-Inf" otherwise.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return json.Marshal(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return json.Marshal(x)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		x, err := strconv.ParseFloat(s, 64)
		*f = jsonFloat(x)
		return err
	}
	var x float64
	err := json.Unmarshal(b, &x)
	*f = jsonFloat(x)
	return err
}

// encodeEpochs and decodeEpochs convert a learning curve to and from its
// stored JSON.
func encodeEpochs(epochs []engine.EpochStats) (string, error) {
	recs := make([]epochRecord, len(epochs))
	for i, e := range epochs {
		recs[i] = epochRecord{e.Epoch, jsonFloat(e.Loss), jsonFloat(e.Accuracy), jsonFloat(e.ValLoss),
			jsonFloat(e.ValAccuracy), jsonFloat(e.Seconds), jsonFloat(e.SamplesPerSecond)}
	}
	b, err := json.Marshal(recs)
	return string(b), err
}

func decodeEpochs(s string) ([]engine.EpochStats, error) {
	var recs []epochRecord
	if err := json.Unmarshal([]byte(s), &recs); err != nil {
		return nil, err
	}
	epochs := make([]engine.EpochStats, len(recs))
	for i, r := range recs {
		epochs[i] = engine.EpochStats{Epoch: r.Epoch, Loss: float64(r.Loss), Accuracy: float64(r.Accuracy),
			ValLoss: float64(r.ValLoss), ValAccuracy: float64(r.ValAccuracy),
			Seconds: float64(r.Seconds), SamplesPerSecond: float64(r.SamplesPerSecond)}
	}
	return epochs, nil
}
