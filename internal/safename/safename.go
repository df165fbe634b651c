// Package safename is the one way a name that comes from outside the
// command line (a study's name from its file or from a shared store, a
// depth study's name) becomes part of a path: it must be a single, plain
// path element, so that it cannot climb out of the output folder (..),
// reach another one (a separator) or hide in a listing (control
// characters).
package safename

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen bounds a name's length in bytes; file systems take 255.
const MaxLen = 200

// Check says why name cannot be a file or folder name, or returns nil. It
// refuses, rather than cleans, so that two different names never land in
// one folder: the empty name, "." and "..", a name with a slash, a
// backslash or a NUL, a control or otherwise invisible character, a name
// that is not UTF-8, starts with '-' (it would read as a flag in a shell)
// or is longer than MaxLen bytes.
func Check(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("the name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("name %q is not a folder name", name)
	case len(name) > MaxLen:
		return fmt.Errorf("name %.40q… is %d bytes long (the limit is %d)", name, len(name), MaxLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not UTF-8 text", name)
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("name %q starts with '-'", name)
	}
	for _, r := range name {
		switch {
		case r == '/' || r == '\\':
			return fmt.Errorf("name %q holds a path separator (%q): give a plain name", name, r)
		case unicode.IsControl(r) || (!unicode.IsPrint(r) && r != ' '):
			return fmt.Errorf("name %q holds the control or invisible character %U", name, r)
		}
	}
	return nil
}

// Join returns dir/name after Check(name).
func Join(dir, name string) (string, error) {
	if err := Check(name); err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}
