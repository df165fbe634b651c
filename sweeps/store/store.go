// Package store keeps a sweep's studies, their configurations and every
// work unit's state and result (learning curves included), so that a study
// resumes after any stop and any study reuses the units another one
// trained. Two databases implement the one Store interface with the same
// tables, migrations and SQL: SQLite, a file in the sweep's output
// directory (the default), and PostgreSQL, which several processes on
// several machines write at once.
//
// Open is the one way to open either, from a folder or a postgres:// URL;
// ReadOnly opens an existing store only to read it. Redact is how a store's
// URL is shown in any message, without its password. Every PostgreSQL
// statement has StatementTimeout; PostgreSQL's tables carry an mlpsweep_
// prefix (see Postgres).
//
// Besides a unit's final result, the store keeps its held-out accuracy
// and loss at every epoch as the epoch finishes (Store.SaveEpoch), so that
// a study's progress can be read before its units are done: EpochScores
// reads a study's, UnitEpochScores one unit's, as []sweeps.EpochScore
// (non-finite numbers as NaN). A pruned study's rung decisions are kept
// too (ReplaceDecisions, AppendDecisions, Decisions).
package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Store is a sweep database. Every error it returns names the database.
// Its methods are safe for concurrent use; on PostgreSQL, by several
// processes at once: every write is one upsert, never a read followed by
// a write.
type Store interface {
	// SaveStudy records a study and its configurations, replacing what an
	// earlier invocation of the same name recorded.
	SaveStudy(h sweeps.Header, points []study.Point) error
	// FinishRun records an invocation of the study as it ends: its
	// record (Run, Part) replaced with r's counts, r's seconds added. Each
	// process of a run (a shard) writes its own record; Study reads the
	// latest run's (sweeps.LatestRun).
	FinishRun(name string, r sweeps.RunRecord) error
	// MarkRunning records that a unit has started on this machine
	// (sweeps.ThisMachine: what a unit another process stores for it,
	// pruned, carries) with threads GEMM threads (a fused group's units
	// each carry the group's), unless it is already done, or stored
	// pruned: a study that trains another's pruned unit further leaves
	// that study's result in place (Find returns it, States counts it
	// pruned) until it stores its own, so that a run killed meanwhile
	// hides no result.
	MarkRunning(id sweeps.UnitID, study string, threads int) error
	// SaveUnit commits a unit's result at once: state done, failed when it
	// failed (see sweeps.UnitResult.Failed; failed units run again on the
	// next invocation), or pruned when a pruner stopped it (PrunedAt; a
	// study without a pruner trains it again). A failed or pruned result
	// never replaces a done one.
	SaveUnit(id sweeps.UnitID, study string, u sweeps.UnitResult) error
	// Unit returns a stored unit and its state: "done", "pruned" (with
	// PrunedAt set), "failed" (with Error set), or "" when it is not
	// stored or has not finished. It is Find(id, sweeps.Reuse{Strict:
	// true}): the unit of exactly id's engine identity.
	Unit(id sweeps.UnitID) (u sweeps.UnitResult, state string, err error)
	// Find returns the stored unit a study takes for id by the rule r
	// (sweeps.Reuse.Rank), and its state as Unit does: id's own when it
	// is done (or pruned, in a study with a pruner); unless strict,
	// otherwise one done under another ISA path of id's engine version
	// (its EngineVer and Machine say which), the first by engine identity
	// when several are; otherwise id's own failed or pruned one.
	Find(id sweeps.UnitID, r sweeps.Reuse) (u sweeps.UnitResult, state string, err error)
	// Study reads a study's header and configurations; name "" means the
	// study run most recently.
	Study(ctx context.Context, name string) (sweeps.Header, []study.Point, error)
	// StudyNames lists the stored studies, most recent first.
	StudyNames() ([]string, error)
	// States counts the stored units by state (running, done, failed); a
	// running unit of a stopped study was in flight when it stopped.
	States() (map[string]int, error)
	// SaveEpoch records epoch s of unit id as it finishes (see EpochScores),
	// replacing what an earlier run of the unit wrote for that epoch.
	SaveEpoch(id sweeps.UnitID, study string, s engine.EpochStats) error
	// EpochScores reads the per-epoch scores of a study's units (name ""
	// means the study run most recently), finished or not, in study order:
	// by configuration (its first position), fold, epoch. Only units of
	// the study's own engine identity have them (see epochs.go).
	EpochScores(ctx context.Context, name string) ([]sweeps.EpochScore, error)
	// UnitEpochScores reads the per-epoch scores of one unit, by epoch.
	UnitEpochScores(ctx context.Context, id sweeps.UnitID) ([]sweeps.EpochScore, error)
	// ReplaceDecisions records a pruned study's rung decisions (see
	// sweeps/prune), ds in the order made, replacing those it recorded
	// before: a run's first save, whose list is the study's whole. It
	// writes only the decisions that differ from the stored ones.
	ReplaceDecisions(study string, ds []sweeps.Decision) error
	// AppendDecisions records the decisions of ds (all of the study's,
	// in the order made) past those the store holds, which ds extends:
	// a run's later saves, each writing only its new decisions. It fails
	// when the store's last decision is not ds's at its position (another
	// process decided otherwise).
	AppendDecisions(study string, ds []sweeps.Decision) error
	// Decisions reads a study's rung decisions in the order made.
	Decisions(ctx context.Context, study string) ([]sweeps.Decision, error)
	// Name names the database in messages: a file's path, a URL without
	// its password.
	Name() string
	Close() error
}

