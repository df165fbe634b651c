package queue

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/internal/fixture"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// TestSearchLeft: SearchPruned's ETA counts work, as every other ETA
// does: as its second batch of 4 starts (10 configurations, networks of
// one and of two hidden layers whose work differs many times, sha with η 2
// over 4 epochs, 3 folds of 301 rows), the work left is the batch's 8 configuration-epochs (4 at
// epoch 1, 2 at epoch 2, 1 to epoch 4) at its configurations' mean work
// per epoch, by their folds' exact training rows, plus the 2
// configurations not proposed yet at the local run's forecast
// (scheduler.SearchForecast). It used to count batches: the time of those
// trained so far per batch, × the batches left.
func TestSearchLeft(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "data.csv")
	fixture.BlobsCSV(t, csv, 301, 1, 2)
	s, err := study.ParseStudy(fmt.Appendf(nil, `name: left
data: {csv: %s, label: label}
folds: 3
epochs: 4
seed: 3
base: {hidden: [8], optimizer: adam}
sampler:
  kind: tpe
  n: 10
  batch: 4
  params:
    hidden: {choice: [[8], [64, 32]]}
    lr: {log_uniform: [1e-5, 0.3]}
pruner: {kind: sha, eta: 2}
`, csv), filepath.Join(dir, "study.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := study.LoadData(s.Data, 0)
	if err != nil {
		t.Fatal(err)
	}
	props, err := scheduler.NewProposals(s)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if more, err := props.Next(4); err != nil || !more {
			t.Fatal(more, err)
		}
	}
	sub := *s
	sub.Points = props.Points
	plan, err := scheduler.StudyPlan(&sub, data, true)
	if err != nil {
		t.Fatal(err)
	}
	var epoch float64 // an epoch of every configuration of the second batch, its 3 folds
	widths := map[int]bool{}
	for _, pt := range props.Points[4:] {
		for f := range 3 {
			held := datasets.FoldSize(data.N, 3, f)
			epoch += scheduler.EpochWorkOf(pt.Params.Hidden(), data.Features, data.Classes, data.N-held, held).Total() // its held-out rows scored too
		}
		widths[len(pt.Params.Hidden())] = true
	}
	if len(widths) != 2 {
		t.Fatalf("the batch's networks are all alike (%v): the test weighs nothing", widths)
	}
	if e := prune.Future(s.Pruner, 4, 4, 4); e[1] != 8 {
		t.Fatalf("sha η 2 over 4 epochs: a batch of 4 trains %v configuration-epochs, want 8", e)
	}
	want := 8*epoch/4 + scheduler.SearchForecast(s, data, props.Points, 4, true)[1]
	if got := searchLeft(s, data, plan, 4); math.Abs(got-want) > 1e-9*want {
		t.Errorf("work left %.6g FLOPs, want %.6g", got, want)
	}
	if f := scheduler.SearchForecast(s, data, props.Points, 4, true); f[1] <= 0 {
		t.Errorf("the 2 configurations to come weigh %v", f)
	}
}
