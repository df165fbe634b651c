package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite" // database/sql driver "sqlite", pure Go
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// DBName is the database file a sweep keeps in its output directory.
const DBName = "mlpsweep.db"

// SQLite is a sweep output directory's database, the default Store,
// opened by its one writer (holding the directory's lock) or by a reader
// (Open with ReadOnly). Every error it returns names the database file.
//
// Its tables keep the names the first release gave them (study, configs,
// units), without PostgreSQL's mlpsweep_ prefix: the file is mlpsweep's
// alone, no user table can collide there, and renaming them would rewrite
// every existing sweep folder's database for nothing (see sqliteNames).
type SQLite struct {
	db   *sql.DB
	path string
	lock *os.File // the writer's lock on dir/LockName; nil for a reader
}

// ErrCorrupt is returned (wrapped) when the database file is damaged or is
// not a SQLite database at all.
var ErrCorrupt = errors.New("not a readable mlpsweep database")

// openSQLite opens dir/mlpsweep.db (see Open). A writer creates the
// directory and the database if needed and holds the directory's lock
// until Close (ErrLocked when another process holds it); a reader needs an
// existing database and takes no lock, so it reads while a sweep writes.
// Both check the database's integrity before anything else (ErrCorrupt).
// A reader writes nothing, except to bring a database written by an older
// mlpsweep up to the current schema.
func openSQLite(dir string, writer bool) (*SQLite, error) {
	path := filepath.Join(dir, DBName)
	if !writer {
		if err := checkFolder(dir); err != nil {
			return nil, err
		}
		return open(path, false)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := open(path, true)
	if err != nil {
		unlockDir(lock)
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// openSnapshot opens the existing dir/mlpsweep.db of a finished sweep to
// read it without writing anything, not even SQLite's shared-memory file,
// so that it works on a folder the user may only read (Open with
// Snapshot: merge's shards). The database must be complete in itself: a
// sweep that ended, however it ended, leaves it so unless it was killed
// mid-write, which leaves a write-ahead log; then it is opened as a
// ReadOnly reader, which needs write access to recover the log. The
// caller makes sure no sweep is writing it (the folder's lock is free).
// Like a reader it checks the database's integrity first; an older schema,
// which a reader would upgrade, is an error saying so.
func openSnapshot(dir string) (*SQLite, error) {
	if err := checkFolder(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, DBName)
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		s, err := openSQLite(dir, false)
		if err != nil {
			return nil, fmt.Errorf("%w (the database has a write-ahead log left by a sweep that was killed: recovering it needs write access to %s)", err, dir)
		}
		return s, nil
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := atomicfile.CheckRegular(p, "a database file"); err != nil {
			return nil, err
		}
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w in %s (%w)", ErrNoStore, dir, err)
	case err != nil:
		return nil, err
	case fi.Size() == 0:
		return nil, corrupt(path, errors.New("empty file"), true)
	}
	// immutable: SQLite takes no locks and creates no -shm file; safe
	// because nothing writes the file while it is open.
	const params = "mode=ro&immutable=1"
	if err := checkIntegrity(path, params); err != nil {
		return nil, err
	}
	db, err := sqlOpen(path, params)
	if err != nil {
		return nil, err
	}
	s := &SQLite{db: db, path: path}
	version, err := s.version()
	if err == nil && version != schemaVersion {
		err = s.err(fmt.Errorf("schema version %d, written by an older mlpsweep: run mlpsweep report %s once to upgrade it (that writes to it)", version, dir))
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// checkFolder refuses a file given where a reader wants a sweep folder,
// which would otherwise fail as "lstat FILE/mlpsweep.db: not a directory".
func checkFolder(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%w in %s: it is a file, not a sweep folder (give the folder sweep --out wrote)", ErrNoStore, dir)
	}
	return nil
}

// open checks the database at path, then opens it for writing (creating
// it when missing) or for reading (it must exist).
func open(path string, writer bool) (*SQLite, error) {
	// SQLite opens these by name: a symbolic link planted at any of them
	// would have it write where the link points.
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := atomicfile.CheckRegular(p, "a database file"); err != nil {
			return nil, err
		}
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Size() == 0:
		// SQLite would take an empty file for a new database: it is a lost one.
		return nil, corrupt(path, errors.New("empty file"), true)
	case err == nil:
		if err := checkIntegrity(path, "mode=ro"); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist) && !writer:
		return nil, fmt.Errorf("%w in %s (%w)", ErrNoStore, filepath.Dir(path), err)
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
	s := &SQLite{db: db, path: path}
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
// path through a read-only connection (params), so a damaged file is left exactly as
// it is. integrity_check rather than quick_check: it also checks that every
// index matches its table (a unit missing from the primary-key index is
// what made a damaged database train and store units twice), and on a
// database of the seed study's size it takes milliseconds
// (BenchmarkIntegrityCheck).
func checkIntegrity(path, params string) error {
	db, err := sqlOpen(path, params)
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
func (s *SQLite) err(err error) error {
	if err == nil {
		return nil
	}
	if isCorrupt(err) {
		return corrupt(s.path, err, false)
	}
	return fmt.Errorf("%s: %w", s.path, err)
}

// version reads the database's schema version, kept in SQLite's
// user_version.
func (s *SQLite) version() (int, error) {
	var version int
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return 0, s.err(err)
	}
	if version > schemaVersion {
		return 0, s.err(newerSchema(version, "another --out"))
	}
	return version, nil
}

// migrate creates the schema or brings an older database up to
// schemaVersion. A reader does it through a connection of its own, the
// one write a reader makes.
func (s *SQLite) migrate(writer bool) error {
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
// one it changes. The first release left user_version 0 in a database
// that has the version-1 tables.
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
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'units'`).Scan(&tables); err != nil { // sqliteNames
		return err
	}
	if version == 0 && tables == 1 {
		version = 1
	}
	if version > schemaVersion { // another process's newer mlpsweep came first
		return newerSchema(version, "another --out")
	}
	for _, m := range migrations[version:] {
		if m == "" {
			continue
		}
		if _, err := tx.Exec(sqliteNames.Replace(m)); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Name is the database file's path.
func (s *SQLite) Name() string { return s.path }

// Close closes the database, then releases a writer's lock.
func (s *SQLite) Close() error {
	err := s.db.Close()
	if s.lock != nil {
		unlockDir(s.lock)
		s.lock = nil
	}
	return s.err(err)
}

// SaveStudy implements Store.
func (s *SQLite) SaveStudy(h sweeps.Header, points []study.Point) error {
	return s.err(s.inTx(func(c conn) error { return saveStudy(context.Background(), c, h, points) }))
}

// FinishRun implements Store.
func (s *SQLite) FinishRun(name string, r sweeps.RunRecord) error {
	return s.err(finishRun(context.Background(), s.conn(), name, r))
}

// MarkRunning implements Store.
func (s *SQLite) MarkRunning(id sweeps.UnitID, study string, threads int) error {
	return s.err(markRunning(context.Background(), s.conn(), id, study, threads))
}

// SaveUnit implements Store: one statement, committed when it returns.
func (s *SQLite) SaveUnit(id sweeps.UnitID, study string, u sweeps.UnitResult) error {
	return s.err(saveUnit(context.Background(), s.conn(), id, study, u))
}

// Unit implements Store.
func (s *SQLite) Unit(id sweeps.UnitID) (sweeps.UnitResult, string, error) {
	return s.Find(id, sweeps.Reuse{Strict: true})
}

// Find implements Store.
func (s *SQLite) Find(id sweeps.UnitID, r sweeps.Reuse) (sweeps.UnitResult, string, error) {
	u, state, err := unit(context.Background(), s.conn(), id, r)
	return u, state, s.err(err)
}

// Study implements Store.
func (s *SQLite) Study(ctx context.Context, name string) (sweeps.Header, []study.Point, error) {
	h, points, err := readStudy(ctx, s.conn(), name)
	return h, points, s.err(err)
}

// StudyNames implements Store.
func (s *SQLite) StudyNames() ([]string, error) {
	names, err := studyNames(context.Background(), s.conn())
	return names, s.err(err)
}

// States implements Store.
func (s *SQLite) States() (map[string]int, error) {
	m, err := states(context.Background(), s.conn())
	return m, s.err(err)
}

func (s *SQLite) conn() conn { return sqlConn{s.db} }

// inTx runs f in one (immediate) transaction.
func (s *SQLite) inTx(f func(conn) error) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(sqlConn{tx}); err != nil {
		return err
	}
	return tx.Commit()
}

// sqlConn runs the store's SQL on a database/sql database or transaction.
type sqlConn struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
}

// sqliteNames maps the store's table names, written as PostgreSQL's, to
// SQLite's (see SQLite).
var sqliteNames = strings.NewReplacer("mlpsweep_study", "study", "mlpsweep_configs", "configs", "mlpsweep_units", "units",
	"mlpsweep_epoch_scores", "epoch_scores", "mlpsweep_decisions", "decisions", "mlpsweep_runs", "runs",
	"::json", "") // SQLite's JSON functions read text as it is

// A SQLite statement needs no timeout of its own: the file is local, and
// busy_timeout bounds the wait for another connection's lock.

func (c sqlConn) exec(ctx context.Context, query string, args ...any) error {
	_, err := c.q.ExecContext(ctx, sqliteNames.Replace(query), args...)
	return err
}

func (c sqlConn) queryRow(ctx context.Context, query string, args ...any) row {
	reads.queries.Add(1)
	reads.rows.Add(1)
	return c.q.QueryRowContext(ctx, sqliteNames.Replace(query), args...)
}

func (c sqlConn) query(ctx context.Context, query string, args ...any) (rows, error) {
	reads.queries.Add(1)
	rs, err := c.q.QueryContext(ctx, sqliteNames.Replace(query), args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

func (r sqlRows) Next() bool {
	if !r.Rows.Next() {
		return false
	}
	reads.rows.Add(1)
	return true
}
