//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// renameOpen: the OS renames a file that is open (Windows does not).
const renameOpen = true

func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	// O_NONBLOCK: opening a planted FIFO must not wait for a writer.
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// holdTemp takes an exclusive lock on a writer's temporary file until it
// is closed, so RemoveStale leaves it alone; the OS drops the lock when
// the writer dies.
func holdTemp(f *os.File) { flock(f, syscall.LOCK_EX|syscall.LOCK_NB) }

// abandoned reports whether no live process holds the temporary file at p.
func abandoned(p string) bool {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return flock(f, syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
