package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestPostgresURLs: what is not a postgres:// URL is refused before
// anything connects (ErrBadURL, a usage error), without showing the
// password; a URL without connect_timeout gets ConnectTimeout.
func TestPostgresURLs(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"out/mlpsweep.db", `not a PostgreSQL URL: "out/mlpsweep.db": want postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`},
		{"mysql://u:secret@h/db", `"mysql://u:xxxxx@h/db"`},
		{"postgres://u:secret@h:port/db", "invalid port"},
		{"postgres://u:secret@h/db?sslmode=sometimes", "sslmode is invalid"},
		{"postgres://u:secret@h/db?connect_timeout=soon", "invalid connect_timeout"},
	} {
		_, _, err := ParsePostgresURL(c.url)
		if !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v, want ErrBadURL saying %q and not the password", c.url, err, c.want)
		}
		if _, err := openPostgres(context.Background(), c.url, false); !errors.Is(err, ErrBadURL) {
			t.Errorf("openPostgres(%s): %v, want ErrBadURL", c.url, err)
		}
	}
	cfg, name, err := ParsePostgresURL("postgresql://me:secret@db.example:6543/sweeps?sslmode=disable")
	if err != nil || name != "postgres://me@db.example:6543/sweeps" || cfg.ConnConfig.ConnectTimeout != ConnectTimeout {
		t.Errorf("name %q, timeout %v (%v)", name, cfg.ConnConfig.ConnectTimeout, err)
	}
	if cfg, _, _ := ParsePostgresURL("postgres://me@h/db?connect_timeout=2"); cfg.ConnConfig.ConnectTimeout != 2*time.Second {
		t.Errorf("connect_timeout=2 gives %v", cfg.ConnConfig.ConnectTimeout)
	}
}

// TestPostgresUnreachable: a port nobody listens on, and a server that
// accepts connections but never answers, are errors that say what to do,
// within the connect timeout.
func TestPostgresUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := l.Addr().String()
	defer l.Close()
	go func() {
		var held []net.Conn // accept, and say nothing
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l2.Addr().String()
	l2.Close()

	for _, c := range []struct {
		url  string
		wait time.Duration
	}{
		// Refused at once, and given up after the URL's 1 s: bounds under
		// the default ConnectTimeout (5 s) that a waiting or retrying
		// connect would reach, loose for a loaded machine.
		{"postgres://u:secret@" + closed + "/db", 4 * time.Second},
		{"postgres://u:secret@" + silent + "/db?connect_timeout=1", 4 * time.Second},
	} {
		start := time.Now()
		s, err := openPostgres(context.Background(), c.url, false)
		if err == nil {
			s.Close()
		}
		took := time.Since(start)
		_, name, _ := ParsePostgresURL(c.url)
		if err == nil || !strings.HasPrefix(err.Error(), name+": cannot connect") || !strings.Contains(err.Error(), "start PostgreSQL there, or fix the host and port") ||
			strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v", c.url, err)
		}
		if took > c.wait {
			t.Errorf("%s: gave up after %v, want within %v", c.url, took, c.wait)
		}
	}
}

