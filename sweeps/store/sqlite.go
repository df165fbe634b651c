package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // database/sql driver "sqlite", pure Go
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// DBName is the database file a sweep keeps in its output directory.
const DBName = "mlpsweep.db"

// schema: units are content-addressed by unitID, so any study in the
// directory reuses any other's finished units; a study lists its configs.
const schema = `
CREATE TABLE IF NOT EXISTS study (
	name           TEXT PRIMARY KEY,
	folds          INTEGER NOT NULL,
	epochs         INTEGER NOT NULL,
	seed           INTEGER NOT NULL,
	split          TEXT NOT NULL,    -- how folds were drawn, e.g. "kfold k=4 seed=42"
	data           TEXT NOT NULL,    -- data set name and rows
	data_sha256    TEXT NOT NULL,
	engine_version TEXT NOT NULL,
	wall_seconds   REAL NOT NULL,    -- summed over every invocation
	units_run      INTEGER NOT NULL, -- by the last invocation
	units_reused   INTEGER NOT NULL, -- by the last invocation
	updated        INTEGER NOT NULL  -- unix nanoseconds of the last invocation
);
CREATE TABLE IF NOT EXISTS configs (
	study    TEXT NOT NULL,
	position INTEGER NOT NULL,
	axis     TEXT NOT NULL,
	value    TEXT NOT NULL,
	key      TEXT NOT NULL,
	params   TEXT NOT NULL, -- normalized engine.Config, JSON
	PRIMARY KEY (study, position)
);
CREATE TABLE IF NOT EXISTS units (
	key            TEXT NOT NULL,
	fold           INTEGER NOT NULL,
	split          TEXT NOT NULL,
	seed           INTEGER NOT NULL,
	data_sha256    TEXT NOT NULL,
	engine_version TEXT NOT NULL,
	state          TEXT NOT NULL, -- running (or interrupted), done, failed
	accuracy       REAL,
	val_loss       REAL,          -- NULL when NaN
	diverged       INTEGER NOT NULL DEFAULT 0,
	error          TEXT NOT NULL DEFAULT '',
	epochs         TEXT NOT NULL DEFAULT '[]', -- per-epoch metrics, JSON: []engine.EpochStats
	extra          TEXT NOT NULL DEFAULT '',   -- a study kind's own per-unit record, JSON (UnitResult.Extra)
	seconds        REAL,
	samples        INTEGER,
	study          TEXT NOT NULL,  -- the study that last ran it
	started        INTEGER,        -- unix nanoseconds
	finished       INTEGER,
	PRIMARY KEY (key, fold, split, seed, data_sha256, engine_version)
);`

// Store is a sweep output directory's database, opened by its one writer
// (Open, holding the directory's lock) or by a reader (OpenReader). Every
// error it returns names the database file.
type Store struct {
	db   *sql.DB
	path string
	lock *os.File // the writer's lock on dir/LockName; nil for a reader
}

// ErrCorrupt is returned (wrapped) when the database file is damaged or is
// not a SQLite database at all.
var ErrCorrupt = errors.New("not a readable mlpsweep database")

