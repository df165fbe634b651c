// Package queue runs a study's units on any number of machines through a
// River job queue in the study's PostgreSQL store: Enqueue inserts one job
// per unit, Work trains what the queue holds, and Follow and Status tell
// how far a study has got.
//
// River (github.com/riverqueue/river) does the claiming (FOR UPDATE SKIP
// LOCKED, LISTEN/NOTIFY), timeouts and crash recovery (its rescuer hands
// the jobs of a killed worker to another after a delay): a home-made claim
// loop deadlocked here under three processes. Execution is at least once;
// recording is exactly once, since a unit's result row is written in the
// transaction that completes its job.
//
// A job carries everything its unit needs (configuration, split, seed,
// where the data is), so a worker needs only the store's URL and the data
// files at the same paths. Jobs go to the queue of the engine that planned
// them (QueueName): a worker takes only units whose numbers its own engine
// (version and ISA path) reproduces bit for bit.
package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Kind is the River job kind of a unit.
const Kind = "mlpsweep_unit"

// MaxAttempts bounds how often a unit's job runs: a worker killed or timed
// out, a database error or data missing on a machine each use one attempt;
// after the last, River discards the job (mlpsweep status shows it).
const MaxAttempts = 5

// UnitArgs is a unit's job: its identity (the fields River's uniqueness
// looks at, so that enqueuing a unit again while its job is queued,
// running or completed is a no-op) and everything a worker needs to train
// it.
type UnitArgs struct {
	Study   string `json:"study"` // the study that enqueued it, for progress
	Key     string `json:"key" river:"unique"`
	Fold    int    `json:"fold" river:"unique"`
	Split   string `json:"split" river:"unique"`
	Seed    int64  `json:"seed" river:"unique"` // unit seed
	DataSHA string `json:"data_sha256" river:"unique"`
	Engine  string `json:"engine" river:"unique"`

	Params    study.Params `json:"params"`
	Folds     int          `json:"folds"`      // KFold's k
	SplitSeed int64        `json:"split_seed"` // KFold's random_state (the study seed)
	Data      Source       `json:"data"`
	Curves    bool         `json:"curves"`
	FLOPs     float64      `json:"flops"` // training GEMM work, for the job's timeout
}

// Kind implements river.JobArgs.
func (UnitArgs) Kind() string { return Kind }

// ID is the unit's identity in the store.
func (a UnitArgs) ID() sweeps.UnitID {
	return sweeps.UnitID{Key: a.Key, Fold: a.Fold, Split: a.Split, Seed: a.Seed, Data: a.DataSHA, Engine: a.Engine}
}

// Source is where a job's data comes from: the study's data spec (paths
// absolute) and the rows it keeps.
type Source struct {
	Spec      study.DataSpec `json:"spec"`
	LimitRows int            `json:"limit_rows"` // the first N rows (0: all)
}

// Absolute returns src with its paths made absolute, so that a worker
// started in another directory finds the files.
func (src Source) Absolute() (Source, error) {
	for _, p := range []*string{&src.Spec.Path, &src.Spec.Labels, &src.Spec.Test} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return src, err
		}
		*p = abs
	}
	return src, nil
}

var notQueueChars = regexp.MustCompile(`[^a-z0-9]+`)

// QueueName is the River queue of units planned by engine (sweeps.EngineID):
// a worker takes jobs from its own engine's queue only.
func QueueName(engine string) string {
	q := "mlpsweep_" + strings.Trim(notQueueChars.ReplaceAllString(strings.ToLower(engine), "_"), "_")
	return strings.TrimRight(q[:min(len(q), 64)], "_")
}

// migrateLock is the key of the advisory lock under which processes
// opening one database at once run River's migrations one after another.
const migrateLock = 0x6d6c7072697672 // "mlprivr"

// Migrate creates River's tables or brings them up to date
// (rivermigrate), one process at a time: River's migrations cannot share a
// transaction, so an advisory lock held by a connection of its own makes
// processes opening the database at once take turns.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	if v, err := m.Validate(ctx, nil); err == nil && v.OK {
		return nil
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLock))
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrating River's tables: %w", err)
	}
	return nil
}

// Enqueued counts what Enqueue did with a study's units.
type Enqueued struct {
	Units    int    // distinct units of the study
	Done     int    // already done in the store: no job
	Queued   int    // already queued, running or completed: River skipped them
	Inserted int    // new jobs
	Queue    string // the River queue they went to
}

// Enqueue records plan's study in st and inserts one job per unit not
// already done, all in one transaction, into the queue of plan's engine.
// src says where workers find the data; curves asks for learning curves.
func Enqueue(ctx context.Context, st *store.Postgres, plan scheduler.Plan, src Source, curves bool) (Enqueued, error) {
	h := plan.Header
	e := Enqueued{Units: len(plan.Units), Queue: QueueName(h.Engine)}
	if err := Migrate(ctx, st.Pool()); err != nil {
		return e, err
	}
	src, err := src.Absolute()
	if err != nil {
		return e, err
	}
	if err := st.SaveStudy(h, plan.Points); err != nil {
		return e, err
	}
	ids := make([]sweeps.UnitID, len(plan.Units))
	for i, u := range plan.Units {
		ids[i] = u.ID
	}
	states, err := st.UnitStates(ctx, ids)
	if err != nil {
		return e, err
	}
	client, err := river.NewClient(riverpgxv5.New(st.Pool()), &river.Config{})
	if err != nil {
		return e, err
	}
	opts := &river.InsertOpts{Queue: e.Queue, MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
	var params []river.InsertManyParams
	for _, u := range plan.Units {
		if states[u.ID] == "done" {
			e.Done++
			continue
		}
		id := u.ID
		params = append(params, river.InsertManyParams{InsertOpts: opts, Args: UnitArgs{
			Study: h.Name, Key: id.Key, Fold: id.Fold, Split: id.Split, Seed: id.Seed, DataSHA: id.Data, Engine: id.Engine,
			Params: u.Point.Params, Folds: h.Folds, SplitSeed: h.Seed, Data: src, Curves: curves,
			FLOPs: float64(u.Point.Params.Epochs()*plan.EpochRows(u)) * plan.RowFLOPs(u),
		}})
	}
	if len(params) == 0 {
		return e, st.FinishRun(h.Name, 0, 0, e.Done)
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		res, err := client.InsertManyTx(ctx, tx, params)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.UniqueSkippedAsDuplicate {
				e.Queued++
			} else {
				e.Inserted++
			}
		}
		return nil
	})
	if err != nil {
		return Enqueued{Units: e.Units, Queue: e.Queue}, fmt.Errorf("%s: enqueuing study %s: %w", st.Name(), h.Name, err)
	}
	// The study's record counts the units found done as reused; the run's
	// count and wall time come when it is followed to its end (Follow).
	return e, st.FinishRun(h.Name, 0, 0, e.Done)
}
