package scheduler

import (
	"context"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
)

// tinySearch is a TPE study of 14 configurations (past the 10 random
// startup trials) over 3 folds of 2 epochs.
const tinySearch = `
name: tiny-tpe
folds: 3
epochs: 2
seed: 7
base: {hidden: [8], optimizer: adam}
sampler:
  kind: tpe
  n: 14
  params:
    lr: {log_uniform: [1e-4, 0.3]}
    batch: {choice: [16, 64]}
    hidden: {choice: [4, 8]}
`

// TestRunSearch: a batch of 2 proposes the same configurations and gives
// bit-identical results with 1 and 2 workers, and a rerun reuses every unit.
func TestRunSearch(t *testing.T) {
	data := datasets.Blobs(200, 6, 3)
	runSearch := func(dir string, workers int) ([]string, []float64, int) {
		r, err := RunSearch(context.Background(), parse(t, tinySearch), data, 2, Options{Dir: dir, Workers: workers, GroupColumns: 64})
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		for _, c := range r.Configs {
			if c.Axis != "tpe" || len(c.Units) != 3 {
				t.Fatalf("config %s %s: %d units", c.Axis, c.Value, len(c.Units))
			}
			values = append(values, c.Value)
		}
		return values, numbers(r), r.UnitsReused
	}
	a, na, reused := runSearch(t.TempDir(), 1)
	if reused != 0 {
		t.Errorf("a fresh run reports %d units reused", reused)
	}
	if len(a) != 14 {
		t.Fatalf("%d configurations, want 14", len(a))
	}
	dir := t.TempDir()
	b, nb, _ := runSearch(dir, 2)
	if strings.Join(a, "; ") != strings.Join(b, "; ") || !sameBits(na, nb) {
		t.Fatalf("1 and 2 workers differ:\n%v\n%v", a, b)
	}
	c, nc, reused := runSearch(dir, 2)
	if strings.Join(a, "; ") != strings.Join(c, "; ") || !sameBits(na, nc) || reused != 14*3 {
		t.Fatalf("rerun: %d units reused (want 42), proposals %v", reused, c)
	}
}

func TestRunSearchNeedsSampler(t *testing.T) {
	if _, err := RunSearch(context.Background(), parse(t, tinyStudy), datasets.Blobs(60, 4, 2), 2, Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no sampler") {
		t.Errorf("a study without a sampler: %v", err)
	}
}
