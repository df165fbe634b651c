package queue_test

import (
	"cmp"
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

// TestSearchPrunedAsLocal: a TPE study with a pruner on the queue, its
// coordinator stopped in the middle of a batch (as the batch's second
// stage is enqueued) and started again while a worker goes on, proposes
// the configurations of the local run (scheduler.RunSearch) with the same
// batch, with its numbers bit for bit, its decisions, each made once,
// and its best configuration (in the order made with sha; in another
// with hyperband, see below). With sha, 12 configurations in batches of
// 2: the last batch is the TPE's (past its 10 startup trials), after 5
// that each pruned one configuration at its first rung. With hyperband,
// 2 batches of 6 over 3 brackets of 2: one configuration pruned at epoch
// 1 and one at epoch 2 in each batch.
func TestSearchPrunedAsLocal(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "data.csv")
	fixture.BlobsCSV(t, csv, 300, 1, 2)
	for _, c := range []struct {
		kind          string
		batch, stopIn int // the batch size, the batch stopped in
		pruned        int
	}{{"sha", 2, 4, 5}, {"hyperband", 6, 2, 4}} {
		t.Run(c.kind, func(t *testing.T) {
			s, err := study.ParseStudy(fmt.Appendf(nil, `name: qtpe
data: {csv: %s, label: label}
folds: 2
epochs: 4
seed: 3
base: {hidden: [8], optimizer: adam}
sampler:
  kind: tpe
  n: 12
  batch: %d
  params:
    lr: {log_uniform: [1e-5, 0.3]}
    batch: {choice: [16, 64]}
pruner: {kind: %s, eta: 2}
`, csv, c.batch, c.kind), filepath.Join(dir, "study.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			data, err := study.LoadData(s.Data, 0)
			if err != nil {
				t.Fatal(err)
			}
			local, err := scheduler.RunSearch(context.Background(), s, data, 1, scheduler.Options{Dir: t.TempDir(), Workers: 2})
			if err != nil {
				t.Fatal(err)
			}

			ctx := context.Background()
			st, err := openPostgres(storetest.Postgres(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() }) // after the workers stop
			work(t, st)
			stopping := false
			var second error
			search := func(ctx context.Context, report func(string)) error {
				return queue.SearchPruned(ctx, st, s, data, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, report)
			}
			lines := coordinateStopped(t, search, func(line string) bool {
				if strings.Contains(line, "batch 2 of") && second == nil { // another coordinator of the study, meanwhile
					second = search(ctx, nil)
				}
				stop := stopping && strings.Contains(line, "stage 2:")
				stopping = stopping || strings.Contains(line, fmt.Sprintf("batch %d of", c.stopIn))
				return stop
			})
			if second == nil || !strings.Contains(second.Error(), "another process decides its rungs") {
				t.Errorf("a second coordinator of the study: %v", second)
			}
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "batch 2 of") && strings.Contains(l, ", eta ~") }) {
				t.Errorf("no time left on the second batch's line:\n%s", strings.Join(lines, "\n"))
			}
			r, err := store.Load(ctx, st, s.Name, true)
			if err != nil {
				t.Fatal(err)
			}

			sameKey := func(a, b sweeps.ConfigResult) bool { return a.Key == b.Key }
			if !slices.EqualFunc(r.Configs, local.Configs, sameKey) || len(r.Configs) != 12 {
				t.Errorf("configurations on the queue:\n%+v\nlocally:\n%+v", r.Configs, local.Configs)
			}
			if !slices.Equal(studyBits(r), studyBits(local)) {
				t.Errorf("the queue's results differ from the local run's:\n%+v\n%+v", r.Configs, local.Configs)
			}
			pruned := 0
			for _, c := range r.Configs {
				if c.PrunedAt > 0 {
					pruned++
				}
			}
			if pruned < c.pruned {
				t.Errorf("%d configurations pruned, want at least %d", pruned, c.pruned)
			}
			// The order made: the same with sha; hyperband's restarted
			// coordinator decides at once, bracket by bracket, rungs that
			// the uninterrupted run decided over two stages.
			queued, locally := r.Decisions, local.Decisions
			if c.kind == "hyperband" {
				byRung := func(a, b sweeps.Decision) int {
					return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Epoch, b.Epoch))
				}
				queued, locally = slices.SortedFunc(slices.Values(queued), byRung), slices.SortedFunc(slices.Values(locally), byRung)
			}
			score := func(stored, local float64) bool { // the store keeps no infinity (a diverged score): NaN
				return stored == local || math.IsNaN(stored) && math.IsInf(local, -1)
			}
			same := func(a, b sweeps.Decision) bool {
				return a.Key == b.Key && a.Epoch == b.Epoch && a.Promoted == b.Promoted && a.Bracket == b.Bracket && a.Rung == b.Rung &&
					(a.Order == b.Order || c.kind == "hyperband") && score(a.Score, b.Score) && score(a.Cutoff, b.Cutoff)
			}
			if !slices.EqualFunc(queued, locally, same) || len(r.Decisions) == 0 {
				t.Errorf("decisions on the queue:\n%+v\nlocally:\n%+v", r.Decisions, local.Decisions)
			}
			once := map[string]bool{}
			for _, d := range r.Decisions {
				k := fmt.Sprint(d.Key, d.Epoch)
				if once[k] {
					t.Errorf("configuration %s decided twice at epoch %d", d.Key, d.Epoch)
				}
				once[k] = true
			}
			noCheckpoints(t, st)
			t.Logf("%d of 12 pruned, %d decisions; coordinator:\n%s", pruned, len(r.Decisions), strings.Join(lines, "\n"))
		})
	}
}

// coordinateStopped runs coordinate (a coordinator: Prune, SearchPruned)
// until stop is true of a line it reports, checks that it then returns
// ErrInterrupted, runs it again to the end, and returns the lines both
// reported; with stop nil, it runs it once.
func coordinateStopped(t *testing.T, coordinate func(context.Context, func(string)) error, stop func(line string) bool) []string {
	t.Helper()
	var lines []string
	if stop != nil {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := coordinate(ctx, func(line string) {
			lines = append(lines, line)
			if stop(line) {
				cancel()
			}
		})
		if !errors.Is(err, queue.ErrInterrupted) {
			t.Fatalf("stopped coordinator: %v\n%s", err, strings.Join(lines, "\n"))
		}
		lines = append(lines, "--- started again")
	}
	if err := coordinate(context.Background(), func(line string) { lines = append(lines, line) }); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	return lines
}

// studyBits are a study's scores, bit for bit: each configuration's mean
// accuracy, epoch pruned at and rank, each epoch's held-out accuracy and
// loss.
func studyBits(r sweeps.StudyResult) []uint64 {
	var b []uint64
	for _, c := range r.Configs {
		b = append(b, math.Float64bits(c.MeanAccuracy), uint64(c.PrunedAt), uint64(c.Rank))
		for _, u := range c.Units {
			for _, e := range u.Epochs {
				b = append(b, math.Float64bits(e.ValAccuracy), math.Float64bits(e.Loss))
			}
		}
	}
	return b
}
