// Package queue runs a study's units on any number of machines through a
// River job queue in the study's PostgreSQL store: Enqueue inserts one job
// per fused group of units (as the local scheduler forms them), Work trains
// what the queue holds, and Follow and Status tell how far a study has got.
//
// River (github.com/riverqueue/river) does the claiming (FOR UPDATE SKIP
// LOCKED, LISTEN/NOTIFY), timeouts and crash recovery (its rescuer hands
// the jobs of a killed worker to another after a delay): a home-made claim
// loop deadlocked here under three processes. Execution is at least once;
// recording is exactly once: each unit of a job is written in its own
// transaction, which first checks under a lock on the job's row that this
// run still holds the job, and the last one completes the job. A run that
// takes over a job (after a kill) trains only its units not stored yet.
//
// A job carries everything its units need (configurations, split, seed,
// where the data is), so a worker needs only the store's URL and the data
// files at the same paths. Jobs go to the queue of the engine that planned
// them (QueueName): a worker takes only units whose numbers its own engine
// (version and ISA path) reproduces bit for bit.
//
// An adaptive study has a coordinator, the process that enqueues and
// waits (sweep --enqueue --wait): Prune decides a pruner's rungs (prune.go),
// Search proposes a sampler's configurations as others finish (not
// reproducible: it depends on the order results come in), and
// SearchPruned, a sampler with a pruner, does both in batches as a local
// run does (search.go): the same configurations, numbers and decisions as
// scheduler.RunSearch with the same batch.
package queue

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Kind is the River job kind of a group of units.
const Kind = "mlpsweep_group"

// MaxAttempts bounds how often a job runs: a worker killed or timed out,
// a database error or data missing on a machine each use one attempt;
// after the last, River discards the job (mlpsweep status shows it).
const MaxAttempts = 5

// GroupArgs is a job: units of one fold, sharing the batch size and the
// epoch count, that a worker trains as one fused group (scheduler.Plan.Jobs
// forms them as a local run does; a unit alone is a group of one). Its
// identity for River's uniqueness is the fields marked unique: enqueuing
// the same group again while its job is queued or running is a no-op.
type GroupArgs struct {
	Study   string     `json:"study"` // the study that enqueued it, for progress
	Fold    int        `json:"fold" river:"unique"`
	Split   string     `json:"split" river:"unique"`
	DataSHA string     `json:"data_sha256" river:"unique"`
	Engine  string     `json:"engine" river:"unique"`
	Units   []UnitArgs `json:"units" river:"unique"`

	Folds     int     `json:"folds"`      // KFold's k
	SplitSeed int64   `json:"split_seed"` // KFold's random_state (the study seed)
	Data      Source  `json:"data"`
	Curves    bool    `json:"curves"`
	FLOPs     float64 `json:"flops"` // work of all its units (UnitArgs.FLOPs), for the job's timeout

	// A pruned study's stage (Prune): train from the units' checkpoints
	// after epoch From (0: from scratch) to epoch To; To 0: every epoch,
	// no checkpoint.
	From int `json:"from,omitempty" river:"unique"`
	To   int `json:"to,omitempty" river:"unique"`
}

// UnitArgs is a unit of a job: its key and seed (the rest of its identity
// is the job's), configuration, and training work.
type UnitArgs struct {
	Key    string       `json:"key"`
	Seed   int64        `json:"seed"` // unit seed
	Params study.Params `json:"params"`
	FLOPs  float64      `json:"flops"` // work (FLOPs) of its epochs, with their held-out scoring (scheduler.Plan.Work), for progress
}

// Kind implements river.JobArgs.
func (GroupArgs) Kind() string { return Kind }

// ID is the identity in the store of the job's unit i.
func (a GroupArgs) ID(i int) sweeps.UnitID {
	u := a.Units[i]
	return sweeps.UnitID{Key: u.Key, Fold: a.Fold, Split: a.Split, Seed: u.Seed, Data: a.DataSHA, Engine: a.Engine}
}

// describe names the job in messages: "group of 3 units, fold 1 of
// study s".
func (a GroupArgs) describe() string {
	return fmt.Sprintf("group of %d units, fold %d of study %s", len(a.Units), a.Fold, a.Study)
}

