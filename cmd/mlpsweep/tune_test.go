package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// TestTune runs a short `mlpsweep tune` into a file of the test's: it
// prints a choice per field, writes a tuned file this CPU then loads, and
// leaves the blocks in force as they were.
func TestTune(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for several seconds")
	}
	isa := kernels.ActiveISA()
	before, source := kernels.ActiveTuning(isa), kernels.TuningSource()
	defer kernels.SetTuning(isa, before, source)
	path := filepath.Join(t.TempDir(), "cache", "tuned.json")
	var out, errOut bytes.Buffer
	if status := run([]string{"tune", "--quick", "--rounds", "1", "--file", path}, &out, &errOut); status != 0 {
		t.Fatalf("tune: status %d, stderr %q", status, errOut.String())
	}
	for _, want := range []string{"MC:", "NC:", "AL2:", "NCA:", "GroupColumns:", "wrote " + path} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tune output lacks %q:\n%s", want, out.String())
		}
	}
	// Each choice says how far tune is and its time left; nothing after the last.
	var choices []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "→") {
			choices = append(choices, l)
		}
	}
	for k, l := range choices {
		want := fmt.Sprintf("(%d of %d, ", k+1, len(choices))
		if k == len(choices)-1 {
			want += "0s left)"
		}
		if !strings.Contains(l, want) {
			t.Errorf("choice %d lacks %q: %q", k+1, want, l)
		}
	}
	if kernels.ActiveTuning(isa) != before || kernels.TuningSource() != source {
		t.Errorf("tune changed the blocks in force: %+v from %q", kernels.ActiveTuning(isa), kernels.TuningSource())
	}
	if err := kernels.LoadTuneFile(path, isa, engine.Version); err != nil {
		t.Fatalf("the file tune wrote does not load: %v", err)
	}
	if kernels.TuningSource() != "tuned: "+path {
		t.Errorf("after loading: blocks from %q", kernels.TuningSource())
	}
}

func TestTuneUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if status := run([]string{"tune", "--help"}, &out, &errOut); status != 0 || !strings.Contains(out.String(), "--file") {
		t.Errorf("tune --help: status %d, stdout %q", status, out.String())
	}
	// Defect: --rounds 0 ran a whole tune with the default rounds.
	for _, args := range [][]string{{"tune", "extra"}, {"tune", "--rounds", "-1"}, {"tune", "--rounds", "0", "--quick", "--dry-run"}} {
		errOut.Reset()
		if status := run(args, &out, &errOut); status != 2 {
			t.Errorf("%v: status %d, stderr %q", args, status, errOut.String())
		}
	}
}

// TestTuneChecksItsFileFirst: a --file that cannot be written fails
// before the measuring, not after it; MLPSWEEP_TUNE_FILE=none (runs read
// no tuned file) without --file is a usage error. Defects: --file DIR
// measured for a minute, then "rename …: file exists"; with
// MLPSWEEP_TUNE_FILE=none tune wrote a file named "none" no run reads.
func TestTuneChecksItsFileFirst(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	for _, tc := range []struct {
		env  string
		args []string
		code int
		want string
	}{
		{"", []string{"tune", "--file", dir}, 1, "--file " + dir + " is a folder, not a file: give a file name"},
		{"", []string{"tune", "--file", filepath.Join(dir, "file", "t.json")}, 1, "--file " + filepath.Join(dir, "file", "t.json") + ": cannot create its folder"},
		{"none", []string{"tune"}, 2, "MLPSWEEP_TUNE_FILE=none: runs read no tuned file"},
	} {
		t.Setenv(kernels.TuneFileEnv, tc.env)
		code, stdout, stderr := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Contains(stdout, "MC:") {
			t.Errorf("%s=%s %v: exit %d, want %d and %q before measuring:\n%s%s", kernels.TuneFileEnv, tc.env, tc.args, code, tc.code, tc.want, stdout, stderr)
		}
	}
	if _, err := os.Stat("none"); err == nil {
		t.Error(`tune wrote a file named "none"`)
	}
}
