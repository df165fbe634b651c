package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// blackhole is a TCP server that accepts connections and never answers:
// a PostgreSQL store that hangs, to catch commands while they connect.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return "postgres://sweep:s3cr3t@" + l.Addr().String() + "/sweeps?connect_timeout=60"
}

// TestEveryCommandExits130OnSignals: SIGTERM or SIGINT (in turn) stops
// every command with status 130 and a message, wherever it waits: connecting to
// a store that does not answer, opening a FIFO that no one writes; no
// temporary file is left behind.
func TestEveryCommandExits130OnSignals(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	shard := filepath.Join(dir, "shard")
	os.Mkdir(shard, 0o755)
	if err := syscall.Mkfifo(filepath.Join(shard, "mlpsweep.lock"), 0o644); err != nil {
		t.Fatal(err)
	}
	study := writeCSVStudy(t, dir)
	url := blackhole(t)
	for i, args := range [][]string{
		{"predict", "--model", fifo, "--csv", "x.csv"},
		{"export", "--model", fifo, "--onnx", filepath.Join(dir, "m.onnx")},
		{"report", "--store", url},
		{"status", "--store", url},
		{"merge", filepath.Join(dir, "merged"), shard},
		{"sweep", study, "--store", url, "--enqueue"},
		{"worker", "--store", url},
		{"serve", "--store", url, "--addr", "127.0.0.1:0"},
	} {
		sig := []syscall.Signal{syscall.SIGTERM, syscall.SIGINT}[i%2]
		// A child killed by the signal itself was not yet past its start
		// (a loaded machine): again, waiting longer.
		handled := false
		for _, wait := range []time.Duration{500 * time.Millisecond, 2 * time.Second, 5 * time.Second} {
			child := exec.Command(os.Args[0], args...)
			child.Dir = dir
			child.Env = append(os.Environ(), "MLPSWEEP_TEST_CLI=1", "MLPSWEEP_STORE=")
			var stderr strings.Builder
			child.Stderr = &stderr
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(wait) // past flag parsing, waiting
			start := time.Now()
			child.Process.Signal(sig)
			err := child.Wait()
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.ExitCode() == -1 {
				continue
			}
			handled = true
			if exit == nil || exit.ExitCode() != 130 || !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("%s, %v: exit %v, want 130 and a message:\n%s", args[0], sig, err, stderr.String())
			}
			if took := time.Since(start); took > stopGrace+2*time.Second {
				t.Errorf("%s, %v: took %v to stop", args[0], sig, took)
			}
			if strings.Contains(stderr.String(), "s3cr3t") {
				t.Errorf("%s: the password is in the message:\n%s", args[0], stderr.String())
			}
			break
		}
		if !handled {
			t.Errorf("%s, %v: killed by the signal every time, never handled it", args[0], sig)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
