package store

import (
	"context"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// UnitStates returns the state of each of ids that is stored, as study
// sees it: "running", "done", "pruned" or "failed" (absent: not stored),
// in one query however many ids there are, for following a study that
// workers elsewhere run. A unit stored pruned that study trained further
// and failed is failed for it (saveUnit), pruned for the others.
func (s *Postgres) UnitStates(ctx context.Context, ids []sweeps.UnitID, study string) (map[sweeps.UnitID]string, error) {
	units, err := s.UnitMachines(ctx, ids, study)
	states := make(map[sweeps.UnitID]string, len(units))
	for id, u := range units {
		states[id] = u.State
	}
	return states, err
}

// UnitMachine is a stored unit's state and the machine that last started
// it (MarkRunning: the one that trained its last epochs) or, finished,
// its result's. A unit stored pruned keeps its result while a study
// trains it further: PrunedAt is where that result stopped, Retrain the
// study training it further (” none), and Machine then the machine that
// does (MarkRunning's). State is as the study UnitMachines was asked for
// sees it: failed when its retrain failed (then Retrain names it, and
// Machine is the one it failed on).
type UnitMachine struct {
	State    string
	PrunedAt int
	Retrain  string
	sweeps.Machine
}

// UnitMachines is UnitStates with each unit's machine.
func (s *Postgres) UnitMachines(ctx context.Context, ids []sweeps.UnitID, study string) (map[sweeps.UnitID]UnitMachine, error) {
	rs, err := s.conn().query(ctx, `SELECT u.key, u.fold, u.split, u.seed, u.data_sha256, u.engine_version, u.state, u.retrain_study, u.retrain_error,
			CASE WHEN u.retrain_study <> '' THEN u.retrain_host ELSE u.host END, CASE WHEN u.retrain_study <> '' THEN u.retrain_cpu ELSE u.cpu END,
			CASE WHEN u.retrain_study <> '' THEN u.retrain_isa ELSE u.isa END,
			CASE WHEN u.state = 'pruned' THEN json_array_length(u.epochs::json) ELSE 0 END
		FROM mlpsweep_units u JOIN unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS p(key, fold, split, seed, data_sha256, engine_version)
		USING (key, fold, split, seed, data_sha256, engine_version)`,
		idArrays(ids)...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rs.Close()
	m := make(map[sweeps.UnitID]UnitMachine, len(ids))
	for rs.Next() {
		var id sweeps.UnitID
		var u UnitMachine
		var retrainErr string
		if err := rs.Scan(&id.Key, &id.Fold, &id.Split, &id.Seed, &id.Data, &id.Engine, &u.State, &u.Retrain, &retrainErr, &u.Host, &u.CPU, &u.ISA, &u.PrunedAt); err != nil {
			return nil, s.err(err)
		}
		if retrainFailed(u.State, u.Retrain, retrainErr, study) {
			u.State, u.PrunedAt = "failed", 0
		}
		m[id] = u
	}
	return m, s.err(rs.Err())
}
