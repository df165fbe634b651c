package engine

import (
	"encoding/json"
	"math"
)

// JSONFloat is a float64 whose JSON is a number when finite and null
// otherwise (JSON has no NaN or infinities; a diverged loss is +Inf, a
// missing validation score NaN). Every JSON that mlpsweep prints follows
// this rule; null reads back as NaN.
type JSONFloat float64

func (f JSONFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(x)
}

func (f *JSONFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = JSONFloat(math.NaN())
		return nil
	}
	var x float64
	err := json.Unmarshal(b, &x)
	*f = JSONFloat(x)
	return err
}