// schemaVersion is the version of the tables, kept in the database (see
// migrations).
const schemaVersion = 12

// SchemaVersion is the schema version this mlpsweep writes and reads; a
// store written by a later one is refused with a message naming both.
const SchemaVersion = schemaVersion

// migrations[v] brings a database from schema version v to v+1; a new
// database runs them all. They are the one definition of the tables for
// both databases, named as in PostgreSQL (SQLite's names drop the
// mlpsweep_ prefix, see sqliteNames): the types are spelled so that SQLite gives them the
// affinity it gave the first release's INTEGER and REAL, and PostgreSQL
// 64-bit integers and doubles. Units are content-addressed by their
// sweeps.UnitID, so any study reuses any other's finished units; a study
// lists its configurations.
var migrations = []string{
	0: `
CREATE TABLE IF NOT EXISTS mlpsweep_study (
	name           TEXT PRIMARY KEY,
	folds          BIGINT NOT NULL,
	epochs         BIGINT NOT NULL,
	seed           BIGINT NOT NULL,
	split          TEXT NOT NULL,             -- how folds were drawn, e.g. "kfold k=4 seed=42"
	data           TEXT NOT NULL,             -- data set name and rows
	data_sha256    TEXT NOT NULL,
	engine_version TEXT NOT NULL,
	wall_seconds   DOUBLE PRECISION NOT NULL, -- summed over every invocation
	units_run      BIGINT NOT NULL,           -- by the last invocation
	units_reused   BIGINT NOT NULL,           -- by the last invocation
	updated        BIGINT NOT NULL            -- unix nanoseconds of the last invocation
);
CREATE TABLE IF NOT EXISTS mlpsweep_configs (
	study    TEXT NOT NULL,
	position BIGINT NOT NULL,
	axis     TEXT NOT NULL,
	value    TEXT NOT NULL,
	key      TEXT NOT NULL,
	params   TEXT NOT NULL, -- normalized engine.Config, JSON
	PRIMARY KEY (study, position)
);
CREATE TABLE IF NOT EXISTS mlpsweep_units (
	key            TEXT NOT NULL,
	fold           BIGINT NOT NULL,
	split          TEXT NOT NULL,
	seed           BIGINT NOT NULL,
	data_sha256    TEXT NOT NULL,
	engine_version TEXT NOT NULL,
	state          TEXT NOT NULL,          -- running (or interrupted), done, failed
	accuracy       DOUBLE PRECISION,
	val_loss       DOUBLE PRECISION,       -- NULL when NaN
	diverged       BIGINT NOT NULL DEFAULT 0,
	error          TEXT NOT NULL DEFAULT '',
	epochs         TEXT NOT NULL DEFAULT '[]', -- per-epoch metrics, JSON: []engine.EpochStats
	seconds        DOUBLE PRECISION,
	samples        BIGINT,
	study          TEXT NOT NULL,          -- the study that last ran it
	started        BIGINT,                 -- unix nanoseconds
	finished       BIGINT,
	PRIMARY KEY (key, fold, split, seed, data_sha256, engine_version)
);`,
	// A study kind's own per-unit record, JSON (UnitResult.Extra).
	1: `ALTER TABLE mlpsweep_units ADD COLUMN extra TEXT NOT NULL DEFAULT ''`,
	// Where a unit was trained (sweeps.Machine); empty for older units.
	2: `
ALTER TABLE mlpsweep_units ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE mlpsweep_units ADD COLUMN cpu TEXT NOT NULL DEFAULT '';
ALTER TABLE mlpsweep_units ADD COLUMN isa TEXT NOT NULL DEFAULT '';`,
	// PostgreSQL's tables take the mlpsweep_ prefix, renamed first
	// (prefixTables, before the migrations above run on an older
	// database); SQLite's keep their names (see SQLite).
	3: ``,
	// Every unit's held-out (and training) scores at every epoch, written
	// as each epoch finishes (SaveEpoch): what a pruner's rung decision, a
	// resumed study and a live view read before the unit is done. The
	// learning curve in units.epochs is the finished unit's copy.
	4: `
CREATE TABLE IF NOT EXISTS mlpsweep_epoch_scores (
	key            TEXT NOT NULL,
	fold           BIGINT NOT NULL,
	split          TEXT NOT NULL,
	seed           BIGINT NOT NULL,
	data_sha256    TEXT NOT NULL,
	engine_version TEXT NOT NULL,
	epoch          BIGINT NOT NULL,  -- 1-based
	accuracy       DOUBLE PRECISION, -- held-out; NULL when not scored or not finite
	loss           DOUBLE PRECISION, -- held-out
	train_accuracy DOUBLE PRECISION,
	train_loss     DOUBLE PRECISION,
	seconds        DOUBLE PRECISION,
	study          TEXT NOT NULL,    -- the study that wrote it
	written        BIGINT NOT NULL,  -- unix nanoseconds
	PRIMARY KEY (key, fold, split, seed, data_sha256, engine_version, epoch)
);`,
	// A pruned study's rung decisions (sweeps.Decision); units a pruner
	// stopped have state 'pruned'. A unit's training GEMM work
	// (UnitResult.GFLOP), for a search's compute.
	5: `
ALTER TABLE mlpsweep_units ADD COLUMN gflop DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS mlpsweep_decisions (
	study    TEXT NOT NULL,
	position BIGINT NOT NULL,           -- the order made, 0 first
	key      TEXT NOT NULL,
	bracket  BIGINT NOT NULL,
	rung     BIGINT NOT NULL,
	epoch    BIGINT NOT NULL,
	score    DOUBLE PRECISION,          -- NULL when not finite (a fold diverged)
	cutoff   DOUBLE PRECISION,
	promoted BIGINT NOT NULL,
	PRIMARY KEY (study, position)
);`,
	// A unit's training state at a pruner's rung (engine.Model.MemberState,
	// safetensors bytes), written by the queue's worker that trained it
	// there, read by the one that continues it after the rung's decision
	// (checkpoints.go). BYTEA has SQLite's BLOB-storing NUMERIC affinity.
	6: `
CREATE TABLE IF NOT EXISTS mlpsweep_checkpoints (
	key            TEXT NOT NULL,
	fold           BIGINT NOT NULL,
	split          TEXT NOT NULL,
	seed           BIGINT NOT NULL,
	data_sha256    TEXT NOT NULL,
	engine_version TEXT NOT NULL,
	epoch          BIGINT NOT NULL, -- epochs the state completed
	state          BYTEA NOT NULL,
	study          TEXT NOT NULL,   -- the study that wrote it
	written        BIGINT NOT NULL, -- unix nanoseconds
	PRIMARY KEY (key, fold, split, seed, data_sha256, engine_version, epoch)
);`,
	// A study's pruner and sampler (sweeps.Schedule, JSON; '' for a study
	// stored before, whose live ETA is then an upper bound) and when its
	// latest invocation started (0: not recorded), for a live view.
	7: `
ALTER TABLE mlpsweep_study ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
ALTER TABLE mlpsweep_study ADD COLUMN run_started BIGINT NOT NULL DEFAULT 0;`,
	// The GEMM threads a running unit trains with (MarkRunning; 0: not
	// recorded), for a live view's percent of peak: its epochs' training
	// seconds × threads are the core-seconds they took.
	8: `ALTER TABLE mlpsweep_units ADD COLUMN threads BIGINT NOT NULL DEFAULT 0`,
	// Each invocation's record (sweeps.RunRecord), apart: shards sharing
	// a store each overwrote the study's counts. The study's wall_seconds,
	// units_run and units_reused become one record and are no longer
	// written.
	9: `
CREATE TABLE IF NOT EXISTS mlpsweep_runs (
	study        TEXT NOT NULL,
	run          TEXT NOT NULL,             -- "sweep", "shards N", "queue"
	part         TEXT NOT NULL,             -- a shard's "I/N"; '' otherwise
	host         TEXT NOT NULL,
	seconds      DOUBLE PRECISION NOT NULL, -- wall time, summed over its invocations
	units_run    BIGINT NOT NULL,           -- by its last invocation
	units_reused BIGINT NOT NULL,
	finished     BIGINT NOT NULL,           -- unix nanoseconds of its last invocation
	PRIMARY KEY (study, run, part)
);
INSERT INTO mlpsweep_runs (study, run, part, host, seconds, units_run, units_reused, finished)
	SELECT name, 'sweep', '', '', wall_seconds, units_run, units_reused, updated FROM mlpsweep_study
	WHERE true -- SQLite reads ON CONFLICT after a bare FROM as a join's
	ON CONFLICT (study, run, part) DO NOTHING;`,
	// A unit stored pruned that a study trains further (another study's
	// stop, or the same study's earlier one): which study, since when and
	// on which machine (MarkRunning; storing the unit clears them), while
	// the stored result stays in place for the others: the unit is
	// running for that study on a live view, and the deeper stop the
	// queue's coordinator stores names the machine that trained it.
	10: `
ALTER TABLE mlpsweep_units ADD COLUMN retrain_study TEXT NOT NULL DEFAULT '';
ALTER TABLE mlpsweep_units ADD COLUMN retrain_started BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mlpsweep_units ADD COLUMN retrain_host TEXT NOT NULL DEFAULT '';
ALTER TABLE mlpsweep_units ADD COLUMN retrain_cpu TEXT NOT NULL DEFAULT '';
ALTER TABLE mlpsweep_units ADD COLUMN retrain_isa TEXT NOT NULL DEFAULT '';`,
	// The error of that study's retrain when it failed: the stored result
	// is kept (a failure is behind it, see unitReplaces), and the study
	// that failed reads the unit failed (retrainFailed).
	11: `ALTER TABLE mlpsweep_units ADD COLUMN retrain_error TEXT NOT NULL DEFAULT ''`,
}

