package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// TestPostgresTablesBesideUsers: mlpsweep's tables in PostgreSQL cannot
// collide with a user's: a database that already holds tables named
// study, configs and units (and their primary keys) gets its own
// mlpsweep_ tables, and the user's are left as they were.
func TestPostgresTablesBesideUsers(t *testing.T) {
	url := storetest.Postgres(t)
	storetest.Exec(t, url, `CREATE TABLE study (id BIGINT PRIMARY KEY, mine TEXT)`,
		`CREATE TABLE configs (id BIGINT PRIMARY KEY)`, `CREATE TABLE units (id BIGINT PRIMARY KEY)`,
		`INSERT INTO study VALUES (1, 'the user''s')`)
	s := mustOpen(t, func(url string) (Store, error) { return Open(context.Background(), url) }, url)
	defer s.Close()
	h := sweeps.Header{Name: "st", Folds: 1, Epochs: 1, Seed: 1, Split: "sp", Data: "d", DataSHA: "d", Engine: "e"}
	if err := s.SaveStudy(h, []study.Point{}); err != nil {
		t.Fatal(err)
	}
	id := sweeps.UnitID{Key: "k", Split: "sp", Seed: 1, Data: "d", Engine: "e"}
	if err := s.SaveUnit(id, "st", sweeps.UnitResult{Accuracy: 0.5, Epochs: nil}); err != nil {
		t.Fatal(err)
	}
	var mine string
	var n int
	storetest.QueryRow(t, url, `SELECT mine FROM study WHERE id = 1`, &mine)
	storetest.QueryRow(t, url, `SELECT count(*) FROM mlpsweep_units`, &n)
	if mine != "the user's" || n != 1 {
		t.Errorf("user's row %q, %d mlpsweep units", mine, n)
	}
}

// TestPostgresPrefixMigration: a database written at schema 3 (tables
// without the prefix) opens, its tables and their primary keys renamed in
// the migration, its units still there.
func TestPostgresPrefixMigration(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		url := storetest.Postgres(t)
		storetest.Exec(t, url, sqliteNames.Replace(migrations[0]+";"+migrations[1]+";"+migrations[2]),
			`INSERT INTO units (key, fold, split, seed, data_sha256, engine_version, state, accuracy, epochs, seconds, samples, study, isa) VALUES ('k', 0, 'sp', 1, 'd', 'e', 'done', 0.75, '[]', 1, 10, 'st', 'avx2')`,
			`CREATE TABLE mlpsweep_schema (version BIGINT NOT NULL)`, `INSERT INTO mlpsweep_schema VALUES (3)`)
		var opts []Option
		if readOnly {
			opts = append(opts, ReadOnly)
		}
		s, err := Open(context.Background(), url, opts...)
		if err != nil {
			t.Fatal(err)
		}
		u, state, err := s.Unit(sweeps.UnitID{Key: "k", Split: "sp", Seed: 1, Data: "d", Engine: "e"})
		s.Close()
		if err != nil || state != "done" || u.Accuracy != 0.75 || u.ISA != "avx2" {
			t.Errorf("read only %v: unit %+v %q %v", readOnly, u, state, err)
		}
		var tables, indexes string
		storetest.QueryRow(t, url, `SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = current_schema()`, &tables)
		storetest.QueryRow(t, url, `SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = current_schema()`, &indexes)
		if tables != "mlpsweep_checkpoints,mlpsweep_configs,mlpsweep_decisions,mlpsweep_epoch_scores,mlpsweep_runs,mlpsweep_schema,mlpsweep_study,mlpsweep_units" ||
			indexes != "mlpsweep_checkpoints_pkey,mlpsweep_configs_pkey,mlpsweep_decisions_pkey,mlpsweep_epoch_scores_pkey,mlpsweep_runs_pkey,mlpsweep_study_pkey,mlpsweep_units_pkey" {
			t.Errorf("tables %s, indexes %s", tables, indexes)
		}
		if v := schemaOf(t, backends[1], url); v != schemaVersion {
			t.Errorf("schema %d", v)
		}
	}
}

// TestPostgresReadOnly: a store opened ReadOnly creates nothing in an
// empty database (ErrNoStore, naming it without the password) and
// refuses to write.
func TestPostgresReadOnly(t *testing.T) {
	url := storetest.Postgres(t)
	_, err := Open(context.Background(), url, ReadOnly)
	if !errors.Is(err, ErrNoStore) || !strings.HasPrefix(err.Error(), dbName(backends[1], url)+": ") {
		t.Errorf("empty database: %v", err)
	}
	var n int
	storetest.QueryRow(t, url, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`, &n)
	if n != 0 {
		t.Errorf("a read-only open created %d tables", n)
	}
	w := mustOpen(t, func(url string) (Store, error) { return Open(context.Background(), url) }, url)
	w.Close()
	r, err := Open(context.Background(), url, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.FinishRun("st", sweeps.LocalRun(1, 1, 1)); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write through a read-only store: %v", err)
	}
}

// TestPostgresStatementTimeout: a statement that waits (here on a lock a
// stuck client holds) fails after the statement timeout, saying so,
// instead of hanging.
func TestPostgresStatementTimeout(t *testing.T) {
	defer func(d time.Duration) { statementTimeout = d }(statementTimeout)
	statementTimeout = 300 * time.Millisecond
	url := storetest.Postgres(t)
	s, err := openPostgres(context.Background(), url, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE mlpsweep_units IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.States()
	// The error says the timeout ended it; the time only catches a hang
	// (the lock is held until the test ends), loosely for a loaded machine.
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 300ms") || time.Since(start) > 30*time.Second {
		t.Errorf("after %v: %v", time.Since(start), err)
	}
}
