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
	if m, ok := Replaceable(path); !ok {
		return NotRegular(path, m, "a regular file", "the tool writes regular files only; give the path of a file, or leave the flag out to write nothing")
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

// Replaceable reports whether Write may replace path: it does not exist,
// or is a regular file or a symbolic link (replaced, not followed). When
// not, m is what stands there (a device, FIFO, socket or folder).
func Replaceable(path string) (m fs.FileMode, ok bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, true
	}
	m = fi.Mode()
	return m, m&fs.ModeSymlink != 0 || m.IsRegular()
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

// Kind says in words what a file of mode m is, for a message about a path
// that is not the regular file it should be: "a folder", "a named pipe
// (FIFO)", … rather than the mode's "d---------".
func Kind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeDir != 0:
		return "a folder"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t != 0:
		return "a special file"
	}
	return "a regular file"
}

// NotRegular is the error for path, of mode m, found where the tool wants
// want ("a regular file", "a database file"): it says what path is in
// words (Kind) and what to do (todo), and wraps ErrNotRegular:
// "out/mlpsweep.db is a folder, not a database file: move it aside".
func NotRegular(path string, m fs.FileMode, want, todo string) error {
	return &notRegular{fmt.Sprintf("%s is %s, not %s: %s", path, kindNotFollowed(m), want, todo)}
}

// kindNotFollowed is Kind, saying of a symbolic link that it is not
// followed (it may point at a regular file).
func kindNotFollowed(m fs.FileMode) string {
	if m&fs.ModeSymlink != 0 {
		return "a symbolic link (not followed)"
	}
	return Kind(m)
}

type notRegular struct{ msg string }

func (e *notRegular) Error() string { return e.msg }
func (e *notRegular) Unwrap() error { return ErrNotRegular }

// OpenNoFollow opens path with flag (os.O_RDWR|os.O_CREATE, …) and perm
// without following a symbolic link at path, and refuses anything but a
// regular file (a planted FIFO or device), so that a file the tool keeps in
// place, such as a lock file, cannot be redirected elsewhere.
func OpenNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := openNoFollow(path, flag, perm)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, NotRegular(path, fi.Mode(), "a regular file", "move it aside")
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = NotRegular(path, fi.Mode(), "a regular file", "move it aside")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckRegular returns nil when path does not exist or is a regular file,
// and an error wrapping ErrNotRegular when it is a symbolic link or
// anything else (NotRegular, saying it is not want: "a database file"):
// for files a library opens by name (SQLite's database and its -wal and
// -shm files).
func CheckRegular(path, want string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return NotRegular(path, fi.Mode(), want, "move it aside")
	}
	return nil
}
