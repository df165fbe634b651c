//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package atomicfile

import (
	"io/fs"
	"os"
	"time"
)

// renameOpen: the OS renames a file that is open (Windows does not).
const renameOpen = false

func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, NotRegular(path, fi.Mode(), "a regular file", "move it aside")
	}
	return os.OpenFile(path, flag, perm)
}

func holdTemp(*os.File) {}

// abandoned: without flock, a temporary file untouched for an hour is taken
// for a dead writer's.
func abandoned(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && time.Since(fi.ModTime()) > time.Hour
}
