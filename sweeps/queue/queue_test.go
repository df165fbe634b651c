package queue_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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

func TestQueueName(t *testing.T) {
	river := regexp.MustCompile(`^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$`) // River's rule for queue names
	for engine, want := range map[string]string{
		"1/avx512":                            "mlpsweep_1_avx512",
		"2.1/AVX2+FMA3/":                      "mlpsweep_2_1_avx2_fma3",
		"x/" + strings.Repeat("y", 80) + "/z": "mlpsweep_x_" + strings.Repeat("y", 53),
	} {
		got := queue.QueueName(engine)
		if got != want || !river.MatchString(got) || len(got) > 64 {
			t.Errorf("QueueName(%q) = %q, want %q", engine, got, want)
		}
	}
}

// plan writes a CSV data set of rows rows and a study of configs
// configurations × 2 folds trained for epochs epochs, and plans it.
func plan(t testing.TB, dir string, rows, configs, epochs int, hidden string) (scheduler.Plan, queue.Source) {
	t.Helper()
	return planCurves(t, dir, rows, configs, epochs, hidden, false)
}

// planCurves is plan, its units scoring their held-out rows after each
// epoch when curves is set.
func planCurves(t testing.TB, dir string, rows, configs, epochs int, hidden string, curves bool) (scheduler.Plan, queue.Source) {
	t.Helper()
	csv := filepath.Join(dir, "data.csv")
	fixture.BlobsCSV(t, csv, rows, 1, 2)
	s, err := study.ParseStudy(fmt.Appendf(nil, `name: q
data: {csv: %s, label: label}
folds: 2
epochs: %d
seed: 3
base: {hidden: %s, batch: 8}
random: {n: %d, seed: 7, params: {lr: {log_uniform: [0.0001, 0.1]}}}
`, csv, epochs, hidden, configs), filepath.Join(dir, "study.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := study.LoadData(s.Data, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := scheduler.StudyPlan(s, data, curves)
	if err != nil {
		t.Fatal(err)
	}
	return p, queue.Source{Spec: s.Data}
}

// syncWriter is a log that tests read while workers write it.
type syncWriter struct {
	mu      sync.Mutex
	b       bytes.Buffer
	started chan struct{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started != nil && bytes.Contains(p, []byte("): started")) {
		select {
		case w.started <- struct{}{}:
		default:
		}
	}
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestStopHandsUnitsBack: a worker stopped (Ctrl-C, SIGTERM) while
// training returns at once with ErrInterrupted; its units go back to the
// queue as they were (available, attempt not used), nothing is recorded,
// and the next worker trains them all.
func TestStopHandsUnitsBack(t *testing.T) {
	url := storetest.Postgres(t)
	st, err := openPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, src := plan(t, t.TempDir(), 2000, 2, 2000, "[64, 64]") // units of many seconds
	if e, err := queue.Enqueue(context.Background(), st, p, src, queue.EnqueueOptions{GroupColumns: 128}); err != nil || e.Inserted != 4 || e.Jobs != 2 {
		t.Fatalf("enqueue: %+v, %v", e, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := &syncWriter{started: make(chan struct{}, 1)}
	opt := queue.Options{Workers: 2, TimeoutFactor: 10, MinTimeout: time.Minute, Log: log}
	var stats queue.Stats
	done := make(chan error, 1)
	go func() {
		var err error
		stats, err = queue.Work(ctx, st, opt)
		done <- err
	}()
	select {
	case <-log.started:
	case <-time.After(time.Minute):
		t.Fatalf("no unit started:\n%s", log)
	}
	time.Sleep(200 * time.Millisecond) // both workers in their units
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, queue.ErrInterrupted) {
			t.Fatalf("Work returned %v", err)
		}
	case <-time.After(time.Minute): // a hang: a stop that waited for the units records them, below
		t.Fatalf("Work did not return a minute after its context was cancelled:\n%s", log)
	}
	t.Logf("stopped in %v", time.Since(stopped))
	if stats.Units != 0 || !strings.Contains(log.String(), "stopped; back to the queue") {
		t.Errorf("recorded %d units; log:\n%s", stats.Units, log)
	}
	var available, attempts, running int
	storetest.QueryRow(t, url, `SELECT count(*) FILTER (WHERE state = 'available'), count(*) FILTER (WHERE state = 'running'), coalesce(sum(attempt), 0) FROM river_job`,
		&available, &running, &attempts)
	if available != 2 || running != 0 || attempts != 0 {
		t.Errorf("after the stop: %d jobs available, %d running, %d attempts used; want 2, 0, 0", available, running, attempts)
	}
	if states, err := st.States(); err != nil || states["done"] != 0 {
		t.Errorf("units stored after the stop: %v, %v", states, err)
	}
}

// queueAndLocal plans a study of 3 configurations × 2 folds (plan) and
// runs it locally on workers workers, and opens the PostgreSQL store of a
// throwaway database (closed at the test's end).
func queueAndLocal(t *testing.T, workers int) (string, *store.Postgres, scheduler.Plan, queue.Source, sweeps.StudyResult) {
	t.Helper()
	url := storetest.Postgres(t)
	st, err := openPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := t.TempDir()
	p, src := plan(t, dir, 200, 3, 2, "[8]")
	local, err := scheduler.Run(context.Background(), p, scheduler.Options{Dir: filepath.Join(dir, "local"), Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return url, st, p, src, local
}

// sameAsLocal checks that study q in st has the local run's numbers, and
// returns it.
func sameAsLocal(t *testing.T, st *store.Postgres, local sweeps.StudyResult) sweeps.StudyResult {
	t.Helper()
	r, err := store.Load(context.Background(), st, "q", false)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range r.Configs {
		if fmt.Sprint(c.FoldAccuracies, c.MeanValLoss) != fmt.Sprint(local.Configs[i].FoldAccuracies, local.Configs[i].MeanValLoss) {
			t.Errorf("config %d: queue %v %v, local %v %v", i, c.FoldAccuracies, c.MeanValLoss, local.Configs[i].FoldAccuracies, local.Configs[i].MeanValLoss)
		}
	}
	return r
}

// TestEnqueueAndWork: a study enqueued is trained by Work to the same
// numbers as RunStudy's, each job completed on its first attempt; the
// progress says so.
func TestEnqueueAndWork(t *testing.T) {
	_, st, p, src, local := queueAndLocal(t, 2)
	e, err := queue.Enqueue(context.Background(), st, p, src, queue.EnqueueOptions{Workers: 2, GroupColumns: 16})
	if err != nil || e.Inserted != 6 || e.Units != 6 || e.Jobs != 4 || e.Grouping.Columns != 16 {
		t.Fatalf("enqueue: %+v, %v", e, err) // per fold: 2 units in a group of 16 columns, 1 alone
	}
	if again, err := queue.Enqueue(context.Background(), st, p, src, queue.EnqueueOptions{Workers: 2}); err != nil || again.Inserted != 0 || again.Queued != 6 {
		t.Fatalf("enqueue again: %+v, %v", again, err)
	}
	if pr, err := queue.StudyProgress(context.Background(), st, "q"); err != nil || pr.Queued != 6 || pr.Finished() {
		t.Fatalf("progress before: %+v, %v", pr, err)
	}
	log := &syncWriter{}
	stats, err := queue.Work(context.Background(), st, queue.Options{Workers: 2, ExitWhenDone: true, TimeoutFactor: 10, MinTimeout: time.Minute, PollInterval: 100 * time.Millisecond, Log: log})
	if err != nil || stats.Units != 6 {
		t.Fatalf("work: %+v, %v\n%s", stats, err, log)
	}
	pr, err := queue.StudyProgress(context.Background(), st, "q")
	if err != nil || pr.Done != 6 || !pr.Finished() || pr.Jobs["completed"] != 6 {
		t.Fatalf("progress after: %+v, %v", pr, err)
	}
	r := sameAsLocal(t, st, local)
	// Every epoch of every unit was stored by the workers, as the units' curves say.
	scores, err := st.EpochScores(context.Background(), "q")
	if err != nil || len(scores) != 6*2 {
		t.Fatalf("%d epoch scores (%v), want 12", len(scores), err)
	}
	for i, e := range scores {
		u := r.Configs[i/4].Units[i%4/2]
		if e.Key != r.Configs[i/4].Key || e.Fold != u.Fold || e.Epoch != i%2+1 || e.TrainLoss != u.Epochs[i%2].Loss {
			t.Errorf("epoch score %d: %+v, unit %+v", i, e, u.Epochs[i%2])
		}
	}
}

// BenchmarkQueueOverhead measures the queue's cost per unit (claiming,
// marking, recording and completing the job) on units of 1 epoch on 20
// rows, b.N units on 2 workers; run it for ≥ 1,000 units:
//
//	.ci/with-postgres go test -run '^$' -bench QueueOverhead -benchtime 1000x ./sweeps/queue/
func BenchmarkQueueOverhead(b *testing.B) {
	url := storetest.Postgres(b)
	st, err := openPostgres(url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p, src := plan(b, b.TempDir(), 40, max(1, b.N/2), 1, "[4]")
	if _, err := queue.Enqueue(context.Background(), st, p, src, queue.EnqueueOptions{Workers: 2}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	stats, err := queue.Work(context.Background(), st, queue.Options{Workers: 2, ExitWhenDone: true, TimeoutFactor: 10, MinTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(stats.OverheadPerUnit())/1e6, "overhead-ms/unit")
	b.ReportMetric(stats.Busy.Seconds()*1e3/float64(stats.Units), "wall-ms/unit")
	b.ReportMetric(float64(stats.Units), "units")
}

// TestGroupJobTakenOver: a job's units stored before its worker died are
// kept, and the run that takes the job over trains only the others (as a
// smaller group: a member's numbers do not depend on its group), to the
// local run's numbers; every job completes once.
func TestGroupJobTakenOver(t *testing.T) {
	url, st, p, src, local := queueAndLocal(t, 1)
	e, err := queue.Enqueue(context.Background(), st, p, src, queue.EnqueueOptions{Workers: 1, GroupColumns: 1000})
	if err != nil || e.Jobs != 2 || e.Inserted != 6 {
		t.Fatalf("enqueue: %+v, %v", e, err) // one group of 3 per fold
	}
	// The first unit of fold 0, stored as by a worker killed before it
	// stored the rest of its group.
	first := p.Units[0]
	kept := local.Configs[0].Units[first.ID.Fold]
	kept.Seconds = 12345 // to tell it from a retrained one
	if err := st.SaveUnit(first.ID, "q", kept); err != nil {
		t.Fatal(err)
	}
	log := &syncWriter{}
	stats, err := queue.Work(context.Background(), st, queue.Options{Workers: 1, ExitWhenDone: true, TimeoutFactor: 10, MinTimeout: time.Minute, PollInterval: 100 * time.Millisecond, Log: log})
	if err != nil || stats.Units != 5 || stats.ElsewhereJob != 1 {
		t.Fatalf("work: %+v, %v\n%s", stats, err, log)
	}
	if !strings.Contains(log.String(), "group of 3 units, fold 0 of study q (attempt 1): 1 done already; not trained again") ||
		!strings.Contains(log.String(), "group of 3 units, fold 0 of study q (attempt 1): 2 trained fused, 1 GEMM thread(s)") {
		t.Errorf("log:\n%s", log)
	}
	if r, state, err := st.Unit(first.ID); err != nil || state != "done" || r.Seconds != 12345 {
		t.Errorf("the unit stored before the takeover: %v %q %v", r.Seconds, state, err)
	}
	var completed, attempts int
	storetest.QueryRow(t, url, `SELECT count(*) FILTER (WHERE state = 'completed'), sum(attempt) FROM river_job`, &completed, &attempts)
	if completed != 2 || attempts != 2 {
		t.Errorf("%d jobs completed after %d attempts, want 2 after 2", completed, attempts)
	}
	sameAsLocal(t, st, local)
}

// openPostgres opens the PostgreSQL store at url.
func openPostgres(url string) (*store.Postgres, error) {
	s, err := store.Open(context.Background(), url)
	if err != nil {
		return nil, err
	}
	return s.(*store.Postgres), nil
}

// TestProgressWhileRecording reads a study's progress over and over while
// two workers record many short units: no read may count a unit as having
// no result and no job (a unit recorded between the reads of the jobs and
// of the units, when the units were read first).
func TestProgressWhileRecording(t *testing.T) {
	url := storetest.Postgres(t)
	st, err := openPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, src := plan(t, t.TempDir(), 40, 100, 1, "[4]")
	// A job a unit: each record completes a job.
	if _, err := queue.Enqueue(context.Background(), st, p, src, queue.EnqueueOptions{Workers: 2, GroupColumns: 4}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := queue.Work(context.Background(), st, queue.Options{Workers: 2, ExitWhenDone: true, TimeoutFactor: 10, MinTimeout: time.Minute, PollInterval: 50 * time.Millisecond})
		done <- err
	}()
	reads := 0
	for {
		pr, err := queue.StudyProgress(context.Background(), st, "")
		if err != nil {
			t.Fatal(err)
		}
		reads++
		if pr.Missing != 0 {
			t.Fatalf("read %d: %s", reads, pr)
		}
		if pr.Finished() {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d reads", reads)
}

// TestJobFLOPs: a job's work (its units' FLOPs, which the progress's ETA
// and the workers' timeouts read) counts the held-out scoring as the
// units do it, as local runs count it (scheduler.Plan.Work): after each
// epoch with curves, else once at the end, which it left out. The job
// scores as its plan says (it took a flag of its own, false unless set
// apart from the plan's). 2
// configurations of hidden [8] on 4 features and 3 classes, 3 epochs, 2
// folds of 101 rows (fold 0 holds out 51, fold 1 50): a training row is
// 6·(4·8 + 8·3) − 2·4·8 = 272 FLOPs, a scored row 2·(4·8 + 8·3) = 112.
func TestJobFLOPs(t *testing.T) {
	for _, c := range []struct {
		curves bool
		unit   [2]float64 // by fold
	}{
		{false, [2]float64{3*50*272 + 51*112, 3*51*272 + 50*112}},        // 46,512 and 47,216 (40,800 and 41,616 before)
		{true, [2]float64{3 * (50*272 + 51*112), 3 * (51*272 + 50*112)}}, // 57,936 and 58,416
	} {
		st, err := openPostgres(storetest.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p, src := planCurves(t, t.TempDir(), 101, 2, 3, "[8]", c.curves)
		if e, err := queue.Enqueue(context.Background(), st, p, src, queue.EnqueueOptions{Workers: 4}); err != nil || e.Inserted != 4 {
			t.Fatalf("curves %v: enqueue %+v, %v", c.curves, e, err)
		}
		rs, err := st.Pool().Query(context.Background(), `SELECT args FROM river_job WHERE kind = $1`, queue.Kind)
		if err != nil {
			t.Fatal(err)
		}
		units := 0
		for rs.Next() {
			var a queue.GroupArgs
			if err := rs.Scan(&a); err != nil {
				t.Fatal(err)
			}
			if a.Curves != c.curves { // what the work counts is what the worker does
				t.Errorf("curves %v: job of fold %d scores after each epoch: %v", c.curves, a.Fold, a.Curves)
			}
			var sum float64
			for _, u := range a.Units {
				units++
				sum += u.FLOPs
				if u.FLOPs != c.unit[a.Fold] {
					t.Errorf("curves %v: unit %s fold %d: %v FLOPs, want %v", c.curves, u.Key, a.Fold, u.FLOPs, c.unit[a.Fold])
				}
			}
			if a.FLOPs != sum {
				t.Errorf("curves %v: job of fold %d: %v FLOPs, its units' %v", c.curves, a.Fold, a.FLOPs, sum)
			}
		}
		if err := rs.Err(); err != nil || units != 4 {
			t.Fatalf("curves %v: %d units in the jobs (%v), want 4", c.curves, units, err)
		}
		// The work left that the queue's ETAs read (sweep --wait, Search).
		want := 2 * (c.unit[0] + c.unit[1])
		if pr, err := queue.StudyProgress(context.Background(), st, "q"); err != nil || pr.LeftFLOPs != want || pr.DoneFLOPs != 0 {
			t.Errorf("curves %v: progress %v FLOPs left, %v done (%v); want %v left", c.curves, pr.LeftFLOPs, pr.DoneFLOPs, err, want)
		}
	}
}
