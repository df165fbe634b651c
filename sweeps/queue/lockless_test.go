package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestWorkerTakesNoJobWithoutItsLock: a worker's sessions are cut from
// the server side (pg_terminate_backend), and its liveness lock is taken
// at once by another session, as the server still holds it for a cut
// session it has not ended yet. The worker takes no job of those then
// queued while it cannot take its lock again (other workers would hand
// them back), and says so; once the lock is free it takes it again and
// trains them all.
func TestWorkerTakesNoJobWithoutItsLock(t *testing.T) {
	url := storetest.Postgres(t)
	const app = "lockless-worker"
	st, err := openPostgres(storetest.WithApplication(t, url, app)) // the worker's sessions, to cut
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := &syncWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := queue.Work(ctx, st, queue.Options{Workers: 1, TimeoutFactor: 10, MinTimeout: time.Minute,
			LivenessEvery: 200 * time.Millisecond, PollInterval: 100 * time.Millisecond, Log: log})
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, queue.ErrInterrupted) {
			t.Errorf("Work: %v\n%s", err, log)
		}
	}()

	// The worker's lock, held by one of its sessions: once it has started
	// (before, the lock it takes to migrate River's tables may show).
	bg := context.Background()
	waitUntil(t, "the worker's first line", func() bool { return strings.Contains(log.String(), " at once from queue ") })
	var key int64
	waitUntil(t, "the worker's liveness lock", func() bool {
		storetest.QueryRow(t, url, `SELECT coalesce(max((l.classid::bigint << 32) | l.objid::bigint), 0) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE a.application_name = '`+app+`' AND l.locktype = 'advisory' AND l.granted`, &key)
		return key != 0
	})
	holder, err := pgx.Connect(bg, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(bg)
	locked := make(chan error, 1)
	go func() { _, err := holder.Exec(bg, `SELECT pg_advisory_lock($1)`, key); locked <- err }()
	waitUntil(t, "the other session waiting for the lock", func() bool {
		var waiting bool
		storetest.QueryRow(t, url, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)`, &waiting)
		return waiting
	})
	storetest.Exec(t, url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '`+app+`'`)
	if err := <-locked; err != nil {
		t.Fatal(err)
	}

	// Jobs queued while the worker has no lock stay queued.
	p, src := plan(t, t.TempDir(), 100, 2, 1, "[4]")
	other, err := openPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if e, err := queue.Enqueue(bg, other, p, src, queue.EnqueueOptions{Workers: 1, GroupColumns: 1}); err != nil || e.Jobs != 4 {
		t.Fatalf("enqueue: %+v, %v", e, err)
	}
	waitUntil(t, "the worker saying it takes no job", func() bool {
		return strings.Contains(log.String(), "worker: takes no job until it holds its liveness lock again")
	})
	time.Sleep(1500 * time.Millisecond) // 7 looks at its session, 15 polls of the queue, on a quiet machine
	var taken int
	storetest.QueryRow(t, url, `SELECT count(*) FROM river_job WHERE state <> 'available'`, &taken)
	if taken != 0 {
		t.Fatalf("%d jobs taken by a worker without its lock, want 0:\n%s", taken, log)
	}

	// The lock free, the worker takes it and the jobs.
	holder.Close(bg)
	waitUntil(t, "the jobs completed", func() bool {
		var completed int
		storetest.QueryRow(t, url, `SELECT count(*) FROM river_job WHERE state = 'completed'`, &completed)
		return completed == 4
	})
	if l := log.String(); !strings.Contains(l, "worker: holds its liveness lock again; taking jobs") || strings.Count(l, "; recorded") != 4 {
		t.Errorf("log:\n%s", l)
	}
}

// waitUntil polls cond every 20 ms, for up to 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("waited 30 s for %s", what)
		}
	}
}
