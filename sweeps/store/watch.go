package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// What a live view (mlpsweep serve) reads of a store that other processes
// write: a cursor that moves whenever anything is written, and a study's
// units in one query rather than one per unit.

// Cursor summarizes everything written to a store so far: it changes
// whenever a study is saved or finishes a run, or a unit starts or
// finishes. Comparable.
type Cursor struct {
	Units    int64 // units rows
	Started  int64 // latest unix nanoseconds a unit started
	Finished int64 // latest unix nanoseconds a unit finished
	Studies  int64 // study rows
	Updated  int64 // latest unix nanoseconds a study was saved or finished a run
	Epochs   int64 // per-epoch scores
}

// ReadCursor reads s's cursor: three aggregate queries, no row read.
func ReadCursor(ctx context.Context, s Store) (Cursor, error) {
	c, err := connOf(s)
	if err != nil {
		return Cursor{}, err
	}
	var cur Cursor
	if err := c.queryRow(ctx, `SELECT count(*), coalesce(max(started), 0), coalesce(max(finished), 0) FROM mlpsweep_units`).
		Scan(&cur.Units, &cur.Started, &cur.Finished); err != nil {
		return cur, named(s, err)
	}
	if err := c.queryRow(ctx, `SELECT count(*), coalesce(max(updated), 0) FROM mlpsweep_study`).Scan(&cur.Studies, &cur.Updated); err != nil {
		return cur, named(s, err)
	}
	err = c.queryRow(ctx, `SELECT count(*) FROM mlpsweep_epoch_scores`).Scan(&cur.Epochs)
	return cur, named(s, err)
}

// StudyUnit is a stored unit of a study as a live view shows it: its
// identity, state, when it started and finished (unix nanoseconds, 0 when
// not recorded) and its result: in full when read in full, otherwise its
// seconds, samples, GFLOP and host only.
type StudyUnit struct {
	ID       sweeps.UnitID
	State    string // running, done, failed, pruned
	Started  int64
	Finished int64
	Result   sweeps.UnitResult // full reads only, and not for running units
}