// newerSchema is the error for a database written by a newer mlpsweep;
// instead says what else to use.
func newerSchema(version int, instead string) error {
	return fmt.Errorf("written by a newer mlpsweep (schema version %d; this one knows %d): use that version, or %s; nothing was written",
		version, schemaVersion, instead)
}

// The store's SQL is written once for both databases: $N placeholders,
// which SQLite reads as the N-th argument too, and upserts with a conflict
// target.

// reads counts the queries the stores of this process ran and the rows
// those returned (Reads).
var reads struct{ queries, rows atomic.Int64 }

// Reads returns how many queries the stores of this process have run and
// how many rows those returned (a single-row query counts one): the work
// a reader does, which a test can bound where a time would depend on the
// machine's load.
func Reads() (queries, rows int64) { return reads.queries.Load(), reads.rows.Load() }

// conn is what the store's SQL runs on: a SQLite database or transaction,
// or a PostgreSQL pool or transaction.
type conn interface {
	exec(ctx context.Context, query string, args ...any) error
	queryRow(ctx context.Context, query string, args ...any) row
	query(ctx context.Context, query string, args ...any) (rows, error)
}

type row interface{ Scan(dest ...any) error }

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

func saveStudy(ctx context.Context, c conn, h sweeps.Header, points []study.Point) error {
	// The upsert of the study's row comes first: it locks the row, so that
	// invocations saving the same study at once take turns.
	var schedule []byte
	if h.Schedule != (sweeps.Schedule{}) {
		var err error
		if schedule, err = json.Marshal(h.Schedule); err != nil {
			return err
		}
	}
	now := time.Now().UnixNano()
	err := c.exec(ctx, `INSERT INTO mlpsweep_study (name, folds, epochs, seed, split, data, data_sha256, engine_version, wall_seconds, units_run, units_reused, updated, schedule, run_started)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, 0, $9, $10, $11)
		ON CONFLICT (name) DO UPDATE SET folds = excluded.folds, epochs = excluded.epochs, seed = excluded.seed,
			split = excluded.split, data = excluded.data, data_sha256 = excluded.data_sha256,
			engine_version = excluded.engine_version, updated = excluded.updated,
			schedule = excluded.schedule, run_started = excluded.run_started`,
		h.Name, h.Folds, h.Epochs, h.Seed, h.Split, h.Data, h.DataSHA, h.Engine, now, string(schedule), cmp.Or(h.Started, now))
	if err != nil {
		return err
	}
	for i, pt := range points {
		params, err := json.Marshal(pt.Params)
		if err != nil {
			return err
		}
		if err := c.exec(ctx, `INSERT INTO mlpsweep_configs (study, position, axis, value, key, params) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (study, position) DO UPDATE SET axis = excluded.axis, value = excluded.value, key = excluded.key, params = excluded.params`,
			h.Name, i, pt.Axis, pt.Value, pt.Params.Key(), string(params)); err != nil {
			return err
		}
	}
	return c.exec(ctx, `DELETE FROM mlpsweep_configs WHERE study = $1 AND position >= $2`, h.Name, len(points))
}