// TestPostgresRefusesWrongPassword: a role with a password, given the
// wrong one, and a database that does not exist: errors that name the
// user or database and what to do.
func TestPostgresRefusesWrongPassword(t *testing.T) {
	url := storetest.Postgres(t)
	role := fmt.Sprintf("mlpsweep_pw_%d", rand.Int64())
	storetest.Exec(t, url, `CREATE ROLE `+role+` LOGIN PASSWORD 'right-one'`)
	t.Cleanup(func() { storetest.Exec(t, storetest.AdminURL(t), `DROP ROLE IF EXISTS `+role) })

	_, err := openPostgres(context.Background(), storetest.WithUser(t, url, role, "wrong-one"), false)
	if err == nil || !strings.Contains(err.Error(), `PostgreSQL refused user "`+role+`"`) || !strings.Contains(err.Error(), "password authentication failed") ||
		!strings.Contains(err.Error(), "fix the user or password in the URL") || strings.Contains(err.Error(), "wrong-one") {
		t.Errorf("wrong password: %v", err)
	}
	// The right password gets in: the role may connect, and may not create
	// the tables in the public schema that a superuser owns.
	s, err := openPostgres(context.Background(), storetest.WithUser(t, url, role, "right-one"), false)
	if err == nil {
		s.Close()
		t.Fatal("a role without CREATE on the schema created the tables")
	} else if !strings.Contains(err.Error(), "permission denied for schema public") {
		t.Errorf("right password: %v", err)
	}

	missing := storetest.WithDatabase(t, url, "mlpsweep_no_such_db")
	_, err = openPostgres(context.Background(), missing, false)
	if err == nil || !strings.Contains(err.Error(), `database "mlpsweep_no_such_db" does not exist: create it (createdb -h`) {
		t.Errorf("missing database: %v", err)
	}
}

// TestPostgresConcurrentWriters: processes that open one fresh database at
// once (migrating it), save the same study and train overlapping units, as
// queue workers do, all succeed, and every unit ends stored once, done.
func TestPostgresConcurrentWriters(t *testing.T) {
	url := storetest.Postgres(t)
	h, points := testStudy(t, "shared")
	units := sweeps.Plan(h, points)
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			s, err := openPostgres(context.Background(), url, false) // a pool of its own, as another process has
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for range 3 {
				if err := s.SaveStudy(h, points[:1+w%len(points)]); err != nil {
					errs <- err
					return
				}
			}
			if err := s.SaveStudy(h, points); err != nil {
				errs <- err
				return
			}
			for _, i := range rand.Perm(len(units)) {
				u := units[i]
				if err := s.MarkRunning(u.ID, h.Name, 1); err != nil {
					errs <- err
					return
				}
				if err := s.SaveUnit(u.ID, h.Name, sweeps.UnitResult{Accuracy: float64(i) / 8}); err != nil {
					errs <- err
					return
				}
			}
			errs <- s.FinishRun(h.Name, sweeps.LocalRun(1, len(units), 0))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, err := openPostgres(context.Background(), url, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	states, err := s.States()
	if err != nil || len(states) != 1 || states["done"] != len(units) {
		t.Errorf("states %v (%v), want %d done", states, err, len(units))
	}
	r, err := Load(context.Background(), s, h.Name, false)
	if err != nil || len(r.Configs) != len(points) || r.TotalSeconds != writers {
		t.Fatalf("%d configs, %v s (%v)", len(r.Configs), r.TotalSeconds, err)
	}
	for i, u := range units {
		got, state, err := s.Unit(u.ID)
		if err != nil || state != "done" || got.Accuracy != float64(i)/8 {
			t.Errorf("unit %d: %q %v (%v)", i, state, got.Accuracy, err)
		}
	}
}

// TestPostgresSaveUnitTx: a unit saved in the caller's transaction is
// stored when it commits, and not when it rolls back.
func TestPostgresSaveUnitTx(t *testing.T) {
	s, err := openPostgres(context.Background(), storetest.Postgres(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, commit := range []bool{false, true} {
		id := sweeps.UnitID{Key: "k", Fold: 1, Split: fmt.Sprint(commit)}
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveUnitTx(ctx, tx, id, "st", sweeps.UnitResult{Accuracy: 0.5}); err != nil {
			t.Fatal(err)
		}
		if _, state, _ := s.Unit(id); state != "" {
			t.Errorf("visible before the transaction ends: %q", state)
		}
		end := tx.Rollback
		if commit {
			end = tx.Commit
		}
		if err := end(ctx); err != nil {
			t.Fatal(err)
		}
		if _, state, err := s.Unit(id); err != nil || (state == "done") != commit {
			t.Errorf("commit %v: state %q (%v)", commit, state, err)
		}
	}
}