// ReadStudy reads study name ("" means the study run most recently), its
// configurations and the stored units of its plan in one query: for each
// planned unit the one Find would return (sweeps.Reuse: strict, and
// Pruned when the study has a pruner), and the units running now (whose
// Result is empty), among them a unit stored pruned that this study
// trains further (MarkRunning), which the others see pruned. Without
// full, the units' results are left empty (no learning curves decoded):
// what a list of studies needs. Its StudyResult, with full, is what Load
// returns.
func ReadStudy(ctx context.Context, s Store, name string, strict, full bool) (sweeps.Header, []study.Point, []StudyUnit, error) {
	c, err := connOf(s)
	if err != nil {
		return sweeps.Header{}, nil, nil, err
	}
	h, points, err := s.Study(ctx, name)
	if err != nil {
		return h, nil, nil, err
	}
	prefix := sweeps.EngineVersionOf(h.Engine) + "/"
	cols := `key, fold, seed, engine_version, state, coalesce(started, 0), coalesce(finished, 0), coalesce(seconds, 0), coalesce(samples, 0), host, gflop,
		retrain_study, retrain_started, retrain_host, retrain_error`
	if full {
		cols += `, accuracy, val_loss, diverged, error, epochs, extra, cpu, isa`
	}
	rs, err := c.query(ctx, `SELECT `+cols+` FROM mlpsweep_units WHERE split = $1 AND data_sha256 = $2
		AND (engine_version = $3 OR substr(engine_version, 1, $4) = $5)`,
		h.Split, h.DataSHA, h.Engine, utf8.RuneCountInString(prefix), prefix)
	if err != nil {
		return h, nil, nil, named(s, err)
	}
	defer rs.Close()
	type unitKey struct {
		key  string
		fold int
		seed int64
	}
	stored := map[unitKey][]StudyUnit{}
	for rs.Next() {
		var u StudyUnit
		r := &u.Result
		var retrain, retrainHost, retrainErr string
		var retrainStarted int64
		dest := []any{&u.ID.Key, &u.ID.Fold, &u.ID.Seed, &u.ID.Engine, &u.State, &u.Started, &u.Finished, &r.Seconds, &r.Samples, &r.Host, &r.GFLOP,
			&retrain, &retrainStarted, &retrainHost, &retrainErr}
		var acc, valLoss *float64
		var diverged int64
		var epochs, extra string
		if full {
			dest = append(dest, &acc, &valLoss, &diverged, &r.Error, &epochs, &extra, &r.CPU, &r.ISA)
		}
		if err := rs.Scan(dest...); err != nil {
			return h, nil, nil, named(s, err)
		}
		u.ID.Split, u.ID.Data = h.Split, h.DataSHA
		failed := retrainFailed(u.State, retrain, retrainErr, h.Name)
		switch {
		case failed: // this study trained it further and failed (saveUnit): its failure, not the other's curve
			u = StudyUnit{ID: u.ID, State: "failed", Started: retrainStarted,
				Result: sweeps.UnitResult{Epochs: []engine.EpochStats{}, Error: retrainErr, ValLoss: math.NaN(), Machine: sweeps.Machine{Host: retrainHost}}}
			r.Fold, r.DataSHA256, r.EngineVer, r.Started = u.ID.Fold, h.DataSHA, u.ID.Engine, u.Started
		case u.State == "pruned" && retrain == h.Name: // this study trains it further: running, as its mark says
			u = StudyUnit{ID: u.ID, State: "running", Started: retrainStarted, Result: sweeps.UnitResult{Machine: sweeps.Machine{Host: retrainHost}}}
		}
		if full && u.State != "running" && !failed {
			r.Fold, r.DataSHA256, r.EngineVer, r.Diverged = u.ID.Fold, h.DataSHA, u.ID.Engine, diverged != 0
			r.Accuracy, r.ValLoss = deref(acc, 0), deref(valLoss, math.NaN())
			if err := json.Unmarshal([]byte(epochs), &r.Epochs); err != nil {
				return h, nil, nil, named(s, fmt.Errorf("unit %s fold %d: epochs: %w", u.ID.Key, u.ID.Fold, err))
			}
			if extra != "" {
				r.Extra = json.RawMessage(extra)
			}
			if u.State == "pruned" {
				r.PrunedAt = len(r.Epochs)
			}
			r.Started, r.Finished = u.Started, u.Finished
		}
		k := unitKey{u.ID.Key, u.ID.Fold, u.ID.Seed}
		stored[k] = append(stored[k], u)
	}
	if err := rs.Err(); err != nil {
		return h, nil, nil, named(s, err)
	}
	var units []StudyUnit
	reuse := sweeps.Reuse{Strict: strict, Pruned: h.Schedule.Pruner != nil}
	for _, p := range sweeps.Plan(h, points) {
		id := p.ID
		var pick, running *StudyUnit
		for i := range stored[unitKey{id.Key, id.Fold, id.Seed}] {
			u := &stored[unitKey{id.Key, id.Fold, id.Seed}][i]
			switch {
			case u.State == "running":
				if u.ID.Engine == id.Engine {
					running = u
				}
			case reuse.Better(u.stored(), pick.stored(), id.Engine):
				pick = u
			}
		}
		switch {
		case pick != nil:
			u := *pick
			u.ID = id
			units = append(units, u)
		case running != nil:
			units = append(units, *running)
		}
	}
	return h, points, units, nil
}

// stored is u as sweeps.Reuse ranks it; the zero Stored for nil (none).
func (u *StudyUnit) stored() sweeps.Stored {
	if u == nil {
		return sweeps.Stored{}
	}
	return sweeps.Stored{State: u.State, Engine: u.ID.Engine}
}

func deref[T any](p *T, none T) T {
	if p == nil {
		return none
	}
	return *p
}

