package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// A study's decisions are a list in the order made (position 0 first).
// The pruner's callers save after each batch of decisions, ASHA after
// nearly every one, so the list grows by a few at a time: appendDecisions
// writes only the new ones (a study of D decisions costs O(D) row writes,
// not O(D²)); replaceDecisions is for a run's first save, when the list
// it holds is the study's whole (replayed from the scores, or taken back
// from the store) and may differ from what an earlier run stored.

// putDecision upserts decision d of study at position i (the shards of a
// study write the same ones, perhaps at once).
func putDecision(ctx context.Context, c conn, study string, i int, d sweeps.Decision) error {
	promoted := 0
	if d.Promoted {
		promoted = 1
	}
	return c.exec(ctx, `INSERT INTO mlpsweep_decisions (study, position, key, bracket, rung, epoch, score, cutoff, promoted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (study, position) DO UPDATE SET key = excluded.key, bracket = excluded.bracket, rung = excluded.rung, epoch = excluded.epoch,
			score = excluded.score, cutoff = excluded.cutoff, promoted = excluded.promoted`,
		study, i, d.Key, d.Bracket, d.Rung, d.Epoch, finite(d.Score), finite(d.Cutoff), promoted)
}

// replaceDecisions makes ds the study's decisions: it writes the
// positions whose stored decision differs (a run that replays the same
// decisions writes none) and deletes those past the end.
func replaceDecisions(ctx context.Context, c conn, study string, ds []sweeps.Decision) error {
	stored, err := decisions(ctx, c, study)
	if err != nil {
		return err
	}
	for i, d := range ds {
		if i < len(stored) && sameDecision(stored[i], d) {
			continue
		}
		if err := putDecision(ctx, c, study, i, d); err != nil {
			return err
		}
	}
	if len(stored) <= len(ds) {
		return nil
	}
	return c.exec(ctx, `DELETE FROM mlpsweep_decisions WHERE study = $1 AND position >= $2`, study, len(ds))
}

// sameDecision reports whether a and b are the same decision as stored
// (a non-finite score or cutoff reads back as −Inf).
func sameDecision(a, b sweeps.Decision) bool {
	stored := func(x float64) float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return math.Inf(-1)
		}
		return x
	}
	return a.Key == b.Key && a.Bracket == b.Bracket && a.Rung == b.Rung && a.Epoch == b.Epoch && a.Promoted == b.Promoted &&
		stored(a.Score) == stored(b.Score) && stored(a.Cutoff) == stored(b.Cutoff)
}

// appendDecisions stores the decisions of ds past those the store holds
// for the study, which must be ds's first ones: it checks one stored
// decision against ds (the last stored, or, when the store holds more
// than ds, as a shard behind the others does, the one at ds's last
// position) by its configuration, rung and verdict, and fails when they
// differ (another process decided the study's rungs otherwise).
func appendDecisions(ctx context.Context, c conn, study string, ds []sweeps.Decision) error {
	const cols = `SELECT position, key, bracket, rung, epoch, promoted FROM mlpsweep_decisions WHERE study = $1`
	scan := func(r row) (int, sweeps.Decision, error) {
		var d sweeps.Decision
		var position, promoted int64
		err := r.Scan(&position, &d.Key, &d.Bracket, &d.Rung, &d.Epoch, &promoted)
		d.Promoted = promoted != 0
		if errors.Is(err, sql.ErrNoRows) {
			return -1, d, nil
		}
		return int(position), d, err
	}
	last, d, err := scan(c.queryRow(ctx, cols+` ORDER BY position DESC LIMIT 1`, study))
	if err != nil {
		return err
	}
	n := last + 1 // the decisions stored
	if n > len(ds) && len(ds) > 0 {
		if last, d, err = scan(c.queryRow(ctx, cols+` AND position = $2`, study, len(ds)-1)); err != nil {
			return err
		}
	}
	if at := min(n, len(ds)) - 1; at >= 0 {
		mine := ds[at]
		if last != at || d.Key != mine.Key || d.Bracket != mine.Bracket || d.Rung != mine.Rung || d.Epoch != mine.Epoch || d.Promoted != mine.Promoted {
			return fmt.Errorf("study %s: the store's decision %d (on configuration %.8s at epoch %d, %s) is not this run's (on %.8s at epoch %d, %s): "+
				"another process decides the study's rungs at the same time; stop one of them (or run this one under another name)",
				study, at, d.Key, d.Epoch, d.Verdict(), mine.Key, mine.Epoch, mine.Verdict())
		}
	}
	for i := n; i < len(ds); i++ {
		if err := putDecision(ctx, c, study, i, ds[i]); err != nil {
			return err
		}
	}
	return nil
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

// ReplaceDecisions implements Store, in one transaction.
func (s *SQLite) ReplaceDecisions(study string, ds []sweeps.Decision) error {
	return s.err(s.inTx(func(c conn) error { return replaceDecisions(context.Background(), c, study, ds) }))
}

// AppendDecisions implements Store, in one transaction.
func (s *SQLite) AppendDecisions(study string, ds []sweeps.Decision) error {
	return s.err(s.inTx(func(c conn) error { return appendDecisions(context.Background(), c, study, ds) }))
}

// Decisions implements Store.
func (s *SQLite) Decisions(ctx context.Context, study string) ([]sweeps.Decision, error) {
	ds, err := decisions(ctx, s.conn(), study)
	return ds, s.err(err)
}

// ReplaceDecisions implements Store, in one transaction.
func (s *Postgres) ReplaceDecisions(study string, ds []sweeps.Decision) error {
	ctx := context.Background()
	return s.err(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return replaceDecisions(ctx, pgConn{tx}, study, ds) }))
}

// AppendDecisions implements Store, in one transaction.
func (s *Postgres) AppendDecisions(study string, ds []sweeps.Decision) error {
	ctx := context.Background()
	return s.err(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return appendDecisions(ctx, pgConn{tx}, study, ds) }))
}

// Decisions implements Store.
func (s *Postgres) Decisions(ctx context.Context, study string) ([]sweeps.Decision, error) {
	ds, err := decisions(ctx, s.conn(), study)
	return ds, s.err(err)
}