func finishRun(ctx context.Context, c conn, name string, r sweeps.RunRecord) error {
	now := time.Now().UnixNano()
	if err := c.exec(ctx, `UPDATE mlpsweep_study SET updated = $1 WHERE name = $2`, now, name); err != nil {
		return err
	}
	return saveRun(ctx, c, name, r, now)
}

// saveRun writes run record r of study name, finished at finished.
func saveRun(ctx context.Context, c conn, name string, r sweeps.RunRecord, finished int64) error {
	return c.exec(ctx, `INSERT INTO mlpsweep_runs (study, run, part, host, seconds, units_run, units_reused, finished)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (study, run, part) DO UPDATE SET host = excluded.host, seconds = mlpsweep_runs.seconds + excluded.seconds,
			units_run = excluded.units_run, units_reused = excluded.units_reused, finished = excluded.finished`,
		name, r.Run, r.Part, r.Host, r.Seconds, r.UnitsRun, r.UnitsReused, finished)
}

// runRecords reads every run record of study name.
func runRecords(ctx context.Context, c conn, name string) ([]sweeps.RunRecord, error) {
	rs, err := c.query(ctx, `SELECT run, part, host, seconds, units_run, units_reused, finished FROM mlpsweep_runs WHERE study = $1`, name)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var records []sweeps.RunRecord
	for rs.Next() {
		var r sweeps.RunRecord
		if err := rs.Scan(&r.Run, &r.Part, &r.Host, &r.Seconds, &r.UnitsRun, &r.UnitsReused, &r.Finished); err != nil {
			return nil, err
		}
		records = append(records, r)
	}
	return records, rs.Err()
}

