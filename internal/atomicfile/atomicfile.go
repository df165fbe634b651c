// Package atomicfile creates and replaces the files the tool writes beside
// user data so that a crash leaves the old content or the new, never a mix,
// and so that a symbolic link planted where a file goes is never followed:
// model files, checkpoints, predictions, ONNX exports and the study reports
// (Write), the lock file of an output folder (OpenNoFollow) and the
// database SQLite opens by name (CheckRegular).
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Write replaces path with data: it writes a temporary file in the same
// directory (mode 0644, created exclusively, so never through a link),
// syncs it and renames it over path, then syncs the directory so the
// rename survives a crash. The rename replaces a symbolic link at path
// rather than writing where it points. A device, FIFO, socket or folder at
// path is refused (ErrNotRegular): renamed over, a /dev/null given as an
// output would be replaced by a file for every program on the machine when
// run as root. On error path is untouched and the temporary file removed;
// temporary files of path left by a writer that was killed are removed
// first (RemoveStale).
func Write(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink == 0 && !fi.Mode().IsRegular() {
		return fmt.Errorf("write %s: %w (%v): the tool writes regular files only; give the path of a file, or leave the flag out to write nothing", path, ErrNotRegular, fi.Mode().Type())
	}
	RemoveStale(path)
	tmp, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	holdTemp(tmp)
	live.add(tmp.Name())
	defer func() {
		live.remove(tmp.Name())
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	// Renamed while still open where the OS allows it, so that its lock
	// (holdTemp) lasts until it is in place.
	if !renameOpen {
		if err = tmp.Close(); err != nil {
			return err
		}
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if renameOpen {
		if err = tmp.Close(); err != nil {
			return err
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// live holds the temporary files being written, for RemoveTemps.
var live = tempSet{names: map[string]bool{}}

type tempSet struct {
	mu    sync.Mutex
	names map[string]bool
}

func (s *tempSet) add(name string) {
	s.mu.Lock()
	s.names[name] = true
	s.mu.Unlock()
}

func (s *tempSet) remove(name string) {
	s.mu.Lock()
	delete(s.names, name)
	s.mu.Unlock()
}

// RemoveTemps removes the temporary files of the Writes in progress, for a
// process about to exit on a signal: the files they would replace stay as
// they were. It returns how many it removed.
func RemoveTemps() int {
	live.mu.Lock()
	defer live.mu.Unlock()
	n := 0
	for name := range live.names {
		if os.Remove(name) == nil {
			n++
		}
		delete(live.names, name)
	}
	return n
}

// tempPrefix is the name of path's temporary files before CreateTemp's
// random digits.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// RemoveStale removes the temporary files of path that a killed writer
// left behind (kill -9 between create and rename). A live writer holds a
// lock on its temporary file (where the OS has flock), so only the files of
// dead writers are removed; it reports how many.
func RemoveStale(path string) int {
	prefix := tempPrefix(path)
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		digits, ok := strings.CutPrefix(name, prefix)
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(filepath.Dir(path), name)
		if abandoned(p) && os.Remove(p) == nil {
			n++
		}
	}
	return n
}

// ErrNotRegular is returned (wrapped) when a path the tool creates or
// opens for writing is a symbolic link, a device, a pipe or a folder.
var ErrNotRegular = errors.New("not a regular file")

// OpenNoFollow opens path with flag (os.O_RDWR|os.O_CREATE, …) and perm
// without following a symbolic link at path, and refuses anything but a
// regular file (a planted FIFO or device), so that a file the tool keeps in
// place, such as a lock file, cannot be redirected elsewhere.
func OpenNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := openNoFollow(path, flag, perm)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s: %w: it is a symbolic link, which is not followed (remove it)", path, ErrNotRegular)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w (%v): remove it", path, ErrNotRegular, fi.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckRegular returns nil when path does not exist or is a regular file,
// and an error wrapping ErrNotRegular when it is a symbolic link or
// anything else: for files a library opens by name (SQLite's database and
// its -wal and -shm files).
func CheckRegular(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s: %w: it is a symbolic link, which is not followed (remove it)", path, ErrNotRegular)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s: %w (%v): remove it", path, ErrNotRegular, fi.Mode().Type())
	}
	return nil
}