// Open opens dir/mlpsweep.db, creating the directory and the database if
// needed, as the directory's one writer: it holds the directory's lock
// until Close (ErrLocked when another process holds it), and checks the
// database's integrity before writing anything to it (ErrCorrupt).
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, DBName)
	s, err := open(path, true)
	if err != nil {
		unlockDir(lock)
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// OpenReader opens the existing dir/mlpsweep.db to read it, checking its
// integrity first (ErrCorrupt). It takes no lock, so it reads while a sweep
// writes; it writes nothing, except to bring a database written by an older
// mlpsweep up to the current schema.
func OpenReader(dir string) (*Store, error) {
	return open(filepath.Join(dir, DBName), false)
}

// open checks the database at path, then opens it for writing (creating
// it when missing) or for reading (it must exist).
func open(path string, writer bool) (*Store, error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Size() == 0:
		// SQLite would take an empty file for a new database: it is a lost one.
		return nil, corrupt(path, errors.New("empty file"), true)
	case err == nil:
		if err := checkIntegrity(path); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist) && !writer:
		return nil, fmt.Errorf("no sweep database in %s: %w", filepath.Dir(path), err)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}

	var db *sql.DB
	if writer {
		db, err = sqlOpen(path, "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	} else {
		// Read-write at the file level, so that closing the last connection
		// cleans up the write-ahead log as a writer's close does.
		db, err = sqlOpen(path, "_query_only=1")
	}
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path}
	version, err := s.version()
	if err == nil && version != schemaVersion {
		err = s.migrate(writer)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sqlOpen opens the database at path with SQLite URI parameters params.
// One connection: units commit one at a time, each in its own transaction.
func sqlOpen(path, params string) (*sql.DB, error) {
	// SQLite URI: '%', '?' and '#' in a file name must be escaped.
	name := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	db, err := sql.Open("sqlite", "file:"+name+"?_pragma=busy_timeout(10000)&"+params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// checkIntegrity runs SQLite's integrity_check on the existing database at
// path through a read-only connection, so a damaged file is left exactly as
// it is. integrity_check rather than quick_check: it also checks that every
// index matches its table (a unit missing from the primary-key index is
// what made a damaged database train and store units twice), and on a
// database of the seed study's size it takes milliseconds
// (BenchmarkIntegrityCheck).
func checkIntegrity(path string) error {
	db, err := sqlOpen(path, "mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var problems []string
	err = func() error {
		rows, err := db.Query(`PRAGMA integrity_check(10)`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			if line != "ok" {
				line = strings.TrimPrefix(line, "*** in database main ***\n")
				problems = append(problems, strings.ReplaceAll(line, "\n", "; "))
			}
		}
		return rows.Err()
	}()
	if err != nil && !isCorrupt(err) {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], "...")
		}
		return corrupt(path, errors.New(strings.Join(problems, "; ")), true)
	}
	return nil
}

// isCorrupt reports whether err is SQLite's report of a damaged file or of
// a file that is not a database.
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff // the primary code of an extended one
	return code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB
}

// corrupt is the error for a damaged database at path: which file, what
// was wrong, and how to go on. atOpen says that nothing was written to it.
func corrupt(path string, cause error, atOpen bool) error {
	mv := fmt.Sprintf("mv %s %s", shellQuote(path), shellQuote(path+".corrupt"))
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		// The write-ahead log belongs to the damaged file: a new database
		// must not find it.
		mv += fmt.Sprintf(" && mv %s %s", shellQuote(path+"-wal"), shellQuote(path+".corrupt-wal"))
	}
	written := ""
	if atOpen {
		written = "; nothing was written to it"
	}
	return fmt.Errorf("%s: %w (%v)%s. Restore a copy of it, or move it aside and run the sweep again, which trains every unit afresh: %s",
		path, ErrCorrupt, cause, written, mv)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

// err names the database in err, and says what to do when err is SQLite's
// report of a damaged file.
func (s *Store) err(err error) error {
	if err == nil {
		return nil
	}
	if isCorrupt(err) {
		return corrupt(s.path, err, false)
	}
	return fmt.Errorf("%s: %w", s.path, err)
}

// schemaVersion is the version of schema, kept in SQLite's user_version.
// Version 1 had no units.extra column.
const schemaVersion = 2

// version reads the database's schema version.
func (s *Store) version() (int, error) {
	var version int
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return 0, s.err(err)
	}
	if version > schemaVersion {
		return 0, fmt.Errorf("%s: written by a newer mlpsweep (schema version %d; this one knows %d): use that version, or another --out",
			s.path, version, schemaVersion)
	}
	return version, nil
}

// migrate creates the schema or brings an older database up to
// schemaVersion. A reader does it through a connection of its own, the
// one write a reader makes.
func (s *Store) migrate(writer bool) error {
	db := s.db
	if !writer {
		var err error
		if db, err = sqlOpen(s.path, "_txlock=immediate"); err != nil {
			return err
		}
		defer db.Close()
	}
	return s.err(migrate(db))
}

