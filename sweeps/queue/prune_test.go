package queue_test

import (
	"context"
	"fmt"
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
		defer work(t, st)()
		stop := func(line string) bool { return strings.Contains(line, "stage 2:") }
		if !interrupt {
			stop = nil
		}
		coordinateStopped(t, func(ctx context.Context, report func(string)) error {
			return queue.Prune(ctx, st, plan, *s.Pruner, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, report)
		}, stop)
		r, err := store.Load(ctx, st, s.Name, true)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	once, again := run(false), run(true)
	if !slices.Equal(studyBits(once), studyBits(again)) || len(studyBits(once)) < 30 {
		t.Errorf("the restarted coordinator's study differs:\n%+v\n%+v", again.Configs, once.Configs)
	}
	if !slices.EqualFunc(once.Decisions, again.Decisions, func(a, b sweeps.Decision) bool {
		return a.Key == b.Key && a.Epoch == b.Epoch && a.Promoted == b.Promoted && a.Score == b.Score
	}) || len(once.Decisions) != 8 {
		t.Errorf("decisions differ:\n%+v\n%+v", once.Decisions, again.Decisions)
	}
}