// markRunning is MarkRunning: a unit stored pruned keeps its result and
// is marked retrained (schema 11's retrain_ columns, a failure of an
// earlier retrain cleared); one done is left.
func markRunning(ctx context.Context, c conn, id sweeps.UnitID, study string, threads int) error {
	m := sweeps.ThisMachine()
	now := time.Now().UnixNano()
	err := c.exec(ctx, `INSERT INTO mlpsweep_units (key, fold, split, seed, data_sha256, engine_version, state, study, started, host, cpu, isa, threads)
		VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $10, $11, $12)
		ON CONFLICT (key, fold, split, seed, data_sha256, engine_version)
		DO UPDATE SET state = 'running', study = excluded.study, started = excluded.started,
			host = excluded.host, cpu = excluded.cpu, isa = excluded.isa, threads = excluded.threads
		WHERE mlpsweep_units.state NOT IN ('done', 'pruned')`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, study, now, m.Host, m.CPU, m.ISA, max(0, threads))
	if err != nil {
		return err
	}
	return c.exec(ctx, `UPDATE mlpsweep_units SET retrain_study = $7, retrain_started = $8, retrain_host = $9, retrain_cpu = $10, retrain_isa = $11, threads = $12, retrain_error = ''
		WHERE key = $1 AND fold = $2 AND split = $3 AND seed = $4 AND data_sha256 = $5 AND engine_version = $6 AND state = 'pruned'`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, study, now, m.Host, m.CPU, m.ISA, max(0, threads))
}

// unitReplaces is the one rule for which of two rows of a unit under one
// engine identity a store keeps, as an upsert's condition: the new row
// (excluded) replaces the stored one (mlpsweep_units) unless it is behind
// it, so that no finished result is lost to a worse one. Rows go
// running (interrupted) < failed < pruned < done, and a pruned row is
// behind one pruned later (more epochs: a deeper curve serves every
// pruner that stops at or before it). A row as far on replaces the stored
// one: the rerun's own result (a refit trained again, a failure's latest
// error). saveUnit and Merge both write by it.
const unitReplaces = `(CASE excluded.state WHEN 'done' THEN 3 WHEN 'pruned' THEN 2 WHEN 'failed' THEN 1 ELSE 0 END) >
		(CASE mlpsweep_units.state WHEN 'done' THEN 3 WHEN 'pruned' THEN 2 WHEN 'failed' THEN 1 ELSE 0 END)
	OR excluded.state = mlpsweep_units.state AND CASE WHEN excluded.state = 'pruned' -- a pruned row's epochs are an array
		THEN json_array_length(excluded.epochs::json) >= json_array_length(mlpsweep_units.epochs::json) ELSE true END`