// named names s's database in err (nil stays nil).
func named(s Store, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", s.Name(), err)
}

// UnitEpochs is how far a unit's per-epoch rows say it trained, for a
// live view's ETA and percent of peak.
type UnitEpochs struct {
	Recent  int     // epochs written at or after the time asked: the work of the window
	Trained int     // a running unit's latest epoch written since it started or checkpointed (its run so far); 0 for the others
	Seconds float64 // the training seconds of those Recent epochs (a fused member's share of its group's)
	Threads int     // the GEMM threads of its latest run (MarkRunning); 0 when not recorded
}

// ReadEpochs reads UnitEpochs of the units of study h's identity (split,
// data, engine) running or finished at or after since (unix nanoseconds):
// the units that can have written an epoch since. One aggregate query,
// from the units table to those units' epoch rows by their key, so that it
// costs what the window holds, not the whole store's curves. A running
// unit (or one stored pruned that study h trains further, see ReadStudy)
// counts only the epochs written since it started: a unit trained again
// from scratch leaves its earlier run's rows until it overwrites them. A
// running unit's latest checkpoint (a queue worker's, at a pruner's rung)
// counts as trained too: a worker continuing it from there marks it
// running again as it starts, before its first new epoch is written.
func ReadEpochs(ctx context.Context, s Store, h sweeps.Header, since int64) (map[sweeps.UnitID]UnitEpochs, error) {
	c, err := connOf(s)
	if err != nil {
		return nil, err
	}
	rs, err := c.query(ctx, `SELECT u.key, u.fold, u.seed,
			coalesce(sum(CASE WHEN e.written >= $4 THEN 1 ELSE 0 END), 0),
			coalesce(max(CASE WHEN u.state = 'running' AND e.written >= coalesce(u.started, 0)
				OR u.state = 'pruned' AND u.retrain_study = $5 AND u.retrain_error = '' AND e.written >= u.retrain_started THEN e.epoch ELSE 0 END), 0),
			coalesce(sum(CASE WHEN e.written >= $4 THEN coalesce(e.seconds, 0) ELSE 0 END), 0), max(u.threads),
			coalesce(max(CASE WHEN u.state = 'running' OR u.state = 'pruned' AND u.retrain_study = $5 AND u.retrain_error = '' THEN k.epoch ELSE 0 END), 0)
		FROM mlpsweep_units u JOIN mlpsweep_epoch_scores e
			ON e.key = u.key AND e.fold = u.fold AND e.split = u.split AND e.seed = u.seed
			AND e.data_sha256 = u.data_sha256 AND e.engine_version = u.engine_version
		LEFT JOIN (SELECT key, fold, seed, max(epoch) AS epoch FROM mlpsweep_checkpoints
				WHERE split = $1 AND data_sha256 = $2 AND engine_version = $3 GROUP BY key, fold, seed) k
			ON k.key = u.key AND k.fold = u.fold AND k.seed = u.seed
		WHERE u.split = $1 AND u.data_sha256 = $2 AND u.engine_version = $3
			AND (u.state = 'running' OR u.finished >= $4 OR u.state = 'pruned' AND u.retrain_study = $5 AND u.retrain_error = '')
		GROUP BY u.key, u.fold, u.seed`, h.Split, h.DataSHA, h.Engine, since, h.Name)
	if err != nil {
		return nil, named(s, err)
	}
	defer rs.Close()
	m := map[sweeps.UnitID]UnitEpochs{}
	for rs.Next() {
		id := sweeps.UnitID{Split: h.Split, Data: h.DataSHA, Engine: h.Engine}
		var e UnitEpochs
		var checkpoint int
		if err := rs.Scan(&id.Key, &id.Fold, &id.Seed, &e.Recent, &e.Trained, &e.Seconds, &e.Threads, &checkpoint); err != nil {
			return nil, named(s, err)
		}
		e.Trained = max(e.Trained, checkpoint)
		m[id] = e
	}
	return m, named(s, rs.Err())
}
