package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// ConnectTimeout bounds connecting to PostgreSQL when the URL sets no
// connect_timeout: an unreachable server is an error within seconds, not
// a hang.
const ConnectTimeout = 5 * time.Second

// ErrBadURL is returned (wrapped) for a store URL that is not a valid
// postgres:// URL: a usage error, found before anything connects.
var ErrBadURL = errors.New("not a PostgreSQL URL")

// StatementTimeout bounds each of the store's statements on PostgreSQL
// (a context deadline, which pgx turns into a cancel request), so that a
// lost server or a lock held by a stuck client is an error, not a hang.
// The store's statements touch one row, or one study's rows; the longest,
// a count of every unit by state, takes well under a second on a million
// units. River's statements on the same pool keep River's own deadlines.
const StatementTimeout = 30 * time.Second

// statementTimeout is StatementTimeout, shortened by tests.
var statementTimeout = StatementTimeout

// Postgres is a sweep database in PostgreSQL: the same tables as SQLite's,
// written by any number of processes at once (each write one upsert or one
// transaction). Every error it returns names the database by its URL
// without the password.
//
// Its tables are mlpsweep_study, mlpsweep_configs and mlpsweep_units
// (and mlpsweep_schema, their version), in the connection's current
// schema beside whatever else the database holds: a prefix rather than a
// schema of their own, because a prefix needs no privilege beyond creating
// tables (CREATE SCHEMA needs the database's CREATE privilege, which a
// user given a database often lacks), keeps every statement the same text
// as SQLite's, and follows River's river_ tables in the same database.
type Postgres struct {
	pool *pgxpool.Pool
	name string // postgres://user@host:port/database
}

// IsPostgresURL reports whether s names a PostgreSQL database (the
// postgres:// or postgresql:// scheme), rather than SQLite's directory.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// ParsePostgresURL checks a postgres:// URL (pgx's form, libpq's
// parameters) without connecting, and returns the pool configuration and
// the database's name for messages. Its errors wrap ErrBadURL.
func ParsePostgresURL(url string) (*pgxpool.Config, string, error) {
	if !IsPostgresURL(url) {
		return nil, "", fmt.Errorf("%w: %q: want postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS]", ErrBadURL, Redact(url))
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's message quotes the URL, masked by its own rules; ours mask
		// more forms, so the message is built from the parts instead.
		return nil, "", fmt.Errorf("%w: %s: %v", ErrBadURL, Redact(url), parseCause(err))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	// The server ends the sessions of a machine that vanished (and
	// releases their locks: a queue worker's liveness lock, a job row
	// locked mid-transaction) after about 25 s of silence instead of the
	// OS's default of two hours. The URL's own settings win.
	for param, value := range serverKeepalives {
		if _, set := cfg.ConnConfig.RuntimeParams[param]; !set {
			cfg.ConnConfig.RuntimeParams[param] = value
		}
	}
	cc := cfg.ConnConfig
	name := fmt.Sprintf("postgres://%s@%s/%s", cc.User, net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))), cc.Database)
	return cfg, name, nil
}

// serverKeepalives are the server's TCP keepalive settings for
// mlpsweep's sessions: the first probe after 10 s of silence, then one
// every 5 s, the third unanswered ending the session. Sessions over a
// Unix socket ignore them.
var serverKeepalives = map[string]string{"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}

// openPostgres connects to the PostgreSQL database at url (a postgres://
// URL, see ParsePostgresURL) and creates the tables or brings them up to
// the current schema; readOnly, it creates none (ErrNoStore) and its
// connections refuse writes (see ReadOnly). It refuses, writing nothing,
// a database written by a newer mlpsweep, and says what to do when the
// server cannot be reached, refuses the user or password, or lacks the
// database.
func openPostgres(ctx context.Context, url string, readOnly bool) (*Postgres, error) {
	cfg, name, err := ParsePostgresURL(url)
	if err != nil {
		return nil, err
	}
	if readOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := &Postgres{pool: pool, name: name}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connectError(name, cfg.ConnConfig, err)
	}
	if err := s.migrate(ctx, readOnly); err != nil {
		pool.Close()
		return nil, s.err(err)
	}
	return s, nil
}

// connectError explains why connecting to the database failed and what to
// do about it.
func connectError(name string, cc *pgx.ConnConfig, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "28P01" || pe.Code == "28000": // invalid_password, invalid_authorization_specification
			return fmt.Errorf("%s: PostgreSQL refused user %q (%s): fix the user or password in the URL (or in ~/.pgpass), or have the database's owner grant access", name, cc.User, pe.Message)
		case pe.Code == "3D000": // invalid_catalog_name
			return fmt.Errorf("%s: %s: create it (createdb -h %s -p %d -U %s %s) or name an existing database in the URL", name, pe.Message, cc.Host, cc.Port, cc.User, cc.Database)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return fmt.Errorf("%s: cannot connect (%s): start PostgreSQL there, or fix the host and port in the URL; mlpsweep waits %v for a connection (the URL's connect_timeout=SECONDS sets it)",
		name, cause(err, cc.ConnectTimeout), cc.ConnectTimeout)
}