// saveUnit stores u by unitReplaces. A failure that does not replace a
// unit stored pruned (the study retrained another stop further, or its
// own from scratch) is kept beside it as the retrain's (retrain_error):
// the study that failed reads the unit failed, the others the curve.
func saveUnit(ctx context.Context, c conn, id sweeps.UnitID, study string, u sweeps.UnitResult) error {
	epochs, err := json.Marshal(u.Epochs)
	if err != nil {
		return err
	}
	state := "done"
	switch {
	case u.Failed():
		state = "failed"
	case u.PrunedAt > 0:
		state = "pruned" // finished early: a study without a pruner trains it again
	}
	var valLoss any = u.ValLoss
	if math.IsNaN(u.ValLoss) {
		valLoss = nil
	}
	diverged := 0
	if u.Diverged {
		diverged = 1
	}
	finished := u.Finished
	if finished == 0 {
		finished = time.Now().UnixNano()
	}
	err = c.exec(ctx, `INSERT INTO mlpsweep_units (key, fold, split, seed, data_sha256, engine_version, state, accuracy, val_loss, diverged, error, epochs, extra, seconds, samples, study, finished, host, cpu, isa, gflop)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
		ON CONFLICT (key, fold, split, seed, data_sha256, engine_version)
		DO UPDATE SET state = excluded.state, accuracy = excluded.accuracy, val_loss = excluded.val_loss,
			diverged = excluded.diverged, error = excluded.error, epochs = excluded.epochs, extra = excluded.extra, seconds = excluded.seconds,
			samples = excluded.samples, study = excluded.study, finished = excluded.finished,
			host = excluded.host, cpu = excluded.cpu, isa = excluded.isa, gflop = excluded.gflop,
			retrain_study = '', retrain_started = 0, retrain_host = '', retrain_cpu = '', retrain_isa = '', retrain_error = ''
		WHERE `+unitReplaces,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, state, u.Accuracy, valLoss, diverged, u.Error,
		string(epochs), string(u.Extra), u.Seconds, u.Samples, study, finished, u.Host, u.CPU, u.ISA, u.GFLOP)
	if err != nil || state != "failed" {
		return err
	}
	// Stored failed unless a pruned row stayed: then the failure is its
	// retrain's, on the machine that ran it.
	return c.exec(ctx, `UPDATE mlpsweep_units SET retrain_study = $7, retrain_error = $8, retrain_host = $9, retrain_cpu = $10, retrain_isa = $11,
			retrain_started = CASE WHEN retrain_study = $7 THEN retrain_started ELSE 0 END
		WHERE key = $1 AND fold = $2 AND split = $3 AND seed = $4 AND data_sha256 = $5 AND engine_version = $6 AND state = 'pruned'`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, study, u.Error, u.Host, u.CPU, u.ISA)
}

// retrainFailed reports whether a row in state with retrain_study
// retrain and retrain_error errText is, for study, a failed retrain: a
// unit stored pruned that study trained further, and failed.
func retrainFailed(state, retrain, errText, study string) bool {
	return state == "pruned" && retrain == study && errText != ""
}

