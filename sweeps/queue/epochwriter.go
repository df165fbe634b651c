package queue

import (
	"context"
	"sync"

	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

// epochWriter stores a job's epoch scores in the background: training
// hands each epoch over and goes on, and a goroutine writes what has come
// in meanwhile in one round trip (store.Postgres.SaveEpochs). With both
// cores training, each statement waited milliseconds for the server to get
// a core, and a group of members waited for every member's row in turn.
// flush waits until every epoch handed over is written: a unit's result is
// recorded after its epochs, as before.
type epochWriter struct {
	st      *store.Postgres
	mu      sync.Mutex
	idle    *sync.Cond // signalled when the writer stops with nothing pending
	pending []store.EpochRow
	writing bool  // a writer goroutine is running
	err     error // the first failure to write
}

func newEpochWriter(st *store.Postgres) *epochWriter {
	e := &epochWriter{st: st}
	e.idle = sync.NewCond(&e.mu)
	return e
}

// add hands an epoch over to be written.
func (e *epochWriter) add(r store.EpochRow) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending = append(e.pending, r)
	if !e.writing {
		e.writing = true
		go e.write()
	}
}

// write stores what is pending until nothing is.
func (e *epochWriter) write() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.pending) > 0 {
		rows := e.pending
		e.pending = nil
		e.mu.Unlock()
		err := e.st.SaveEpochs(context.Background(), rows)
		e.mu.Lock()
		if err != nil && e.err == nil {
			e.err = err
		}
	}
	e.writing = false
	e.idle.Broadcast()
}

// flush waits until every epoch handed over is written and returns the
// first failure to write one (the job then fails and River retries it).
func (e *epochWriter) flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.writing {
		e.idle.Wait()
	}
	return e.err
}
