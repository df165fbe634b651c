package queue

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

// Progress is how far a study stored in PostgreSQL has got, unit by unit:
// its result in the store and the state of the latest River job that
// runs it (whichever study enqueued it).
type Progress struct {
	Study   string `json:"study"`
	Queue   string `json:"queue"`
	Units   int    `json:"units"`   // distinct units of the study
	Done    int    `json:"done"`    // recorded as done
	Pruned  int    `json:"pruned"`  // recorded as stopped early by the study's pruner
	Failed  int    `json:"failed"`  // recorded as failed, and not queued again
	Running int    `json:"running"` // not recorded, a job running
	Queued  int    `json:"queued"`  // not recorded, a job waiting: available, scheduled, or retryable after an error or a rescue
	Missing int    `json:"missing"` // not recorded and no job to run it: not enqueued, or its job discarded after MaxAttempts attempts
	// Dead counts the units not recorded whose job runs on a worker whose
	// database session is gone (killed, or its machine or network lost):
	// a live worker or sweep --wait hands the job back to the queue
	// shortly (liveness.go). DeadWorkers names them by worker
	// ("host:pid:random" → "unit KEY fold N").
	Dead        int                 `json:"on_dead_worker"`
	DeadWorkers map[string][]string `json:"dead_workers,omitempty"`
	// Jobs counts the River job states of the units' latest jobs.
	Jobs map[string]int `json:"jobs"`

	// Elsewhere counts the units of Done computed under another ISA path
	// of the study's engine version, which the study reuses (unless
	// enqueued with --strict-engine: then their jobs train them again).
	Elsewhere int `json:"elsewhere,omitempty"`

	// Work left and done (the FLOPs of the units' jobs: their training
	// and held-out scoring, scheduler.Plan.Work), for ETAs.
	LeftFLOPs, DoneFLOPs float64 `json:"-"`
}

// Finished reports whether no unit of the study waits for a worker.
func (p Progress) Finished() bool { return p.Running+p.Dead+p.Queued == 0 }

func (p Progress) String() string {
	done := ""
	if p.Elsewhere > 0 {
		done = fmt.Sprintf(" (%d on another ISA path)", p.Elsewhere)
	}
	s := fmt.Sprintf("study %s: %d units: %d done%s, %d failed, %d running, ", p.Study, p.Units, p.Done, done, p.Failed, p.Running)
	if p.Dead > 0 {
		s += fmt.Sprintf("%d on a dead worker (to run again), ", p.Dead)
	}
	s += fmt.Sprintf("%d queued", p.Queued)
	if p.Pruned > 0 {
		s += fmt.Sprintf(", %d pruned", p.Pruned)
	}
	if p.Missing > 0 {
		s += fmt.Sprintf(", %d with no result and no job", p.Missing)
	}
	return s
}

