package safename

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"mnist-lr", true},
		{"study 1", true},
		{"étude_β", true},
		{"a..b", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../../../x", false},
		{"a/b", false},
		{`a\b`, false},
		{"/etc", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\rb", false},
		{"a\tb", false},
		{"a\x1b[31mb", false},
		{"a\u200bb", false}, // zero-width space
		{"a\u202eb", false}, // right-to-left override
		{"\xff", false},
		{"-rf", false},
		{strings.Repeat("a", MaxLen), true},
		{strings.Repeat("a", MaxLen+1), false},
	} {
		err := Check(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		p, err := Join("out", tc.name)
		if tc.ok && (err != nil || filepath.Dir(p) != "out") {
			t.Errorf("Join(out, %q) = %q, %v: want a path directly in out", tc.name, p, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("Join(out, %q) = %q, want an error", tc.name, p)
		}
	}
}
