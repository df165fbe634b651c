//go:build linux || darwin

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A FIFO planted as the lock file is refused at once, not waited on.
func TestOpenNoFollowFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip(err)
	}
	if f, err := OpenNoFollow(p, os.O_RDWR|os.O_CREATE, 0o644); err == nil || err.Error() != p+" is a named pipe (FIFO), not a regular file: move it aside" {
		t.Errorf("FIFO: err = %v", err)
		f.Close()
	}
}

// Write refuses to rename over what is not a regular file (a FIFO here, as
// /dev/null would be a device): the node stays as it was.
func TestWriteRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	sub := filepath.Join(dir, "folder")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, sub} {
		before, _ := os.Lstat(p)
		err := Write(p, []byte("data"))
		if err == nil || !strings.HasPrefix(err.Error(), p+" is "+map[string]string{fifo: "a named pipe (FIFO)", sub: "a folder"}[p]+", not a regular file") ||
			!strings.Contains(err.Error(), "give the path of a file") || !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: err = %v", p, err)
		}
		if after, err := os.Lstat(p); err != nil || after.Mode() != before.Mode() {
			t.Errorf("%s: was %v, now %v (%v)", p, before.Mode(), after.Mode(), err)
		}
	}
	if n, _ := os.ReadDir(dir); len(n) != 2 {
		t.Errorf("temporary files left: %v", n)
	}
}
