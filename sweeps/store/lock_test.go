package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// lockChildEnv makes the test binary, re-executed by TestSecondWriterIsRefused,
// open the store in the directory it names as a sweep does, say so, and
// hold it until killed.
const lockChildEnv = "MLPSWEEP_STORE_LOCK_CHILD"

func holdStore(dir string) {
	s, err := openSQLite(dir, true)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Println("holding")
	io.Copy(io.Discard, os.Stdin) // until killed, or the parent's end of stdin closes
}

// TestSecondWriterIsRefused runs a writer in another process: a second
// writer fails at once naming the directory and that process, a report
// reads meanwhile, and once the holder is SIGKILLed (no cleanup of any
// kind) the lock is free.
func TestSecondWriterIsRefused(t *testing.T) {
	if dir := os.Getenv(lockChildEnv); dir != "" {
		holdStore(dir)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	dir := t.TempDir()
	seedDB(t, dir)

	child := exec.Command(os.Args[0], "-test.run=^TestSecondWriterIsRefused$", "-test.count=1")
	child.Env = append(os.Environ(), lockChildEnv+"="+dir)
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "holding\n" {
		t.Fatalf("child: %q", line)
	}

	s, err := openSQLite(dir, true)
	if err == nil {
		s.Close()
		t.Fatal("a second writer opened the store")
	}
	msg := err.Error()
	if !errors.Is(err, ErrLocked) || !strings.HasPrefix(msg, dir+": ") || !strings.Contains(msg, fmt.Sprintf("pid %d ", child.Process.Pid)) ||
		!strings.Contains(msg, "started ") {
		t.Errorf("second writer: %v; want ErrLocked naming %s and pid %d", err, dir, child.Process.Pid)
	}
	t.Log(msg)

	// A report reads while the sweep holds the directory.
	r, err := LoadStudy(context.Background(), dir, "", false)
	if err != nil || r.UnitsTotal != 168 || len(r.Configs) == 0 {
		t.Errorf("report during a sweep: %d units, %v", r.UnitsTotal, err)
	}

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	s, err = openSQLite(dir, true)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	holder, _ := os.ReadFile(filepath.Join(dir, LockName))
	if !strings.HasPrefix(string(holder), fmt.Sprintf("pid %d ", os.Getpid())) {
		t.Errorf("lock file says %q, want this process", holder)
	}
	s.Close()
}

// TestSecondOpenInProcess: flock locks belong to an open file, so two Opens
// in one process conflict too; Close releases the lock and empties the file.
func TestSecondOpenInProcess(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	dir := t.TempDir()
	s, err := openSQLite(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if s2, err := openSQLite(dir, true); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d ", os.Getpid())) {
		closeIf(s2)
		t.Errorf("second Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, LockName)); err != nil || len(b) != 0 {
		t.Errorf("lock file after Close: %q %v", b, err)
	}
	s, err = openSQLite(dir, true)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	s.Close()
}

// TestPlantedSymlinks: a symbolic link planted at the lock file or at the
// database (or its -wal) is refused, and the file it points at is left as
// it was, by the writer and by a reader.
func TestPlantedSymlinks(t *testing.T) {
	for _, name := range []string{LockName, DBName, DBName + "-wal"} {
		dir := t.TempDir()
		victim := filepath.Join(t.TempDir(), "victim")
		os.WriteFile(victim, []byte("precious"), 0o600)
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		for _, opts := range [][]Option{nil, {ReadOnly}, {ReadOnly | Snapshot}} {
			if name == LockName && opts != nil {
				continue // readers take no lock
			}
			s, err := Open(context.Background(), dir, opts...)
			if err == nil || !strings.Contains(err.Error(), "symbolic link") {
				if s != nil {
					s.Close()
				}
				t.Errorf("%s is a link: Open(%v) err = %v", name, opts, err)
			}
		}
		if b, _ := os.ReadFile(victim); string(b) != "precious" {
			t.Errorf("%s is a link: its target now holds %q", name, b)
		}
	}
}