// unit reads the stored unit Find returns for id by rule r: of the rows
// r may take (id's own, and unless strict those of its engine version
// under another ISA path), not running, the one r ranks first (at most
// one per ISA path: few rows).
func unit(ctx context.Context, c conn, id sweeps.UnitID, r sweeps.Reuse) (u sweeps.UnitResult, state string, err error) {
	engine, args := `engine_version = $6`, []any{id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine}
	if !r.Strict {
		// Or under an engine identity "<version>/<another ISA>".
		prefix := sweeps.EngineVersionOf(id.Engine) + "/"
		engine = `(engine_version = $6 OR substr(engine_version, 1, $7) = $8)`
		args = append(args, utf8.RuneCountInString(prefix), prefix)
	}
	rs, err := c.query(ctx, `SELECT state, engine_version, accuracy, val_loss, diverged, error, epochs, extra, seconds, samples, host, cpu, isa, gflop, started, finished,
			retrain_study, retrain_error, retrain_started, retrain_host, retrain_cpu, retrain_isa FROM mlpsweep_units
		WHERE key = $1 AND fold = $2 AND split = $3 AND seed = $4 AND data_sha256 = $5 AND `+engine+` AND state != 'running'`, args...)
	if err != nil {
		return u, "", err
	}
	defer rs.Close()
	var valLoss *float64
	var started, finished *int64
	var diverged int64
	var epochs, extra string
	var best sweeps.Stored
	for rs.Next() {
		var v sweeps.UnitResult
		var s sweeps.Stored
		var vl *float64
		var st, fin *int64
		var div int64
		var ep, ex, retrain, retrainErr string
		var retrainStarted int64
		var m sweeps.Machine
		if err := rs.Scan(&s.State, &s.Engine, &v.Accuracy, &vl, &div, &v.Error, &ep, &ex, &v.Seconds, &v.Samples, &v.Host, &v.CPU, &v.ISA, &v.GFLOP, &st, &fin,
			&retrain, &retrainErr, &retrainStarted, &m.Host, &m.CPU, &m.ISA); err != nil {
			return u, "", err
		}
		if retrainFailed(s.State, retrain, retrainErr, r.Study) { // its failure, not another study's curve
			s.State, v = "failed", sweeps.UnitResult{Error: retrainErr, Machine: m}
			vl, div, ep, ex, st, fin = nil, 0, "[]", "", &retrainStarted, nil
		}
		if r.Better(s, best, id.Engine) {
			best, u, valLoss, diverged, epochs, extra, started, finished = s, v, vl, div, ep, ex, st, fin
		}
	}
	if err := rs.Err(); err != nil {
		return u, "", err
	}
	if best == (sweeps.Stored{}) {
		return sweeps.UnitResult{}, "", nil
	}
	state, u.EngineVer = best.State, best.Engine
	u.ValLoss = math.NaN()
	if valLoss != nil {
		u.ValLoss = *valLoss
	}
	u.Diverged = diverged != 0
	if started != nil {
		u.Started = *started
	}
	if finished != nil {
		u.Finished = *finished
	}
	if err := json.Unmarshal([]byte(epochs), &u.Epochs); err != nil {
		return u, "", fmt.Errorf("unit %s fold %d: epochs: %w", id.Key, id.Fold, err)
	}
	if state == "pruned" {
		u.PrunedAt = len(u.Epochs)
	}
	if extra != "" {
		u.Extra = json.RawMessage(extra)
	}
	u.Fold, u.DataSHA256 = id.Fold, id.Data
	return u, state, nil
}

func readStudy(ctx context.Context, c conn, name string) (sweeps.Header, []study.Point, error) {
	var h sweeps.Header
	q := `SELECT name, folds, epochs, seed, split, data, data_sha256, engine_version, schedule, run_started FROM mlpsweep_study `
	var r row
	if name == "" {
		r = c.queryRow(ctx, q+`ORDER BY updated DESC LIMIT 1`)
	} else {
		r = c.queryRow(ctx, q+`WHERE name = $1`, name)
	}
	var schedule string
	err := r.Scan(&h.Name, &h.Folds, &h.Epochs, &h.Seed, &h.Split, &h.Data, &h.DataSHA, &h.Engine, &schedule, &h.Started)
	if errors.Is(err, sql.ErrNoRows) { // pgx.ErrNoRows wraps it too
		if name == "" {
			return h, nil, fmt.Errorf("no study recorded yet")
		}
		return h, nil, fmt.Errorf("no study named %q", name)
	}
	if err != nil {
		return h, nil, err
	}
	if schedule != "" {
		if err := json.Unmarshal([]byte(schedule), &h.Schedule); err != nil {
			return h, nil, fmt.Errorf("study %q: its pruner and sampler: %w", h.Name, err)
		}
	}
	if err := checkHeader(h); err != nil {
		return h, nil, err
	}
	records, err := runRecords(ctx, c, h.Name)
	if err != nil {
		return h, nil, err
	}
	h.Runs, h.WallSeconds, h.UnitsRun, h.UnitsReused = sweeps.LatestRun(records)
	rs, err := c.query(ctx, `SELECT axis, value, key, params FROM mlpsweep_configs WHERE study = $1 ORDER BY position`, h.Name)
	if err != nil {
		return h, nil, err
	}
	defer rs.Close()
	var points []study.Point
	for rs.Next() {
		var pt study.Point
		var key, params string
		if err := rs.Scan(&pt.Axis, &pt.Value, &key, &params); err != nil {
			return h, nil, err
		}
		if err := json.Unmarshal([]byte(params), &pt.Params); err != nil {
			return h, nil, fmt.Errorf("config %s: %w", key, err)
		}
		if pt.Params.Key() != key {
			return h, nil, fmt.Errorf("config %s: stored params hash to %s", key, pt.Params.Key())
		}
		points = append(points, pt)
		if len(points) > study.MaxConfigurations {
			return h, nil, fmt.Errorf("study %q holds over %d configurations, the limit of a study", h.Name, study.MaxConfigurations)
		}
	}
	if err := rs.Err(); err != nil {
		return h, nil, err
	}
	keys := map[string]bool{}
	for _, pt := range points {
		keys[pt.Params.Key()] = true
	}
	if units := len(keys) * h.Folds; units > study.MaxUnits {
		return h, nil, fmt.Errorf("study %q: %d configurations × %d folds = %d trainings, over the limit of %d a study can hold", h.Name, len(keys), h.Folds, units, study.MaxUnits)
	}
	return h, points, nil
}

