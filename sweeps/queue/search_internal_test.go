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
	s, data, props := sampledStudy(t, `
  batch: 4
  params:
    hidden: {choice: [[8], [64, 32]]}
    lr: {log_uniform: [1e-5, 0.3]}
pruner: {kind: sha, eta: 2}
`)
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
	epoch := epochWork(t, data, props.Points[4:], true) // an epoch of every configuration of the second batch, its held-out rows scored too
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

// TestSampledLeft: Search's ETA (a sampler without a pruner) counts work,
// as every other ETA does: with 4 of 10 configurations proposed (networks
// of one and of two hidden layers whose work differs many times, 4
// epochs, 3 folds of 301 rows), the work left is their units' not
// finished (the jobs' work the progress reads), plus the 6 configurations
// not proposed yet, every epoch of each at the mean work per epoch of
// those proposed, by their folds' exact training rows, and (without
// curves) the scoring of each fold's held-out rows once at the end, at
// their mean: 301 rows × 2 × the network's multiply-adds per row, 4·8 +
// 8·3 = 56 for [8] and 4·64 + 64·32 + 32·3 = 2400 for [64, 32]. It used
// to count configurations decided, then left out that scoring.
func TestSampledLeft(t *testing.T) {
	s, data, props := sampledStudy(t, `
  params:
    hidden: {choice: [[8], [64, 32]]}
    lr: {log_uniform: [1e-5, 0.3]}
`)
	if more, err := props.Next(4); err != nil || !more || len(props.Points) != 4 {
		t.Fatal(more, err, len(props.Points))
	}
	epoch := epochWork(t, data, props.Points, false) // an epoch of every proposed configuration
	var scoring float64                              // the held-out scoring of every proposed configuration
	for _, pt := range props.Points {
		macs := map[int]float64{1: 56, 2: 2400}[len(pt.Params.Hidden())]
		scoring += 301 * 2 * macs
	}
	p := Progress{LeftFLOPs: 12345, DoneFLOPs: 1e9}
	want := 12345 + 6*(4*epoch+scoring)/4
	if got := sampledLeft(s, data, props.Points, p, false); math.Abs(got-want) > 1e-9*want {
		t.Errorf("work left %.6g FLOPs, want %.6g", got, want)
	}
	// With curves the scoring is in each epoch's work.
	want = 12345 + 6*4*epochWork(t, data, props.Points, true)/4
	if got := sampledLeft(s, data, props.Points, p, true); math.Abs(got-want) > 1e-9*want {
		t.Errorf("with curves: work left %.6g FLOPs, want %.6g", got, want)
	}
	if got := sampledLeft(s, data, props.Points[:0], Progress{LeftFLOPs: 7}, false); got != 7 {
		t.Errorf("nothing proposed yet: work left %v, want the jobs' 7 (nothing to weigh the others by)", got)
	}
}

// sampledStudy writes 301 rows of blobs and a study of 3 folds and 4
// epochs whose TPE sampler proposes 10 configurations, the rest of its
// YAML after "n: 10" given by more, and loads them.
func sampledStudy(t *testing.T, more string) (*study.Study, *datasets.Dataset, *scheduler.Proposals) {
	t.Helper()
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
  n: 10%s`, csv, more), filepath.Join(dir, "study.yaml"))
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
	return s, data, props
}

// epochWork is the work of an epoch of each of points, its 3 folds by
// their exact training rows (with curves, each fold's held-out rows
// scored too); it fails the test unless the
// points have networks of one and of two hidden layers, whose work
// differs many times.
func epochWork(t *testing.T, data *datasets.Dataset, points []study.Point, curves bool) float64 {
	t.Helper()
	var epoch float64
	depths := map[int]bool{}
	for _, pt := range points {
		for f := range 3 {
			held, scored := datasets.FoldSize(data.N, 3, f), 0
			if curves {
				scored = held
			}
			epoch += scheduler.EpochWorkOf(pt.Params.Hidden(), data.Features, data.Classes, data.N-held, scored).Total()
		}
		depths[len(pt.Params.Hidden())] = true
	}
	if len(depths) != 2 {
		t.Fatalf("the networks are all alike (%v): the test weighs nothing", depths)
	}
	return epoch
}