// cause is the gist of a failure to connect: the network's error, or
// that the server did not answer in time. pgconn's own error repeats it
// for every address and TLS mode it tried.
func cause(err error, timeout time.Duration) string {
	var ne *net.OpError
	switch {
	case errors.As(err, &ne):
		return ne.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %v", timeout)
	}
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// schemaLock is the key of the advisory lock that makes processes opening
// one database at once migrate it one after another.
const schemaLock = 0x6d6c7073776565 // "mlpswee"

// migrate creates the tables or brings them up to schemaVersion, kept in
// the table mlpsweep_schema. A database already at schemaVersion is only
// read; readOnly, one without mlpsweep's tables is ErrNoStore. Each
// statement has StatementTimeout, the wait for another process's
// migration included.
func (s *Postgres) migrate(ctx context.Context, readOnly bool) error {
	version, err := s.version(ctx, s.pool)
	if err != nil || version == schemaVersion {
		return err
	}
	if version == 0 && readOnly {
		return fmt.Errorf("%w here: nothing is stored in this database yet (a sweep with --store URL creates its tables)", ErrNoStore)
	}
	// Read-write even on a read-only store's connections: the one write
	// a reader makes.
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadWrite}, func(tx pgx.Tx) error {
		c := pgConn{tx}
		if err := c.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLock)); err != nil {
			return err
		}
		version, err := s.version(ctx, tx)
		if err != nil {
			return err
		}
		if version > 0 && version < prefixVersion {
			if err := c.exec(ctx, prefixTables); err != nil {
				return err
			}
		}
		for _, m := range migrations[version:] {
			if m == "" {
				continue
			}
			if err := c.exec(ctx, m); err != nil {
				return err
			}
		}
		return c.exec(ctx, `CREATE TABLE IF NOT EXISTS mlpsweep_schema (version BIGINT NOT NULL);
			DELETE FROM mlpsweep_schema;
			INSERT INTO mlpsweep_schema (version) VALUES (`+strconv.Itoa(schemaVersion)+`)`)
	})
}

// prefixVersion is the schema version whose PostgreSQL tables have the
// mlpsweep_ prefix; prefixTables renames an older database's tables (and
// their primary keys' indexes, which share the schema's namespace) to
// those names, before the older migrations, written with the new names,
// run on them.
const prefixVersion = 4

const prefixTables = `
ALTER TABLE study RENAME TO mlpsweep_study;
ALTER TABLE configs RENAME TO mlpsweep_configs;
ALTER TABLE units RENAME TO mlpsweep_units;
ALTER INDEX IF EXISTS study_pkey RENAME TO mlpsweep_study_pkey;
ALTER INDEX IF EXISTS configs_pkey RENAME TO mlpsweep_configs_pkey;
ALTER INDEX IF EXISTS units_pkey RENAME TO mlpsweep_units_pkey;`

// version reads the database's schema version: 0 for a database without
// mlpsweep's tables; an error for one written by a newer mlpsweep.
func (s *Postgres) version(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (int, error) {
	// A query of the catalog, not to_regclass: after waiting for another
	// process's migration, this sees the table it committed.
	ctx, cancel := context.WithTimeout(ctx, statementTimeout)
	defer cancel()
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'mlpsweep_schema')`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var version int
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM mlpsweep_schema`).Scan(&version); err != nil {
		return 0, err
	}
	if version > schemaVersion {
		return 0, newerSchema(version, "another database")
	}
	return version, nil
}

// err names the database in err, and says what a statement that timed
// out means.
func (s *Postgres) err(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer within %v (%w): is the server overloaded, or a table locked by a stuck client?", s.name, statementTimeout, err)
	}
	return fmt.Errorf("%s: %w", s.name, err)
}

// Name is the database's URL without its password.
func (s *Postgres) Name() string { return s.name }

// Close closes the connection pool.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

// SaveStudy implements Store, in one transaction.
func (s *Postgres) SaveStudy(h sweeps.Header, points []study.Point) error {
	ctx := context.Background()
	return s.err(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return saveStudy(ctx, pgConn{tx}, h, points) }))
}

// FinishRun implements Store.
func (s *Postgres) FinishRun(name string, r sweeps.RunRecord) error {
	return s.err(finishRun(context.Background(), s.conn(), name, r))
}

// MarkRunning implements Store.
func (s *Postgres) MarkRunning(id sweeps.UnitID, study string, threads int) error {
	return s.err(markRunning(context.Background(), s.conn(), id, study, threads))
}

// SaveUnit implements Store: one statement, committed when it returns.
func (s *Postgres) SaveUnit(id sweeps.UnitID, study string, u sweeps.UnitResult) error {
	return s.err(saveUnit(context.Background(), s.conn(), id, study, u))
}

// SaveUnitTx is SaveUnit inside the caller's transaction tx (on this
// database), so that the unit's result commits together with what else tx
// writes, a queue job's completion for one.
func (s *Postgres) SaveUnitTx(ctx context.Context, tx pgx.Tx, id sweeps.UnitID, study string, u sweeps.UnitResult) error {
	return s.err(saveUnit(ctx, pgConn{tx}, id, study, u))
}

