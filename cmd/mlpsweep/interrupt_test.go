package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/fixture"
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
		for _, wait := range []time.Duration{500 * time.Millisecond, 2 * time.Second, 5 * time.Second, 15 * time.Second} {
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
			// Within the grace and a loaded machine's slack; a command
			// blocked for good waits 60 s (connect_timeout) or forever.
			if took := time.Since(start); took > stopGrace+15*time.Second {
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

// TestSweepCtrlCThenResume: Ctrl-C (SIGINT) in the middle of a real sweep
// exits 130 saying how far it got and what to run, without the context's
// "context canceled" (which read like a failure); the same command again
// trains only the units not stored, and the study ends with the numbers of
// a run never interrupted, bit for bit.
func TestSweepCtrlCThenResume(t *testing.T) {
	dir := t.TempDir()
	fixture.BlobsCSV(t, filepath.Join(dir, "blobs.csv"), 600, 3, 4)
	study := filepath.Join(dir, "study.yaml")
	os.WriteFile(study, []byte(`name: ctrlc
data: {csv: blobs.csv, label: label}
folds: 2
epochs: 300
base: {hidden: [64], batch: 16}
grid: {lr: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006]}
`), 0o644)
	args := []string{"sweep", study, "--workers", "1", "--fuse=false", "--json"}
	var once sync.Once
	var p *worker
	p = startProcess(t, func(line string) {
		if strings.HasPrefix(line, "[ 2/12]") { // units finish one at a time
			once.Do(func() { p.cmd.Process.Signal(os.Interrupt) })
		}
	}, append(args, "--out", filepath.Join(dir, "a"))...)
	if code := p.wait(t, time.Minute); code != 130 {
		t.Fatalf("exit %d after SIGINT, want 130:\n%s", code, p.log())
	}
	m := regexp.MustCompile(`mlpsweep sweep: interrupted after (\d+) of 12 units \(\d+ in flight abandoned\); run the same command again to resume$`).FindStringSubmatch(p.log())
	if m == nil || strings.Contains(p.log(), "context canceled") {
		t.Fatalf("the interrupted sweep's message:\n%s", p.log())
	}
	kept, _ := strconv.Atoi(m[1])
	if kept < 2 || kept == 12 {
		t.Fatalf("%d units kept, want at least the 2 finished and not all 12:\n%s", kept, p.log())
	}

	code, stdout, stderr := runCmd(append(args, "--out", filepath.Join(dir, "a"))...)
	if code != 0 || !strings.Contains(stderr, "12 units, "+m[1]+" already stored, "+strconv.Itoa(12-kept)+" to train") {
		t.Fatalf("rerun: exit %d, want it to train the %d units not stored:\n%s", code, 12-kept, stderr)
	}
	resumed := decodeStudyJSON(t, stdout)
	code, stdout, stderr = runCmd(append(args, "--out", filepath.Join(dir, "b"))...)
	if code != 0 {
		t.Fatalf("uninterrupted run: exit %d:\n%s", code, stderr)
	}
	if whole := decodeStudyJSON(t, stdout); !slices.Equal(resultBits(resumed), resultBits(whole)) || resumed.UnitsReused != kept {
		t.Errorf("the resumed study (%d units reused) differs from the uninterrupted one", resumed.UnitsReused)
	}
}
