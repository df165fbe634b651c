package store

import (
	"strings"
	"testing"
)

// TestRedact: every form of connection string loses its password, and
// nothing else.
func TestRedact(t *testing.T) {
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
