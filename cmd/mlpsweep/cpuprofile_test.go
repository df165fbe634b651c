package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSweepCPUProfile(t *testing.T) {
	if f := flag.Lookup("test.cpuprofile"); f != nil && f.Value.String() != "" {
		t.Skip("the test binary is profiling itself: one CPU profile at a time")
	}
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	prof := filepath.Join(dir, "cpu.prof")
	code, _, stderr := runCmd("sweep", study, "--out", filepath.Join(dir, "out"), "--workers", "2", "--json", "--cpuprofile", prof)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A pprof profile is a gzipped protocol buffer whose string table
	// names the sample type.
	raw, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s is not a gzipped profile: %v", prof, err)
	}
	pb, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pb, []byte("cpu")) || !bytes.Contains(pb, []byte("nanoseconds")) {
		t.Errorf("%s holds no CPU profile (%d bytes unzipped)", prof, len(pb))
	}

	// A file that cannot be created fails before anything is trained; queue
	// mode is refused (its workers train).
	out := filepath.Join(dir, "out2")
	code, _, stderr = runCmd("sweep", study, "--out", out, "--cpuprofile", filepath.Join(dir, "missing", "cpu.prof"))
	if code != 1 || !strings.Contains(stderr, "--cpuprofile") {
		t.Errorf("unwritable profile: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
		t.Error("the study ran although its profile could not be written")
	}
	code, _, stderr = runCmd("sweep", study, "--enqueue", "--store", "postgres://localhost/x", "--cpuprofile", prof)
	if code != 2 || !strings.Contains(stderr, "--cpuprofile profiles a local run") {
		t.Errorf("queue mode: exit %d, %s", code, stderr)
	}
}