// migrate creates the schema or brings an older database up to
// schemaVersion, in one immediate transaction: the version it reads is the
// one it changes.
func migrate(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version, tables int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'units'`).Scan(&tables); err != nil {
		return err
	}
	if tables == 1 && version < 2 {
		if _, err := tx.Exec(`ALTER TABLE units ADD COLUMN extra TEXT NOT NULL DEFAULT ''`); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(schema); err != nil {
		return err
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database, then releases a writer's lock.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.lock != nil {
		unlockDir(s.lock)
		s.lock = nil
	}
	return s.err(err)
}

// SaveStudy records a study and its configurations, replacing what an
// earlier invocation of the same name recorded.
func (s *Store) SaveStudy(h sweeps.Header, points []study.Point) (err error) {
	defer func() { err = s.err(err) }()
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.Exec(`INSERT INTO study (name, folds, epochs, seed, split, data, data_sha256, engine_version, wall_seconds, units_run, units_reused, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?)
		ON CONFLICT (name) DO UPDATE SET folds = excluded.folds, epochs = excluded.epochs, seed = excluded.seed,
			split = excluded.split, data = excluded.data, data_sha256 = excluded.data_sha256,
			engine_version = excluded.engine_version, updated = excluded.updated`,
		h.Name, h.Folds, h.Epochs, h.Seed, h.Split, h.Data, h.DataSHA, h.Engine, time.Now().UnixNano())
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM configs WHERE study = ?`, h.Name); err != nil {
		return err
	}
	for i, pt := range points {
		params, err := json.Marshal(pt.Params)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO configs (study, position, axis, value, key, params) VALUES (?, ?, ?, ?, ?, ?)`,
			h.Name, i, pt.Axis, pt.Value, pt.Params.Key(), string(params)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// FinishRun adds an invocation's wall time and counts to the study.
func (s *Store) FinishRun(name string, wall float64, run, reused int) error {
	_, err := s.db.Exec(`UPDATE study SET wall_seconds = wall_seconds + ?, units_run = ?, units_reused = ?, updated = ? WHERE name = ?`,
		wall, run, reused, time.Now().UnixNano(), name)
	return s.err(err)
}

// MarkRunning records that a unit has started, unless it is already finished.
func (s *Store) MarkRunning(id sweeps.UnitID, study string) error {
	_, err := s.db.Exec(`INSERT INTO units (key, fold, split, seed, data_sha256, engine_version, state, study, started)
		VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)
		ON CONFLICT DO UPDATE SET state = 'running', study = excluded.study, started = excluded.started
		WHERE state != 'done'`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, study, time.Now().UnixNano())
	return s.err(err)
}

// SaveUnit commits a unit's result in one transaction: state done, or
// failed when it failed (see sweeps.UnitResult.Failed; failed units run
// again on the next invocation).
func (s *Store) SaveUnit(id sweeps.UnitID, study string, u sweeps.UnitResult) (err error) {
	defer func() { err = s.err(err) }()
	epochs, err := json.Marshal(u.Epochs)
	if err != nil {
		return err
	}
	state := "done"
	if u.Failed() {
		state = "failed"
	}
	var valLoss any = u.ValLoss
	if math.IsNaN(u.ValLoss) {
		valLoss = nil
	}
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.Exec(`INSERT INTO units (key, fold, split, seed, data_sha256, engine_version, state, accuracy, val_loss, diverged, error, epochs, extra, seconds, samples, study, finished)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET state = excluded.state, accuracy = excluded.accuracy, val_loss = excluded.val_loss,
			diverged = excluded.diverged, error = excluded.error, epochs = excluded.epochs, extra = excluded.extra, seconds = excluded.seconds,
			samples = excluded.samples, study = excluded.study, finished = excluded.finished`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine, state, u.Accuracy, valLoss, u.Diverged, u.Error,
		string(epochs), string(u.Extra), u.Seconds, u.Samples, study, time.Now().UnixNano())
	if err != nil {
		return err
	}
	return tx.Commit()
}

// Unit returns a stored unit and its state: "done", "failed" (with Error
// set), or "" when it is not stored or has not finished.
func (s *Store) Unit(id sweeps.UnitID) (u sweeps.UnitResult, state string, err error) {
	defer func() { err = s.err(err) }()
	var valLoss sql.NullFloat64
	var epochs, extra string
	err = s.db.QueryRow(`SELECT state, accuracy, val_loss, diverged, error, epochs, extra, seconds, samples FROM units
		WHERE key = ? AND fold = ? AND split = ? AND seed = ? AND data_sha256 = ? AND engine_version = ? AND state != 'running'`,
		id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine).
		Scan(&state, &u.Accuracy, &valLoss, &u.Diverged, &u.Error, &epochs, &extra, &u.Seconds, &u.Samples)
	if errors.Is(err, sql.ErrNoRows) {
		return u, "", nil
	}
	if err != nil {
		return u, "", err
	}
	u.ValLoss = math.NaN()
	if valLoss.Valid {
		u.ValLoss = valLoss.Float64
	}
	if err := json.Unmarshal([]byte(epochs), &u.Epochs); err != nil {
		return u, "", fmt.Errorf("unit %s fold %d: epochs: %w", id.Key, id.Fold, err)
	}
	if extra != "" {
		u.Extra = json.RawMessage(extra)
	}
	u.Fold, u.EngineVer, u.DataSHA256 = id.Fold, id.Engine, id.Data
	return u, state, nil
}

// Study reads a study's header and configurations; name "" means the study
// run most recently.
func (s *Store) Study(ctx context.Context, name string) (_ sweeps.Header, _ []study.Point, err error) {
	defer func() { err = s.err(err) }()
	var h sweeps.Header
	q := `SELECT name, folds, epochs, seed, split, data, data_sha256, engine_version, wall_seconds, units_run, units_reused FROM study `
	var row *sql.Row
	if name == "" {
		row = s.db.QueryRowContext(ctx, q+`ORDER BY updated DESC LIMIT 1`)
	} else {
		row = s.db.QueryRowContext(ctx, q+`WHERE name = ?`, name)
	}
	err = row.Scan(&h.Name, &h.Folds, &h.Epochs, &h.Seed, &h.Split, &h.Data, &h.DataSHA, &h.Engine, &h.WallSeconds, &h.UnitsRun, &h.UnitsReused)
	if errors.Is(err, sql.ErrNoRows) {
		if name == "" {
			return h, nil, fmt.Errorf("no study recorded yet")
		}
		return h, nil, fmt.Errorf("no study named %q", name)
	}
	if err != nil {
		return h, nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT axis, value, key, params FROM configs WHERE study = ? ORDER BY position`, h.Name)
	if err != nil {
		return h, nil, err
	}
	defer rows.Close()
	var points []study.Point
	for rows.Next() {
		var pt study.Point
		var key, params string
		if err := rows.Scan(&pt.Axis, &pt.Value, &key, &params); err != nil {
			return h, nil, err
		}
		if err := json.Unmarshal([]byte(params), &pt.Params); err != nil {
			return h, nil, fmt.Errorf("config %s: %w", key, err)
		}
		if pt.Params.Key() != key {
			return h, nil, fmt.Errorf("config %s: stored params hash to %s", key, pt.Params.Key())
		}
		points = append(points, pt)
	}
	return h, points, rows.Err()
}

