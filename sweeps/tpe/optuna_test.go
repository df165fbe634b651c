package tpe

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestParzenMatchesOptuna compares the estimator's log densities with
// Optuna's _ParzenEstimator (prior weight 1, magic clip, no endpoints,
// default weights) on fixed observations and points: Optuna 5's
// (testdata/optuna5_parzen.json) against the default Neighbours rule,
// Optuna 4.9's multivariate=True (optuna4_scott_parzen.json) against
// Scott. bench/search/tpe_vs_optuna/optuna_parzen.py writes them. The
// cases cover 0, 1, 2, 5 (with a tie and a point on the range's end) and 30
// (the weights' ramp) observations of the mixed test function's space and
// of an int, a log-uniform and a choice alone.
func TestParzenMatchesOptuna(t *testing.T) {
	for file, bw := range map[string]Bandwidth{"testdata/optuna5_parzen.json": Neighbours, "testdata/optuna4_scott_parzen.json": Scott} {
		testParzenGolden(t, file, bw)
	}
}

func testParzenGolden(t *testing.T, file string, bw Bandwidth) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Optuna string
		Scott  bool
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
	if len(golden.Cases) == 0 || golden.Scott != (bw == Scott) {
		t.Fatalf("%s: %d cases, Scott %v", file, len(golden.Cases), golden.Scott)
	}
	opt := Options{PriorWeight: 1, Bandwidth: bw}
	for i, c := range golden.Cases {
		params, ok := spaces[c.Space]
		if !ok {
			t.Fatalf("%s: case %d: unknown space %q", file, i, c.Space)
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
				t.Errorf("%s: case %d (%s, %d observations), point %v: log density %.12g, Optuna %s %.12g", file, i, c.Space, len(c.Obs), x, got, golden.Optuna, want)
			}
		}
	}
}