// JobStates formats Jobs: "3 completed, 1 running".
func (p Progress) JobStates() string {
	var parts []string
	for _, state := range slices.Sorted(maps.Keys(p.Jobs)) {
		parts = append(parts, fmt.Sprintf("%d %s", p.Jobs[state], state))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// isLive reports whether a job in state will still run.
func isLive(state string) bool {
	switch state {
	case "available", "pending", "retryable", "running", "scheduled":
		return true
	}
	return false
}

// StudyProgress reads the progress of study name ("" = the one recorded
// last) from st.
func StudyProgress(ctx context.Context, st *store.Postgres, name string) (Progress, error) {
	h, points, err := st.Study(ctx, name)
	if err != nil {
		return Progress{}, err
	}
	units := sweeps.Plan(h, points)
	p := Progress{Study: h.Name, Queue: QueueName(h.Engine), Units: len(units), Jobs: map[string]int{}}
	// The jobs first, then the units: a job completes in the transaction
	// that records its last unit, after the others, so every unit of a
	// job read as finished reads as recorded. In the other order a unit
	// recorded between the two reads showed as having no result and no job.
	jobs, err := latestJobs(ctx, st, h, units)
	if err != nil {
		return p, err
	}
	found, err := st.FindStates(ctx, sweeps.UnitIDs(units), sweeps.Reuse{Pruned: h.Schedule.Pruner != nil, Study: h.Name}) // the result each unit counts, as the report's
	if err != nil {
		return p, err
	}
	dead, err := deadOwners(ctx, st, jobs)
	if err != nil {
		return p, err
	}
	for _, u := range units {
		j, hasJob := jobs[u.ID]
		if hasJob {
			p.Jobs[j.state]++
		}
		// A unit stored pruned that a job of the study trains further
		// (another study's stop, which its mark leaves in place) is
		// running or queued; so is one done under another ISA path that
		// a job trains again (enqueued with --strict-engine).
		f := found[u.ID]
		switch state := f.State; {
		case state == "done" && f.Engine == u.ID.Engine:
			p.Done++
			p.DoneFLOPs += j.flops
		case hasJob && dead[j.id] != "":
			p.Dead++
			p.LeftFLOPs += j.flops
			if p.DeadWorkers == nil {
				p.DeadWorkers = map[string][]string{}
			}
			worker := WorkerName(dead[j.id])
			p.DeadWorkers[worker] = append(p.DeadWorkers[worker], fmt.Sprintf("unit %s fold %d", u.ID.Key, u.ID.Fold))
		case hasJob && j.state == "running":
			p.Running++
			p.LeftFLOPs += j.flops
		case hasJob && isLive(j.state):
			p.Queued++
			p.LeftFLOPs += j.flops
		case state == "done":
			p.Done++
			p.Elsewhere++
		case state == "pruned":
			p.Pruned++
		case state == "failed":
			p.Failed++
		default:
			p.Missing++
		}
	}
	return p, nil
}

// unitJob is a unit's latest job, its state, and the unit's training
// work.
type unitJob struct {
	id    int64
	state string
	flops float64
}

// deadOwners returns the worker (River client ID) of each of jobs that
// runs on a worker whose session is gone, by job ID.
func deadOwners(ctx context.Context, st *store.Postgres, jobs map[sweeps.UnitID]unitJob) (map[int64]string, error) {
	owners := map[int64]string{}
	if !slices.ContainsFunc(slices.Collect(maps.Values(jobs)), func(j unitJob) bool { return j.state == "running" }) {
		return owners, nil
	}
	dead, err := deadJobs(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Name(), err)
	}
	for _, d := range dead {
		owners[d.id] = d.owner
	}
	return owners, nil
}

// latestJobs returns the state of the latest job (whichever study enqueued
// it) of each of units of the study of header h that has one; none when
// the database has no queue.
func latestJobs(ctx context.Context, st *store.Postgres, h sweeps.Header, units []sweeps.Unit) (map[sweeps.UnitID]unitJob, error) {
	jobs := map[sweeps.UnitID]unitJob{}
	if ok, err := hasQueue(ctx, st); err != nil || !ok {
		return jobs, err
	}
	keys, folds := make([]string, len(units)), make([]int64, len(units))
	byKey := map[[2]string]sweeps.UnitID{}
	for i, u := range units {
		keys[i], folds[i] = u.ID.Key, int64(u.ID.Fold)
		byKey[[2]string{u.ID.Key, fmt.Sprint(u.ID.Fold)}] = u.ID
	}
	rs, err := st.Pool().Query(ctx, `SELECT DISTINCT ON (u->>'key', (j.args->>'fold')::bigint)
			u->>'key', j.args->>'fold', j.id, j.state::text, coalesce((u->>'flops')::float8, 0)
		FROM river_job j CROSS JOIN LATERAL jsonb_array_elements(j.args->'units') AS u
			JOIN unnest($1::text[], $2::bigint[]) AS p(key, fold)
			ON u->>'key' = p.key AND (j.args->>'fold')::bigint = p.fold
		WHERE j.kind = $3 AND j.args->>'split' = $4 AND j.args->>'data_sha256' = $5 AND j.args->>'engine' = $6
		ORDER BY u->>'key', (j.args->>'fold')::bigint, j.id DESC`,
		keys, folds, Kind, h.Split, h.DataSHA, h.Engine)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Name(), err)
	}
	defer rs.Close()
	for rs.Next() {
		var key, fold string
		var j unitJob
		if err := rs.Scan(&key, &fold, &j.id, &j.state, &j.flops); err != nil {
			return nil, fmt.Errorf("%s: %w", st.Name(), err)
		}
		if id, ok := byKey[[2]string{key, fold}]; ok {
			jobs[id] = j
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", st.Name(), err)
	}
	return jobs, nil
}

