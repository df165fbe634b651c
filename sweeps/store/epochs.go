package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Per-epoch scores (table epoch_scores, schema version 5). A unit's
// scores are keyed by its full identity, so a study reads those of the
// units it plans under its own engine identity; units it reuses from
// another ISA path (Store.Find, not strict) keep theirs under that path.

// finite is x, or nil (SQL NULL) when x is NaN or infinite.
func finite(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return x
}

func saveEpoch(ctx context.Context, c conn, id sweeps.UnitID, study string, s engine.EpochStats) error {
	return c.exec(ctx, `INSERT INTO mlpsweep_epoch_scores (key, fold, split, seed, data_sha256, engine_version, epoch, accuracy, loss, train_accuracy, train_loss, seconds, study, written)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (key, fold, split, seed, data_sha256, engine_version, epoch)
		DO UPDATE SET accuracy = excluded.accuracy, loss = excluded.loss, train_accuracy = excluded.train_accuracy,
			train_loss = excluded.train_loss, seconds = excluded.seconds, study = excluded.study, written = excluded.written`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, s.Epoch,
		finite(s.ValAccuracy), finite(s.ValLoss), finite(s.Accuracy), finite(s.Loss), finite(s.Seconds), study, time.Now().UnixNano())
}

const epochColumns = `e.key, e.fold, e.epoch, e.accuracy, e.loss, e.train_accuracy, e.train_loss, e.seconds`

// epochScores reads the scores of the units of study name (the most
// recent when ""): those of its configurations under its split, data and
// engine identity (which determine the unit seed), in study order.
func epochScores(ctx context.Context, c conn, name string) ([]sweeps.EpochScore, error) {
	if name == "" {
		err := c.queryRow(ctx, `SELECT name FROM mlpsweep_study ORDER BY updated DESC LIMIT 1`).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errors.New("no study recorded yet")
		}
		if err != nil {
			return nil, err
		}
	}
	rs, err := c.query(ctx, `SELECT `+epochColumns+` FROM mlpsweep_epoch_scores e
		JOIN mlpsweep_study s ON s.name = $1 AND e.split = s.split AND e.data_sha256 = s.data_sha256 AND e.engine_version = s.engine_version
		JOIN (SELECT key, min(position) AS position FROM mlpsweep_configs WHERE study = $1 GROUP BY key) c ON c.key = e.key
		ORDER BY c.position, e.fold, e.epoch`, name)
	if err != nil {
		return nil, err
	}
	return scanEpochs(rs)
}

func unitEpochScores(ctx context.Context, c conn, id sweeps.UnitID) ([]sweeps.EpochScore, error) {
	rs, err := c.query(ctx, `SELECT `+epochColumns+` FROM mlpsweep_epoch_scores e
		WHERE key = $1 AND fold = $2 AND split = $3 AND seed = $4 AND data_sha256 = $5 AND engine_version = $6 ORDER BY epoch`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine)
	if err != nil {
		return nil, err
	}
	return scanEpochs(rs)
}

func scanEpochs(rs rows) ([]sweeps.EpochScore, error) {
	defer rs.Close()
	scores := []sweeps.EpochScore{}
	for rs.Next() {
		var e sweeps.EpochScore
		var v [5]*float64 // accuracy, loss, train accuracy, train loss, seconds: NULL is NaN
		if err := rs.Scan(&e.Key, &e.Fold, &e.Epoch, &v[0], &v[1], &v[2], &v[3], &v[4]); err != nil {
			return nil, err
		}
		f := [5]float64{}
		for i, p := range v {
			f[i] = math.NaN()
			if p != nil {
				f[i] = *p
			}
		}
		e.Accuracy, e.Loss, e.TrainAccuracy, e.TrainLoss, e.Seconds = f[0], f[1], f[2], f[3], f[4]
		scores = append(scores, e)
	}
	return scores, rs.Err()
}

// SaveEpoch implements Store: one statement, committed when it returns.
func (s *SQLite) SaveEpoch(id sweeps.UnitID, study string, e engine.EpochStats) error {
	return s.err(saveEpoch(context.Background(), s.conn(), id, study, e))
}

