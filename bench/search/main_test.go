package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps/report"
)

// TestTinySearch runs the benchmark on a tiny setting (6 configurations,
// 2 folds × 3 epochs on 900 MNIST rows, one seed): the table names both
// methods, successive halving trains fewer epochs than the full search
// (6 × 2 × 3 = 36 unit-epochs; halving: 6 × 2 × 1 + 2 × 2 × 2 = 20), and
// the numbers and the plot are written. The TPE's runs (6 configurations:
// all random startup trials) train as much: tpe fully, tpe-sha one batch
// of 6 halved.
func TestTinySearch(t *testing.T) {
	out := t.TempDir()
	o := options{space: "../../examples/adaptive.yaml", out: out, seeds: 1, n: 6, epochs: 3, folds: 2, limitRows: 900, workers: 2, methods: methods}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), o, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var runs []struct {
		Method string `json:"method"`
		Epochs int    `json:"unit_epochs"`
		GFLOP  float64
	}
	js, err := os.ReadFile(filepath.Join(out, "search.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 4 || runs[0].Method != "random" || runs[0].Epochs != 36 || runs[1].Epochs != 20 || !(runs[1].GFLOP < runs[0].GFLOP) ||
		runs[2].Method != "tpe" || runs[2].Epochs != 36 || runs[3].Method != "tpe-sha" || runs[3].Epochs != 20 {
		t.Errorf("runs %+v", runs)
	}
	for _, want := range []string{"| random | 1 |", "| sha | 1 |", "| tpe | 1 |", "| tpe-sha | 1 |", "| tpe-sha |", "Median over seeds"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "search.png")); err != nil {
		t.Error(err)
	}
	o.methods = []string{"bohb"}
	if err := run(context.Background(), o, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), `unknown method "bohb"`) {
		t.Errorf("unknown method: %v", err)
	}
}

// TestComputeToReach: the compute at the first point whose best so far
// reaches the target, +Inf when none does.
func TestComputeToReach(t *testing.T) {
	nan := math.NaN()
	trace := []report.SearchPoint{{GFLOP: 1, Best: nan}, {GFLOP: 2, Best: 0.90}, {GFLOP: 5, Best: 0.95}, {GFLOP: 9, Best: 0.97}}
	for _, c := range []struct{ target, want float64 }{{0.5, 2}, {0.95, 5}, {0.951, 9}, {0.97, 9}, {0.98, math.Inf(1)}} {
		if got := computeToReach(trace, c.target); got != c.want {
			t.Errorf("computeToReach(%v) = %v, want %v", c.target, got, c.want)
		}
	}
	if percent(math.Inf(1)) != "∞" || percent(0.354) != "35 %" {
		t.Errorf("percent: %q %q", percent(math.Inf(1)), percent(0.354))
	}
}