// Follow reads the study's progress at most every interval apart,
// passing each to report with an estimate of the time left (0 until some
// work is done while it follows), until no unit waits for a worker; it
// returns the last progress. The reads come sooner at first (a fortieth of
// the time followed so far, at least a second); between them a query of
// one row asks every finishEvery whether the study still has a job to run,
// so that the end of a short study is seen at once without reading all of
// its units many times (each read is work for the server, whose cores the
// workers may be training on).
func Follow(ctx context.Context, st *store.Postgres, name string, every time.Duration, report func(p Progress, eta time.Duration)) (Progress, error) {
	started := time.Now()
	var first Progress
	endCheck := true // the study's own jobs tell when it ends (not when another study's jobs run its units)
	var dead deadWatch
	for i := 0; ; i++ {
		p, err := StudyProgress(ctx, st, name)
		if err != nil {
			return p, err
		}
		if err := dead.look(ctx, st, p); err != nil {
			return p, err
		}
		if i == 0 {
			first = p
		}
		report(p, sweeps.ETA(p.LeftFLOPs, p.DoneFLOPs-first.DoneFLOPs, time.Since(started)))
		if p.Finished() {
			return p, nil
		}
		next := time.Now().Add(min(every, max(time.Second, time.Since(started)/40)))
		for wait := true; wait; {
			step := time.Until(next)
			if endCheck {
				step = min(step, finishEvery)
			}
			select {
			case <-ctx.Done():
				return p, fmt.Errorf("%w: the workers go on; follow again with --wait", ErrInterrupted)
			case <-time.After(step):
			}
			wait = time.Now().Before(next)
			if wait && endCheck {
				live, err := liveJobs(ctx, st, name)
				if err != nil {
					return p, fmt.Errorf("%s: %w", st.Name(), err)
				}
				wait = live > 0
				endCheck = wait // none left, yet units were running: they are in other studies' jobs
			}
		}
	}
}

// finishEvery is how often Follow asks whether a study has jobs left.
const finishEvery = 100 * time.Millisecond

