package store

import (
	"errors"
	"strings"
	"testing"
)

// TestRedact feeds Redact every form of connection string pgx accepts, and
// malformed ones, each with the planted password s3cr3t (or a part of it):
// it must never come out, and what is not a password stays readable.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://sweep:s3cr3t@db:5432/sweeps", "postgres://sweep:xxxxx@db:5432/sweeps"},
		{"postgresql://sweep:s3cr3t@db/sweeps?sslmode=disable", "postgresql://sweep:xxxxx@db/sweeps?sslmode=disable"},
		{"POSTGRES://sweep:s3cr3t@db/sweeps", "POSTGRES://sweep:xxxxx@db/sweeps"},
		{"postgres://sweep@db/sweeps", "postgres://sweep@db/sweeps"},
		{"postgres://db/sweeps?user=sweep&password=s3cr3t&sslmode=require", "postgres://db/sweeps?user=sweep&password=xxxxx&sslmode=require"},
		{"postgres://db/sweeps?pass%77ord=s3cr3t", "postgres://db/sweeps?pass%77ord=xxxxx"},
		{"postgres://db/sweeps?sslpassword=s3cr3t", "postgres://db/sweeps?sslpassword=xxxxx"},
		// malformed URLs: a bad port, an unescaped '@' or '/' or '?' in the password
		{"postgres://sweep:s3cr3t@db:port/sweeps", "postgres://sweep:xxxxx@db:port/sweeps"},
		{"postgres://sweep:s3@cr3t@db/sweeps", "postgres://sweep:xxxxx@db/sweeps"},
		{"postgres://sweep:s3/cr3t@db/sweeps", "postgres://sweep:xxxxx@db/sweeps"},
		{"postgres://sweep:s3?cr3t@db/sweeps", "postgres://sweep:xxxxx@db/sweeps"},
		{"postgres://sweep:s3cr3t@", "postgres://sweep:xxxxx@"},
		{"mysql://sweep:s3cr3t@db/sweeps", "mysql://sweep:xxxxx@db/sweeps"},
		// keyword/value
		{"host=db user=sweep password=s3cr3t dbname=sweeps", "host=db user=sweep password=xxxxx dbname=sweeps"},
		{"host=db password = s3cr3t dbname=sweeps", "host=db password = xxxxx dbname=sweeps"},
		{"host=db password='s3 cr3t' dbname=sweeps", "host=db password=xxxxx dbname=sweeps"},
		{`host=db password='s3\'cr3t' dbname=sweeps`, "host=db password=xxxxx dbname=sweeps"},
		{`host=db password=s3\ cr3t dbname=sweeps`, "host=db password=xxxxx dbname=sweeps"},
		{"host=db PASSWORD=s3cr3t", "host=db PASSWORD=xxxxx"},
		{"host=db\tpassword=s3cr3t\n", "host=db\tpassword=xxxxx\n"},
		{"sslpassword=s3cr3t host=db", "sslpassword=xxxxx host=db"},
		// malformed keyword/value: an unterminated quote, a key without '='
		{"host=db password='s3cr3t", "host=db password=xxxxx"},
		{"host=db password s3cr3t", "host=db password=xxxxx"},
		{"s3cr3t", "s3cr3t"}, // a bare word is no connection string: nothing says it is a password
	} {
		got := Redact(tc.in)
		if got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if tc.in != "s3cr3t" && (strings.Contains(got, "cr3t") || strings.Contains(got, "s3")) {
			t.Errorf("Redact(%q) = %q leaks the password", tc.in, got)
		}
	}
}

// TestParsePostgresURLHidesPassword: the usage errors for strings that are
// not a valid postgres:// URL (a keyword/value string, a malformed URL)
// never hold the password.
func TestParsePostgresURLHidesPassword(t *testing.T) {
	for _, in := range []string{
		"host=db user=sweep password=s3cr3t dbname=sweeps",
		"host=db password='s3 cr3t'",
		"postgres://sweep:s3cr3t@db:port/sweeps",
		"postgres://sweep:s3cr3t@db/sweeps?sslmode=bogus",
		"postgres://sweep:s3%cr3t@db/sweeps",
		"postgres://sweep:s3cr3t@[::1/sweeps",
	} {
		_, _, err := ParsePostgresURL(in)
		if !errors.Is(err, ErrBadURL) {
			t.Errorf("ParsePostgresURL(%q) = %v, want ErrBadURL", in, err)
			continue
		}
		if strings.Contains(err.Error(), "cr3t") {
			t.Errorf("ParsePostgresURL(%q): message %q leaks the password", in, err)
		}
	}
}

// TestRedactKeepsTheRest: every form of connection string loses its password, and
// nothing else.
func TestRedactKeepsTheRest(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"postgresql://u:secret@h/db?sslmode=disable", "postgresql://u:xxxxx@h/db?sslmode=disable"},
		{"postgres://u:se@cr:et@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u:secret@h:port/db", "postgres://u:xxxxx@h:port/db"},
		{"postgres://u@h/db?password=secret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db", "postgres://h/db"},
		{"mysql://u:secret@h/db", "mysql://u:xxxxx@h/db"},
		{"host=h user=u password=secret dbname=db", "host=h user=u password=xxxxx dbname=db"},
		{"host=h password = 'se cret\\' x' dbname=db", "host=h password = xxxxx dbname=db"},
		{"PASSWORD=secret", "PASSWORD=xxxxx"},
		{"out/seed", "out/seed"},
		{"", ""},
	} {
		got := Redact(c.in)
		if got != c.want || strings.Contains(got, "secret") || strings.Contains(got, "cret") {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
