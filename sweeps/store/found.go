package store

import (
	"context"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// FoundUnit is the stored unit a study takes for an id (see Find): its
// state and the engine identity that computed it.
type FoundUnit = sweeps.Stored

// FindStates is Find's choice (by rule r, sweeps.Reuse) for many units in
// one query, without their results, for enqueuing and following a study
// that workers elsewhere run: of each of ids that is stored, the row r
// ranks first, its own in whatever state (running too) when no other
// qualifies. Absent: not stored.
func (s *Postgres) FindStates(ctx context.Context, ids []sweeps.UnitID, r sweeps.Reuse) (map[sweeps.UnitID]FoundUnit, error) {
	// An engine identity is "<version>/<ISA path>" (sweeps.EngineVersionOf):
	// the rows of id's version, which r ranks.
	rs, err := s.conn().query(ctx, `SELECT p.key, p.fold, p.split, p.seed, p.data_sha256, p.engine_version, u.engine_version, u.state, u.retrain_study, u.retrain_error
		FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS p(key, fold, split, seed, data_sha256, engine_version)
		JOIN mlpsweep_units u ON u.key = p.key AND u.fold = p.fold AND u.split = p.split AND u.seed = p.seed AND u.data_sha256 = p.data_sha256
			AND (u.engine_version = p.engine_version OR NOT $7 AND split_part(u.engine_version, '/', 1) = split_part(p.engine_version, '/', 1))`,
		append(idArrays(ids), r.Strict)...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rs.Close()
	m := make(map[sweeps.UnitID]FoundUnit, len(ids))
	for rs.Next() {
		var id sweeps.UnitID
		var u FoundUnit
		var retrain, retrainErr string
		if err := rs.Scan(&id.Key, &id.Fold, &id.Split, &id.Seed, &id.Data, &id.Engine, &u.Engine, &u.State, &retrain, &retrainErr); err != nil {
			return nil, s.err(err)
		}
		if retrainFailed(u.State, retrain, retrainErr, r.Study) {
			u.State = "failed"
		}
		if r.Better(u, m[id], id.Engine) {
			m[id] = u
		}
	}
	return m, s.err(rs.Err())
}

// idArrays are ids as the arrays of their columns, for unnest: key,
// fold, split, seed, data_sha256, engine_version.
func idArrays(ids []sweeps.UnitID) []any {
	n := len(ids)
	keys, splits, datas, engines := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	folds, seeds := make([]int64, n), make([]int64, n)
	for i, id := range ids {
		keys[i], folds[i], splits[i], seeds[i], datas[i], engines[i] = id.Key, int64(id.Fold), id.Split, id.Seed, id.Data, id.Engine
	}
	return []any{keys, folds, splits, seeds, datas, engines}
}