// liveJobs counts the study's jobs that will still run.
func liveJobs(ctx context.Context, st *store.Postgres, study string) (int, error) {
	var live int
	err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'study' = $2 AND state IN `+liveStates,
		Kind, study).Scan(&live)
	return live, err
}

// QueueJobs counts the jobs of every queue by state, for mlpsweep status:
// queue → state → count.
func QueueJobs(ctx context.Context, st *store.Postgres) (map[string]map[string]int, error) {
	if ok, err := hasQueue(ctx, st); err != nil || !ok {
		return nil, err
	}
	rs, err := st.Pool().Query(ctx, `SELECT queue, state::text, count(*) FROM river_job WHERE kind = $1 GROUP BY queue, state`, Kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Name(), err)
	}
	defer rs.Close()
	m := map[string]map[string]int{}
	for rs.Next() {
		var q, state string
		var n int
		if err := rs.Scan(&q, &state, &n); err != nil {
			return nil, err
		}
		if m[q] == nil {
			m[q] = map[string]int{}
		}
		m[q][state] = n
	}
	return m, rs.Err()
}

// hasQueue reports whether st's database has River's tables (a study was
// enqueued there, or a worker ran): status only reads.
func hasQueue(ctx context.Context, st *store.Postgres) (bool, error) {
	var ok bool
	if err := st.Pool().QueryRow(ctx, `SELECT to_regclass('river_job') IS NOT NULL`).Scan(&ok); err != nil {
		return false, fmt.Errorf("%s: %w", st.Name(), err)
	}
	return ok, nil
}

// partway is the progress hook (scheduler.GroupTrainer.SetProgress) of a
// job training its units todo (indices into its args' units) on data's
// folds, from epoch from to its epoch to (0: the last), scoring the
// held-out rows after each epoch when curves is set: a line in the
// worker's log at most every Options.PartEvery of each epoch long enough,
// as train and sweep print them, plain (a worker's log is a file), with
// the job's time left:
//
//	group of 4 units, fold 2 of study s (attempt 1): epoch 3/10: 45 % (1580/3516 steps), eta 2m10s
//
// The ETA extrapolates the job's epochs so far (sweeps.Clock: its
// warm-up left out) over its work left (jobWork). nil without PartEvery.
func (w *groupWorker) partway(job *river.Job[GroupArgs], todo []int, data *datasets.Dataset, folds []datasets.Fold, curves bool, from, to int) func([]int, engine.EpochPart) {
	if w.opt.PartEvery <= 0 || len(todo) == 0 {
		return nil
	}
	a := job.Args
	name := unitName(job, todo[0])
	if len(todo) > 1 {
		name = fmt.Sprintf("group of %d units, fold %d of study %s (attempt %d)", len(todo), a.Fold, a.Study, job.Attempt)
	}
	epochs := a.Units[todo[0]].Params.Epochs()
	if to <= 0 || to > epochs {
		to = epochs
	}
	work := newJobWork(a, todo, data, folds[a.Fold], curves, from, to)
	clock := sweeps.NewClock(time.Now())
	return func(_ []int, p engine.EpochPart) {
		now := time.Now()
		if p.Epoch > from+1 {
			clock.EpochEnded()
		}
		clock.Part(now, p, p.Epoch == from+1)
		line := fmt.Sprintf("%s: epoch %d/%d: %.0f %% (%d/%d steps)", name, p.Epoch, epochs, 100*p.Fraction(), p.Step, p.Steps)
		if elapsed, ok := clock.Elapsed(now); ok {
			done, left := work.at(p)
			line += ", eta " + sweeps.ETA(left, done, elapsed).Round(time.Second).String()
		}
		w.logf("%s", line)
	}
}

// jobWork is the work of a job's units todo (indices into its args'
// units) from their epoch from to their epoch to, for its partway ETA,
// by the rule of a unit's work (scheduler.ScoredWork, as the job's FLOPs
// count it): each epoch's, with the held-out rows of fold scored after
// it when curves is set, and without curves their scoring once after
// the units' last epoch, when the job trains it. Its measure is epochs
// of the units (which share them), each weighing the same.
type jobWork struct {
	epoch    sweeps.EpochWork // an epoch of every unit
	final    float64          // the scoring after the last epoch: 0 with curves, or when the job ends before it
	from, to int
}

// newJobWork is the work of the job of args a training its units todo on
// data's fold from epoch from to epoch to (at most the units' epochs).
func newJobWork(a GroupArgs, todo []int, data *datasets.Dataset, fold datasets.Fold, curves bool, from, to int) jobWork {
	j := jobWork{from: from, to: to}
	for _, i := range todo {
		w, final := scheduler.ScoredWork(a.Units[i].Params.Hidden(), data.Features, data.Classes, len(fold.Train), len(fold.Test), curves)
		j.epoch.Train, j.epoch.Eval = j.epoch.Train+w.Train, j.epoch.Eval+w.Eval
		if to >= a.Units[i].Params.Epochs() {
			j.final += final
		}
	}
	return j
}

// at is the work done and left, in epochs, when a report p of its epoch
// comes: a part of an epoch's steps is that part of its training, not of
// its scoring (sweeps.EpochWork.Done).
func (j jobWork) at(p engine.EpochPart) (done, left float64) {
	done = float64(p.Epoch-1-j.from) + j.epoch.Done(p.Fraction())/j.epoch.Total()
	return done, float64(j.to-j.from) + j.final/j.epoch.Total() - done
}
