package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// JSONFloat is a float64 whose JSON is a number when finite and null
// otherwise (JSON has no NaN or infinities; a diverged loss is +Inf, a
// missing validation score NaN). Every JSON that mlpsweep writes follows
// this rule; null reads back as NaN, and so do the strings "NaN", "+Inf"
// and "-Inf" that databases of schema version 1 hold.
type JSONFloat float64

func (f JSONFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(x)
}

func (f *JSONFloat) UnmarshalJSON(b []byte) error {
	var legacy string
	switch {
	case string(b) == "null":
		*f = JSONFloat(math.NaN())
		return nil
	case json.Unmarshal(b, &legacy) == nil:
		x, err := strconv.ParseFloat(legacy, 64)
		if err != nil || !math.IsNaN(x) && !math.IsInf(x, 0) {
			return fmt.Errorf("number %s is not a number", b)
		}
		*f = JSONFloat(x)
		return nil
	}
	var x float64
	err := json.Unmarshal(b, &x)
	*f = JSONFloat(x)
	return err
}
