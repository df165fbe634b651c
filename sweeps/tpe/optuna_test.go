package tpe

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestParzenMatchesOptuna compares the estimator's log densities with
// Optuna 5's _ParzenEstimator (multivariate, default parameters: prior
// weight 1, magic clip, no endpoints, default weights) on fixed
// observations and points: testdata/optuna5_parzen.json, written by
// bench/search/tpe_vs_optuna/optuna5_parzen.py. The cases cover 0, 1, 2,
// 5 (with a tie and a point on the range's end) and 30 (the weights'
// ramp) observations of the mixed test function's space and of an int, a
// log-uniform and a choice alone.
func TestParzenMatchesOptuna(t *testing.T) {
	b, err := os.ReadFile("testdata/optuna5_parzen.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Optuna string
		Cases  []struct {
			Space  string
			Obs    [][]float64
			Points [][]float64
			LogPDF []float64
		}
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	spaces := map[string][]Param{
		"mixed": {
			{Name: "opt", Kind: Choice, Choices: 4}, {Name: "act", Kind: Choice, Choices: 3},
			{Name: "x1", Kind: Uniform, Low: -5, High: 5}, {Name: "x2", Kind: Uniform, Low: -5, High: 5},
			{Name: "lr", Kind: LogUniform, Low: 1e-5, High: 1}, {Name: "units", Kind: Int, Low: 1, High: 64},
		},
		"int":    {{Name: "units", Kind: Int, Low: 1, High: 64}},
		"log":    {{Name: "lr", Kind: LogUniform, Low: 1e-5, High: 1}},
		"choice": {{Name: "opt", Kind: Choice, Choices: 4}},
	}
	if len(golden.Cases) == 0 {
		t.Fatal("no cases")
	}
	opt := Options{PriorWeight: 1}
	for i, c := range golden.Cases {
		params, ok := spaces[c.Space]
		if !ok {
			t.Fatalf("case %d: unknown space %q", i, c.Space)
		}
		dims := make([]int, len(params))
		for d := range dims {
			dims[d] = d
		}
		trials := make([]Trial, len(c.Obs))
		for j, x := range c.Obs {
			trials[j] = Trial{X: x}
		}
		pe := newParzen(params, observations(trials, params, dims), weights(len(trials)), &opt)
		for j, x := range c.Points {
			got, want := pe.logPDF(x), c.LogPDF[j]
			if math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) {
				t.Errorf("case %d (%s, %d observations), point %v: log density %.12g, Optuna %s %.12g", i, c.Space, len(c.Obs), x, got, golden.Optuna, want)
			}
		}
	}
}