// Unit implements Store.
func (s *Postgres) Unit(id sweeps.UnitID) (sweeps.UnitResult, string, error) {
	return s.Find(id, sweeps.Reuse{Strict: true})
}

// Find implements Store.
func (s *Postgres) Find(id sweeps.UnitID, r sweeps.Reuse) (sweeps.UnitResult, string, error) {
	u, state, err := unit(context.Background(), s.conn(), id, r)
	return u, state, s.err(err)
}

// Study implements Store.
func (s *Postgres) Study(ctx context.Context, name string) (sweeps.Header, []study.Point, error) {
	h, points, err := readStudy(ctx, s.conn(), name)
	return h, points, s.err(err)
}

// StudyNames implements Store.
func (s *Postgres) StudyNames() ([]string, error) {
	names, err := studyNames(context.Background(), s.conn())
	return names, s.err(err)
}

// States implements Store.
func (s *Postgres) States() (map[string]int, error) {
	m, err := states(context.Background(), s.conn())
	return m, s.err(err)
}

// Pool is the database's connection pool, for work that shares its
// transactions with the store's (see SaveUnitTx).
func (s *Postgres) Pool() *pgxpool.Pool { return s.pool }

func (s *Postgres) conn() conn { return pgConn{s.pool} }

// pgConn runs the store's SQL on a pgx pool or transaction.
type pgConn struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
}

// Each statement runs with StatementTimeout: a row's or rows' deadline
// ends when they are scanned or closed.

func (c pgConn) exec(ctx context.Context, query string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, statementTimeout)
	defer cancel()
	_, err := c.q.Exec(ctx, query, args...)
	return err
}

func (c pgConn) queryRow(ctx context.Context, query string, args ...any) row {
	reads.queries.Add(1)
	reads.rows.Add(1)
	ctx, cancel := context.WithTimeout(ctx, statementTimeout)
	return timedRow{c.q.QueryRow(ctx, query, args...), cancel}
}

func (c pgConn) query(ctx context.Context, query string, args ...any) (rows, error) {
	reads.queries.Add(1)
	ctx, cancel := context.WithTimeout(ctx, statementTimeout)
	rs, err := c.q.Query(ctx, query, args...)
	if err != nil {
		cancel()
		return nil, err
	}
	return timedRows{rs, cancel}, nil
}

type timedRow struct {
	pgx.Row
	cancel context.CancelFunc
}

func (r timedRow) Scan(dest ...any) error {
	defer r.cancel()
	return r.Row.Scan(dest...)
}

type timedRows struct {
	pgx.Rows
	cancel context.CancelFunc
}

func (r timedRows) Close() {
	r.Rows.Close()
	r.cancel()
}

func (r timedRows) Next() bool {
	if !r.Rows.Next() {
		return false
	}
	reads.rows.Add(1)
	return true
}

// connOf is what the store's SQL runs on in s, a store Open returned.
func connOf(s Store) (conn, error) {
	switch s := s.(type) {
	case *SQLite:
		return s.conn(), nil
	case *Postgres:
		return s.conn(), nil
	}
	return nil, fmt.Errorf("store: %T is not a store Open returns", s)
}

// MarkRunningAll is MarkRunning of each of ids, their statements sent
// together: one round trip to the server for a fused group's units.
func (s *Postgres) MarkRunningAll(ctx context.Context, ids []sweeps.UnitID, study string, threads int) error {
	return s.batch(ctx, func(c conn) error {
		for _, id := range ids {
			if err := markRunning(ctx, c, id, study, threads); err != nil {
				return err
			}
		}
		return nil
	})
}

// EpochRow is an epoch of a unit, for SaveEpochs.
type EpochRow struct {
	ID    sweeps.UnitID
	Study string
	Stats engine.EpochStats
}

// SaveEpochs is SaveEpoch of each row, their statements sent together (one
// round trip) and committed together.
func (s *Postgres) SaveEpochs(ctx context.Context, rows []EpochRow) error {
	return s.batch(ctx, func(c conn) error {
		for _, r := range rows {
			if err := saveEpoch(ctx, c, r.ID, r.Study, r.Stats); err != nil {
				return err
			}
		}
		return nil
	})
}

// batch sends the statements fill executes on its conn as one pgx.Batch:
// one round trip, one implicit transaction, the first error returned.
func (s *Postgres) batch(ctx context.Context, fill func(c conn) error) error {
	b := &pgx.Batch{}
	if err := fill(pgBatch{b}); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, statementTimeout)
	defer cancel()
	return s.err(s.pool.SendBatch(ctx, b).Close())
}

// pgBatch is a conn that queues statements in a pgx.Batch (batch sends
// it): it runs statements only, no queries.
type pgBatch struct{ b *pgx.Batch }

func (c pgBatch) exec(_ context.Context, query string, args ...any) error {
	c.b.Queue(query, args...)
	return nil
}

var errBatchQuery = errors.New("store: a query in a batch of statements")

func (c pgBatch) queryRow(context.Context, string, ...any) row { return errRow{errBatchQuery} }

func (c pgBatch) query(context.Context, string, ...any) (rows, error) { return nil, errBatchQuery }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
