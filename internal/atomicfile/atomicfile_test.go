package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	os.WriteFile(path, []byte("old"), 0o600)
	if err := Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(b) != "new" || st.Mode().Perm() != 0o644 {
		t.Fatalf("content %q mode %v", b, st.Mode())
	}
	if err := Write(filepath.Join(dir, "missing", "f"), []byte("x")); err == nil {
		t.Fatal("write into a missing folder succeeded")
	}

	// A rename that fails (the target is a non-empty directory) leaves the
	// target as it was and no temporary file behind.
	target := filepath.Join(dir, "busy")
	if err := os.MkdirAll(filepath.Join(target, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(target, []byte("x")); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("rename over a directory: err = %v", err)
	}
	if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
		t.Errorf("target damaged: %v %v", fi, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("directory holds %v, want f and busy only", entries)
	}
}

// A symbolic link planted where the file goes is replaced, not written
// through: the file it points at keeps its content.
func TestWriteReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	path := filepath.Join(dir, "model.st")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the link's target now holds %q", b)
	}
	if fi, _ := os.Lstat(path); !fi.Mode().IsRegular() {
		t.Errorf("%s is %v, want a regular file", path, fi.Mode())
	}
}

// Temporary files of a killed writer are removed by the next Write; a live
// writer's (locked) and files that merely look alike are kept.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.st")
	dead := filepath.Join(dir, ".ckpt.st.tmp-123")
	other := filepath.Join(dir, ".ckpt.st.tmp-abc")
	os.WriteFile(dead, []byte("half"), 0o600)
	os.WriteFile(other, []byte("x"), 0o600)
	live, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	holdTemp(live)
	if err := Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{dead: false, other: true, live.Name(): true, path: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}

func TestOpenNoFollow(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	link := filepath.Join(dir, "mlpsweep.lock")
	os.Symlink(victim, link)
	if f, err := OpenNoFollow(link, os.O_RDWR|os.O_CREATE, 0o644); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("through a symlink: err = %v", err)
		f.Close()
	}
	if err := CheckRegular(link, "a database file"); err == nil || err.Error() != link+" is a symbolic link (not followed), not a database file: move it aside" || !errors.Is(err, ErrNotRegular) {
		t.Errorf("CheckRegular(symlink) = %v", err)
	}
	// In words, not as the mode "d---------".
	if err := CheckRegular(dir, "a database file"); err == nil || err.Error() != dir+" is a folder, not a database file: move it aside" || !errors.Is(err, ErrNotRegular) {
		t.Errorf("CheckRegular(folder) = %v", err)
	}
	if err := CheckRegular(filepath.Join(dir, "missing"), "a database file"); err != nil {
		t.Errorf("CheckRegular(missing) = %v", err)
	}
	if err := CheckRegular(victim, "a database file"); err != nil {
		t.Errorf("CheckRegular(file) = %v", err)
	}
	f, err := OpenNoFollow(filepath.Join(dir, "new"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim now holds %q", b)
	}
}

// RemoveTemps removes the temporary file of a Write in progress.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	live.add(filepath.Join(dir, ".f.tmp-1"))
	os.WriteFile(filepath.Join(dir, ".f.tmp-1"), nil, 0o644)
	if n := RemoveTemps(); n != 1 {
		t.Errorf("removed %d", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}

// Kind says what a file is in words, whatever its permission bits.
func TestKind(t *testing.T) {
	for m, want := range map[fs.FileMode]string{
		0o644:                             "a regular file",
		fs.ModeDir:                        "a folder",
		fs.ModeDir | 0o755:                "a folder",
		fs.ModeSymlink | 0o777:            "a symbolic link",
		fs.ModeNamedPipe:                  "a named pipe (FIFO)",
		fs.ModeSocket:                     "a socket",
		fs.ModeDevice | fs.ModeCharDevice: "a character device",
		fs.ModeDevice:                     "a block device",
		fs.ModeIrregular:                  "a special file",
	} {
		if got := Kind(m); got != want {
			t.Errorf("Kind(%v) = %q, want %q", m, got, want)
		}
	}
}
