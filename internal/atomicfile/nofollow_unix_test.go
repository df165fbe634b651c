//go:build linux || darwin

package atomicfile

import (
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
	if f, err := OpenNoFollow(p, os.O_RDWR|os.O_CREATE, 0o644); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: err = %v", err)
		f.Close()
	}
}