// IDs are the identities in the store of the job's units.
func (a GroupArgs) IDs() []sweeps.UnitID {
	ids := make([]sweeps.UnitID, len(a.Units))
	for i := range a.Units {
		ids[i] = a.ID(i)
	}
	return ids
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

// jobOpts are the insert options of a job of queue with attempts
// attempts: unique by its arguments among the jobs that will still run (a
// group whose job completed with a unit failed may be queued again).
func jobOpts(queue string, attempts int) *river.InsertOpts {
	return &river.InsertOpts{Queue: queue, MaxAttempts: attempts, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// Enqueued counts what Enqueue did with a study's units.
type Enqueued struct {
	Units    int                // distinct units of the study
	Done     int                // already done in the store: no job
	Queued   int                // already in a job queued or running: skipped
	Inserted int                // units in new jobs
	Jobs     int                // new jobs (fused groups)
	Grouping scheduler.Grouping // how the new jobs' groups were formed
	Queue    string             // the River queue they went to

	// Elsewhere counts the units of Done computed under another ISA path
	// of the engine's version (by engine identity), reused as a local
	// run reuses them unless EnqueueOptions.StrictEngine; nil: none.
	Elsewhere map[string]int
}

// ElsewhereNote says, when some of the units found done were computed
// under another ISA path than engine's (Elsewhere), that they are reused
// and how to have them trained again, and which workers take the new
// jobs; "" otherwise.
func (e Enqueued) ElsewhereNote(engine string) string {
	if len(e.Elsewhere) == 0 {
		return ""
	}
	others := slices.Sorted(maps.Keys(e.Elsewhere))
	n, counts := 0, make([]string, len(others))
	for i, o := range others {
		n += e.Elsewhere[o]
		counts[i] = fmt.Sprintf("%s: %d", o, e.Elsewhere[o])
	}
	note := fmt.Sprintf("note: %d of the %d units done already were computed under another ISA path (%s) and are reused, as a local run reuses them; "+
		"they are not bit-identical to units of %s (the report notes them): enqueue with --strict-engine to have %s's workers train them again",
		n, e.Done, strings.Join(counts, ", "), engine, engine)
	if e.Inserted == 0 {
		return note
	}
	_, isa, _ := strings.Cut(engine, "/")
	_, other, _ := strings.Cut(others[0], "/")
	how := "enqueue from a host on that path"
	if path, err := kernels.ParseISA(other); err == nil && path <= kernels.DetectedISA() {
		how += fmt.Sprintf(", or here with MLPSWEEP_ISA=%s", other)
	}
	return note + fmt.Sprintf(". The %d units enqueued go to queue %s, which only workers on the %s path take: if your workers are on the %s path, %s",
		e.Inserted, e.Queue, isa, other, how)
}

// EnqueueOptions control Enqueue. Whether its units score their held-out
// rows after every epoch (learning curves) is the plan's
// (scheduler.StudyPlan's curves, in Header.Schedule.Curves), which its
// work (scheduler.Plan.Work) counts: the jobs take it from there.
type EnqueueOptions struct {
	// Workers is how many workers are expected to train at once: while
	// there are fewer jobs, the largest group is split (0: 1).
	Workers int
	// GroupColumns caps a group's first-layer columns, as
	// scheduler.Options.GroupColumns (0: the kernels' table's width for
	// this CPU, or measured here; the workers' engine is this one's).
	GroupColumns int
	// StrictEngine queues the units done only under another ISA path,
	// as scheduler.Options.StrictEngine trains them again.
	StrictEngine bool
}

// Enqueue records plan's study in st and inserts, in one transaction, a
// job per fused group of its units that are neither done nor in a job
// queued or running, into the queue of plan's engine. A unit done under
// another ISA path of the engine's version counts as done, as a local run
// or a shard reuses it (Elsewhere), unless opt.StrictEngine. src says
// where workers find the data.
func Enqueue(ctx context.Context, st *store.Postgres, plan scheduler.Plan, src Source, opt EnqueueOptions) (Enqueued, error) {
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
	ids := sweeps.UnitIDs(plan.Units)
	found, err := st.FindStates(ctx, ids, sweeps.Reuse{Strict: opt.StrictEngine, Study: h.Name}) // a study without a pruner (Prune runs those)
	if err != nil {
		return e, err
	}
	jobs, err := latestJobs(ctx, st, h, plan.Units)
	if err != nil {
		return e, err
	}
	var todo []sweeps.Unit
	for _, u := range plan.Units {
		switch f := found[u.ID]; {
		case f.State == "done":
			e.Done++
			if f.Engine != u.ID.Engine {
				if e.Elsewhere == nil {
					e.Elsewhere = map[string]int{}
				}
				e.Elsewhere[f.Engine]++
			}
		case isLive(jobs[u.ID].state):
			e.Queued++
		default:
			todo = append(todo, u)
		}
	}
	if len(todo) == 0 {
		return e, st.FinishRun(h.Name, sweeps.QueueRun(0, 0, e.Done))
	}
	client, err := river.NewClient(riverpgxv5.New(st.Pool()), &river.Config{})
	if err != nil {
		return e, err
	}
	opts := jobOpts(e.Queue, MaxAttempts)
	groups, grouping := plan.Jobs(todo, opt.Workers, opt.GroupColumns)
	params := make([]river.InsertManyParams, len(groups))
	for i, g := range groups {
		a := GroupArgs{Study: h.Name, Fold: g[0].ID.Fold, Split: h.Split, DataSHA: h.DataSHA, Engine: h.Engine,
			Folds: h.Folds, SplitSeed: h.Seed, Data: src, Curves: h.Schedule.Curves}
		for _, u := range g {
			flops := float64(plan.Work(u))
			a.Units = append(a.Units, UnitArgs{Key: u.ID.Key, Seed: u.ID.Seed, Params: u.Point.Params, FLOPs: flops})
			a.FLOPs += flops
		}
		params[i] = river.InsertManyParams{InsertOpts: opts, Args: a}
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		res, err := client.InsertManyTx(ctx, tx, params)
		if err != nil {
			return err
		}
		for i, r := range res {
			if r.UniqueSkippedAsDuplicate { // another process enqueued the same group meanwhile
				e.Queued += len(groups[i])
			} else {
				e.Inserted += len(groups[i])
				e.Jobs++
			}
		}
		return nil
	})
	if err != nil {
		return Enqueued{Units: e.Units, Queue: e.Queue}, fmt.Errorf("%s: enqueuing study %s: %w", st.Name(), h.Name, err)
	}
	e.Grouping = grouping
	// The study's record counts the units found done as reused; the run's
	// count and wall time come when it is followed to its end (Follow).
	return e, st.FinishRun(h.Name, sweeps.QueueRun(0, 0, e.Done))
}