// checkHeader refuses a study row that no study file can produce, before
// anything is sized by it: a database is data, possibly shared, possibly
// edited. (Its name is shown escaped, and becomes a folder only through
// safename.)
func checkHeader(h sweeps.Header) error {
	switch {
	case h.Folds < 1 || h.Folds > study.MaxFolds: // a depth study's holdout is 1 fold
		return fmt.Errorf("study %q: %d folds (a study has 1 to %d)", h.Name, h.Folds, study.MaxFolds)
	case h.Epochs < 1 || h.Epochs > study.MaxEpochs:
		return fmt.Errorf("study %q: %d epochs (a study has 1 to %d)", h.Name, h.Epochs, study.MaxEpochs)
	}
	// The schedule a live view replays: bounded as a study file's, so that
	// a database that claims more cannot keep a reader at it.
	s := h.Schedule
	switch {
	case s.Trials < 0 || s.Trials > study.MaxConfigurations || s.Batch < 0 || s.Batch > study.MaxConfigurations:
		return fmt.Errorf("study %q: a sampler of %d configurations in batches of %d (a study has at most %d)", h.Name, s.Trials, s.Batch, study.MaxConfigurations)
	case s.Rows < 0 || s.Features < 0 || s.Classes < 0:
		return fmt.Errorf("study %q: data of %d rows, %d features and %d classes", h.Name, s.Rows, s.Features, s.Classes)
	}
	return nil
}

func studyNames(ctx context.Context, c conn) ([]string, error) {
	rs, err := c.query(ctx, `SELECT name FROM mlpsweep_study ORDER BY updated DESC`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var names []string
	for rs.Next() {
		var n string
		if err := rs.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rs.Err()
}

func states(ctx context.Context, c conn) (map[string]int, error) {
	rs, err := c.query(ctx, `SELECT state, count(*) FROM mlpsweep_units GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	m := map[string]int{}
	for rs.Next() {
		var state string
		var n int
		if err := rs.Scan(&state, &n); err != nil {
			return nil, err
		}
		m[state] = n
	}
	return m, rs.Err()
}

// Load reads a study from s (name "" means the study run most recently),
// with every unit stored so far that the study takes (Store.Find: its
// own, or unless strict one done under another ISA path of its engine
// version; sweeps.Reuse, Pruned when the study has a pruner).
// TotalSeconds, UnitsRun, UnitsReused and Runs are the study's run
// records' (sweeps.LatestRun): its time over every run, the latest run's
// counts summed over its records (its shards).
func Load(ctx context.Context, s Store, name string, strict bool) (sweeps.StudyResult, error) {
	h, points, err := s.Study(ctx, name)
	if err != nil {
		return sweeps.StudyResult{}, err
	}
	units := map[sweeps.UnitID]sweeps.UnitResult{}
	reuse := sweeps.Reuse{Strict: strict, Pruned: h.Schedule.Pruner != nil, Study: h.Name}
	for _, u := range sweeps.Plan(h, points) {
		res, state, err := s.Find(u.ID, reuse)
		if err != nil {
			return sweeps.StudyResult{}, err
		}
		if state != "" {
			units[u.ID] = res
		}
	}
	decisions, err := s.Decisions(ctx, h.Name)
	if err != nil {
		return sweeps.StudyResult{}, err
	}
	return sweeps.Assemble(h, points, units, decisions), nil
}

// LoadStudy reads a study from the store at where, a sweep folder or a
// PostgreSQL URL, opened ReadOnly (see Load).
func LoadStudy(ctx context.Context, where, name string, strict bool) (sweeps.StudyResult, error) {
	s, err := Open(ctx, where, ReadOnly)
	if err != nil {
		return sweeps.StudyResult{}, err
	}
	defer s.Close()
	return Load(ctx, s, name, strict)
}

// StudyNames lists the studies stored at where (see LoadStudy), most
// recent first.
func StudyNames(ctx context.Context, where string) ([]string, error) {
	s, err := Open(ctx, where, ReadOnly)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.StudyNames()
}
