package queue_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/fixture"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// TestPruneCoordinatorRestarted: a pruned study's coordinator stopped as
// it enqueues the second stage and started again (the workers going on
// meanwhile) decides and stores what one uninterrupted coordinator does,
// bit for bit, each decision once.
func TestPruneCoordinatorRestarted(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "data.csv")
	fixture.BlobsCSV(t, csv, 300, 1, 2)
	s, err := study.ParseStudy(fmt.Appendf(nil, `name: qp
data: {csv: %s, label: label}
folds: 2
epochs: 9
seed: 3
base: {hidden: [16], batch: 8}
grid: {lr: [0.0001, 0.001, 0.003, 0.01, 0.03, 0.1]}
pruner: {kind: sha, eta: 3}
`, csv), filepath.Join(dir, "study.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := study.LoadData(s.Data)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := scheduler.StudyPlan(s, data, true)
	if err != nil {
		t.Fatal(err)
	}
	run := func(interrupt bool) sweeps.StudyResult {
		ctx := context.Background()
		st, err := openPostgres(storetest.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		wctx, stop := context.WithCancel(ctx)
		worked := make(chan error, 1)
		go func() {
			_, err := queue.Work(wctx, st, queue.Options{Workers: 2, TimeoutFactor: 10, MinTimeout: time.Minute, PollInterval: 50 * time.Millisecond})
			worked <- err
		}()
		defer func() {
			stop()
			if err := <-worked; err != nil && !errors.Is(err, queue.ErrInterrupted) {
				t.Error(err)
			}
		}()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var lines []string
		err = queue.Prune(cctx, st, plan, *s.Pruner, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, func(line string) {
			lines = append(lines, line)
			if interrupt && strings.Contains(line, "stage 2:") {
				cancel()
			}
		})
		if interrupt {
			if !errors.Is(err, queue.ErrInterrupted) {
				t.Fatalf("interrupted coordinator: %v\n%s", err, strings.Join(lines, "\n"))
			}
			err = queue.Prune(ctx, st, plan, *s.Pruner, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, nil)
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
		}
		r, err := store.Load(ctx, st, s.Name, true)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	once, again := run(false), run(true)
	bits := func(r sweeps.StudyResult) []uint64 {
		var b []uint64
		for _, c := range r.Configs {
			b = append(b, math.Float64bits(c.MeanAccuracy), uint64(c.PrunedAt))
			for _, u := range c.Units {
				for _, e := range u.Epochs {
					b = append(b, math.Float64bits(e.ValAccuracy), math.Float64bits(e.Loss))
				}
			}
		}
		return b
	}
	if !slices.Equal(bits(once), bits(again)) || len(bits(once)) < 30 {
		t.Errorf("the restarted coordinator's study differs:\n%+v\n%+v", again.Configs, once.Configs)
	}
	if !slices.EqualFunc(once.Decisions, again.Decisions, func(a, b sweeps.Decision) bool {
		return a.Key == b.Key && a.Epoch == b.Epoch && a.Promoted == b.Promoted && a.Score == b.Score
	}) || len(once.Decisions) != 8 {
		t.Errorf("decisions differ:\n%+v\n%+v", once.Decisions, again.Decisions)
	}
}
