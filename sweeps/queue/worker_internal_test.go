package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestRecordRefusedWhenNotOurs: a run records a unit only while it holds
// the job (running, on its attempt): one whose job was rescued and taken
// by another run stores nothing and gets errNotOurs.
func TestRecordRefusedWhenNotOurs(t *testing.T) {
	url, st, client := riverStore(t)
	ctx := context.Background()
	a := GroupArgs{Study: "s", Fold: 0, Split: "kfold", DataSHA: "d", Engine: sweeps.EngineID(), Units: []UnitArgs{{Key: "k", Seed: 1}}}
	res, err := client.Insert(ctx, a, &river.InsertOpts{Queue: QueueName(a.Engine)})
	if err != nil {
		t.Fatal(err)
	}
	// The job as another run holds it: running, on attempt 2.
	storetest.Exec(t, url, fmt.Sprintf(`UPDATE river_job SET state = 'running', attempt = 2, attempted_at = now() WHERE id = %d`, res.Job.ID))
	w := &groupWorker{st: st}
	stale := &river.Job[GroupArgs]{JobRow: &rivertype.JobRow{ID: res.Job.ID, Attempt: 1, State: rivertype.JobStateRunning}, Args: a}
	err = w.record(ctx, stale, 0, &sweeps.UnitResult{Accuracy: 0.5}, true)
	if !errors.Is(err, errNotOurs) {
		t.Fatalf("record on a stale attempt: %v, want errNotOurs", err)
	}
	if _, state, err := st.Unit(a.ID(0)); err != nil || state != "" {
		t.Errorf("unit stored by a stale attempt: state %q, %v", state, err)
	}
	var state string
	storetest.QueryRow(t, url, fmt.Sprintf(`SELECT state::text FROM river_job WHERE id = %d`, res.Job.ID), &state)
	if state != "running" {
		t.Errorf("job state %q; want running (untouched)", state)
	}
}
