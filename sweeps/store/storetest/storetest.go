// Package storetest gives tests a PostgreSQL database of their own on the
// cluster named by MLPSWEEP_TEST_POSTGRES (`make test` starts a throwaway
// one with .ci/with-postgres).
package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the URL of a PostgreSQL cluster tests may create databases
// on, as a superuser.
const Env = "MLPSWEEP_TEST_POSTGRES"

// AdminURL returns the cluster's URL, or skips the test, saying how to run
// it, when Env is unset.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		t.Skipf("%s is unset: run `make test`, or .ci/with-postgres go test ..., to test against PostgreSQL", Env)
	}
	return u
}

var databases atomic.Int64

// Postgres creates a fresh, empty database for the test and returns its
// URL; the database is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	name := fmt.Sprintf("mlpsweep_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, databases.Add(1))
	Exec(t, admin, `CREATE DATABASE `+name)
	t.Cleanup(func() {
		Exec(t, admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	return WithDatabase(t, admin, name)
}

// WithDatabase returns url naming database name instead of its own.
func WithDatabase(t testing.TB, u, name string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Path = "/" + name
	return p.String()
}

// WithUser returns url with another user and password.
func WithUser(t testing.TB, u, user, password string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.User = url.UserPassword(user, password)
	return p.String()
}

// WithApplication returns url with its sessions named name
// (application_name), for SessionsGone.
func WithApplication(t testing.TB, u, name string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set("application_name", name)
	p.RawQuery = q.Encode()
	return p.String()
}

// SessionsGone waits until the database at url has no session named name
// (see WithApplication): those of a process the test killed. Until each
// has ended, its server side may still commit a statement the process
// sent before it died, so what a test counts in the store right after a
// kill can be less than what is stored a moment later; once they are
// gone, the store holds all it ever will of that process. It fails the
// test when they are not gone within 30 s.
func SessionsGone(t testing.TB, u, name string) {
	t.Helper()
	ctx, c, done := connect(t, u) // itself named name when u is the process's URL
	defer done()
	var left []int
	for {
		left = left[:0]
		rs, err := c.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid != pg_backend_pid()`, name)
		if err == nil {
			var pid int
			_, err = pgx.ForEachRow(rs, []any{&pid}, func() error { left = append(left, pid); return nil })
		}
		if err == nil && len(left) == 0 {
			return
		}
		if err == nil {
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
				continue
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the sessions %q of a killed process (backends %v) did not end within 30 s", name, left)
		}
		t.Fatalf("waiting for the sessions %q to end: %v", name, err)
	}
}

// connect opens a connection to the database at url with a 30 s deadline;
// done closes it.
func connect(t testing.TB, url string) (context.Context, *pgx.Conn, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return ctx, c, func() { c.Close(ctx); cancel() }
}

// Exec runs SQL statements on the database at url.
func Exec(t testing.TB, url string, sql ...string) {
	t.Helper()
	ctx, c, done := connect(t, url)
	defer done()
	for _, q := range sql {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", strings.TrimSpace(q), err)
		}
	}
}

// QueryRow runs a query returning one row on the database at url and scans
// it into dest.
func QueryRow(t testing.TB, url, sql string, dest ...any) {
	t.Helper()
	ctx, c, done := connect(t, url)
	defer done()
	if err := c.QueryRow(ctx, sql).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