// StudyNames lists the stored studies, most recent first.
func (s *Store) StudyNames() (_ []string, err error) {
	defer func() { err = s.err(err) }()
	rows, err := s.db.Query(`SELECT name FROM study ORDER BY updated DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// LoadStudy reads a study from the database in dir (name "" means the
// study run most recently), with every unit stored so far. TotalSeconds is
// the wall time summed over all invocations; UnitsRun and UnitsReused are
// the last invocation's counts.
func LoadStudy(dir, name string) (sweeps.StudyResult, error) {
	s, err := OpenReader(dir)
	if err != nil {
		return sweeps.StudyResult{}, err
	}
	defer s.Close()
	h, points, err := s.Study(context.Background(), name)
	if err != nil {
		return sweeps.StudyResult{}, err
	}
	units := map[sweeps.UnitID]sweeps.UnitResult{}
	for _, u := range sweeps.Plan(h, points) {
		res, state, err := s.Unit(u.ID)
		if err != nil {
			return sweeps.StudyResult{}, err
		}
		if state != "" {
			units[u.ID] = res
		}
	}
	return sweeps.Assemble(h, points, units), nil
}

// StudyNames lists the studies stored in dir, most recent first.
func StudyNames(dir string) ([]string, error) {
	s, err := OpenReader(dir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.StudyNames()
}

// States counts the stored units by state (running, done, failed); a
// running unit of a stopped study was in flight when it stopped.
func (s *Store) States() (_ map[string]int, err error) {
	defer func() { err = s.err(err) }()
	rows, err := s.db.Query(`SELECT state, count(*) FROM units GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	states := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		states[state] = n
	}
	return states, rows.Err()
}
