package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Checkpoints (table checkpoints, schema version 7): a unit's training
// state after an epoch, keyed by its full identity and the epoch, so that
// a queued pruned study continues a promoted unit on any machine from
// where its last run left it. They live in the PostgreSQL store the
// workers share (a shared folder is not given on every cluster); queue
// mode is PostgreSQL's only.

// ErrNoCheckpoint is returned (wrapped) by Checkpoint when the store holds
// no state of the unit at that epoch.
var ErrNoCheckpoint = errors.New("no checkpoint")

// SaveCheckpointTx writes unit id's training state after epoch epochs in
// tx (replacing one written before: a job run again writes the same
// bytes).
func (s *Postgres) SaveCheckpointTx(ctx context.Context, tx pgx.Tx, id sweeps.UnitID, study string, epoch int, state []byte) error {
	return s.err(pgConn{tx}.exec(ctx, `INSERT INTO mlpsweep_checkpoints (key, fold, split, seed, data_sha256, engine_version, epoch, state, study, written)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (key, fold, split, seed, data_sha256, engine_version, epoch)
		DO UPDATE SET state = excluded.state, study = excluded.study, written = excluded.written`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, epoch, state, study, time.Now().UnixNano()))
}

// Checkpoint reads unit id's training state after epoch epochs, or an
// error wrapping ErrNoCheckpoint.
func (s *Postgres) Checkpoint(ctx context.Context, id sweeps.UnitID, epoch int) ([]byte, error) {
	var state []byte
	err := s.Pool().QueryRow(ctx, `SELECT state FROM mlpsweep_checkpoints
		WHERE key = $1 AND fold = $2 AND split = $3 AND seed = $4 AND data_sha256 = $5 AND engine_version = $6 AND epoch = $7`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, epoch).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("unit %s fold %d after epoch %d: %w", id.Key, id.Fold, epoch, ErrNoCheckpoint)
	}
	return state, s.err(err)
}

// DropCheckpoints deletes unit id's states before epoch epochs (a later
// one continues it; 0: all of them, the unit being finished).
func (s *Postgres) DropCheckpoints(ctx context.Context, id sweeps.UnitID, epoch int) error {
	return s.err(s.conn().exec(ctx, `DELETE FROM mlpsweep_checkpoints
		WHERE key = $1 AND fold = $2 AND split = $3 AND seed = $4 AND data_sha256 = $5 AND engine_version = $6 AND ($7 = 0 OR epoch < $7)`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, epoch))
}

// Checkpointed reports, for each of ids (units of one split, data and
// engine identity), whether the store holds its state after epoch epoch:
// one query for a whole stage of a study.
func (s *Postgres) Checkpointed(ctx context.Context, ids []sweeps.UnitID, epoch int) (map[sweeps.UnitID]bool, error) {
	has := map[sweeps.UnitID]bool{}
	if len(ids) == 0 {
		return has, nil
	}
	want := map[sweeps.UnitID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	id0 := ids[0]
	rs, err := s.Pool().Query(ctx, `SELECT key, fold, seed FROM mlpsweep_checkpoints WHERE split = $1 AND data_sha256 = $2 AND engine_version = $3 AND epoch = $4`,
		id0.Split, id0.Data, id0.Engine, epoch)
	if err != nil {
		return nil, s.err(err)
	}
	defer rs.Close()
	for rs.Next() {
		id := sweeps.UnitID{Split: id0.Split, Data: id0.Data, Engine: id0.Engine}
		if err := rs.Scan(&id.Key, &id.Fold, &id.Seed); err != nil {
			return nil, s.err(err)
		}
		if want[id] {
			has[id] = true
		}
	}
	return has, s.err(rs.Err())
}