// EpochScores implements Store.
func (s *SQLite) EpochScores(ctx context.Context, name string) ([]sweeps.EpochScore, error) {
	e, err := epochScores(ctx, s.conn(), name)
	return e, s.err(err)
}

// UnitEpochScores implements Store.
func (s *SQLite) UnitEpochScores(ctx context.Context, id sweeps.UnitID) ([]sweeps.EpochScore, error) {
	e, err := unitEpochScores(ctx, s.conn(), id)
	return e, s.err(err)
}

// SaveEpoch implements Store: one statement, committed when it returns.
func (s *Postgres) SaveEpoch(id sweeps.UnitID, study string, e engine.EpochStats) error {
	return s.err(saveEpoch(context.Background(), s.conn(), id, study, e))
}

// EpochScores implements Store.
func (s *Postgres) EpochScores(ctx context.Context, name string) ([]sweeps.EpochScore, error) {
	e, err := epochScores(ctx, s.conn(), name)
	return e, s.err(err)
}

// UnitEpochScores implements Store.
func (s *Postgres) UnitEpochScores(ctx context.Context, id sweeps.UnitID) ([]sweeps.EpochScore, error) {
	e, err := unitEpochScores(ctx, s.conn(), id)
	return e, s.err(err)
}

// saveDecisions replaces a study's decisions with ds, upserting each (the
// shards of a study write the same ones, perhaps at once).
func saveDecisions(ctx context.Context, c conn, study string, ds []sweeps.Decision) error {
	for i, d := range ds {
		promoted := 0
		if d.Promoted {
			promoted = 1
		}
		if err := c.exec(ctx, `INSERT INTO mlpsweep_decisions (study, position, key, bracket, rung, epoch, score, cutoff, promoted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (study, position) DO UPDATE SET key = excluded.key, bracket = excluded.bracket, rung = excluded.rung, epoch = excluded.epoch,
				score = excluded.score, cutoff = excluded.cutoff, promoted = excluded.promoted`,
			study, i, d.Key, d.Bracket, d.Rung, d.Epoch, finite(d.Score), finite(d.Cutoff), promoted); err != nil {
			return err
		}
	}
	return c.exec(ctx, `DELETE FROM mlpsweep_decisions WHERE study = $1 AND position >= $2`, study, len(ds))
}

func decisions(ctx context.Context, c conn, study string) ([]sweeps.Decision, error) {
	rs, err := c.query(ctx, `SELECT position, key, bracket, rung, epoch, score, cutoff, promoted FROM mlpsweep_decisions WHERE study = $1 ORDER BY position`, study)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	ds := []sweeps.Decision{}
	for rs.Next() {
		var d sweeps.Decision
		var score, cutoff *float64
		var promoted int64
		if err := rs.Scan(&d.Order, &d.Key, &d.Bracket, &d.Rung, &d.Epoch, &score, &cutoff, &promoted); err != nil {
			return nil, err
		}
		d.Score, d.Cutoff, d.Promoted = math.Inf(-1), math.Inf(-1), promoted != 0
		if score != nil {
			d.Score = *score
		}
		if cutoff != nil {
			d.Cutoff = *cutoff
		}
		ds = append(ds, d)
	}
	return ds, rs.Err()
}

// SaveDecisions implements Store, in one transaction.
func (s *SQLite) SaveDecisions(study string, ds []sweeps.Decision) error {
	return s.err(s.inTx(func(c conn) error { return saveDecisions(context.Background(), c, study, ds) }))
}

// Decisions implements Store.
func (s *SQLite) Decisions(ctx context.Context, study string) ([]sweeps.Decision, error) {
	ds, err := decisions(ctx, s.conn(), study)
	return ds, s.err(err)
}

// SaveDecisions implements Store, in one transaction.
func (s *Postgres) SaveDecisions(study string, ds []sweeps.Decision) error {
	ctx := context.Background()
	return s.err(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return saveDecisions(ctx, pgConn{tx}, study, ds) }))
}

// Decisions implements Store.
func (s *Postgres) Decisions(ctx context.Context, study string) ([]sweeps.Decision, error) {
	ds, err := decisions(ctx, s.conn(), study)
	return ds, s.err(err)
}
