package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
)

// LockName is the lock file of an output directory: its one writer holds an
// OS advisory lock on it (flock) for as long as the store is open, and
// writes itself into it for the message another run gets. The OS releases
// the lock when the process ends, however it ends, so a killed sweep leaves
// no stale lock behind.
const LockName = "mlpsweep.lock"

// ErrLocked is returned (wrapped) by Open when another process holds the
// directory's lock.
var ErrLocked = errors.New("in use by another sweep")

// lockDir takes dir's lock without waiting and writes the holder into the
// lock file.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockName)
	f, err := atomicfile.OpenNoFollow(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if held {
		holder, _ := os.ReadFile(path)
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "a process that has not yet written its name"
		}
		return nil, fmt.Errorf("%s: %w (%s): wait for it to finish or stop it, or use another output directory", dir, ErrLocked, who)
	}
	cmd := strings.Join(os.Args, " ")
	if len(cmd) > 200 {
		cmd = cmd[:200] + "..."
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("pid %d on %s, started %s: %s\n", os.Getpid(), host, time.Now().Format(time.DateTime), cmd)
	if err = f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(holder), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// unlockDir empties the lock file and releases the lock.
func unlockDir(f *os.File) {
	f.Truncate(0)
	f.Close() // releases the flock
}
