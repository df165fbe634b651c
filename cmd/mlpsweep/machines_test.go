package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/isatest"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestMachinesDiffer: a study swept on the lower ISA path (as a host
// without the wider one would) is reused on the wider path, the tables,
// report.html and --json listing the machine and warning of the mix;
// report --strict-engine shows only the units of the study's engine;
// sweep --strict-engine trains them again, after which the study is one
// engine's again. Shards of two paths merge with a warning, and merge
// --strict-engine refuses them.
func TestMachinesDiffer(t *testing.T) {
	hi, lo := isatest.TwoPaths(t)
	host, _ := os.Hostname()
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	out := filepath.Join(dir, "out")
	isatest.Use(t, lo)
	code, stdout, stderr := runCmd("sweep", study, "--out", out, "--workers", "2")
	loLine := "machines: " + host + ", " + kernels.CPU() + ", " + lo.String() + ": 6 units\n"
	if code != 0 || !strings.Contains(stdout, loLine) || strings.Contains(stdout, "warning") {
		t.Fatalf("sweep on %v: exit %d\n%s\n%s", lo, code, stdout, stderr)
	}

	isatest.Use(t, hi)
	identity := sweeps.EngineID()
	warning := "warning: 6 of 6 units were computed under another engine identity than the study's " + identity +
		" (" + engine.Version + "/" + lo.String() + ": 6)"
	code, stdout, stderr = runCmd("sweep", study, "--out", out, "--workers", "2")
	if code != 0 || !strings.Contains(stderr, "6 already stored, 0 to train") || !strings.Contains(stdout, loLine) || !strings.Contains(stdout, warning) {
		t.Errorf("sweep on %v: exit %d\n%s\n%s", hi, code, stdout, stderr)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	// The page's summary, inlined as JSON: ["label","value"].
	if err != nil || !strings.Contains(string(html), `["machines","`+host) || !strings.Contains(string(html), `["warning","6 of 6 units`) {
		t.Errorf("report.html does not show the machines and the warning (%v)", err)
	}
	code, stdout, stderr = runCmd("report", out, "--json")
	r := decodeStudyJSON(t, stdout)
	if code != 0 || r.Engine != identity || len(r.Machines) != 1 || r.Machines[0].ISA != lo.String() || r.Machines[0].Units != 6 ||
		!strings.HasPrefix("warning: "+r.EngineNote, warning) || !strings.Contains(stderr, "mlpsweep report: "+warning) {
		t.Errorf("report --json: exit %d, engine %s, machines %+v, note %q\n%s", code, r.Engine, r.Machines, r.EngineNote, stderr)
	}
	code, stdout, stderr = runCmd("report", out, "--strict-engine")
	if code != 0 || strings.Contains(stdout, "machines:") || strings.Contains(stdout, "warning") || strings.Count(stdout, "missing 2/2") != 4 {
		t.Errorf("report --strict-engine: exit %d\n%s\n%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCmd("sweep", study, "--out", out, "--workers", "2", "--strict-engine")
	hiLine := "machines: " + host + ", " + kernels.CPU() + ", " + hi.String() + ": 6 units\n"
	if code != 0 || !strings.Contains(stderr, "0 already stored, 6 to train") || !strings.Contains(stdout, hiLine) || strings.Contains(stdout, "warning") {
		t.Errorf("sweep --strict-engine: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCmd("report", out); code != 0 || !strings.Contains(stdout, hiLine) || strings.Contains(stdout, "warning") {
		t.Errorf("report after the strict sweep: exit %d\n%s", code, stdout)
	}

	// Shards on two paths.
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("JOB_COMPLETION_INDEX", "")
	shards := []string{filepath.Join(dir, "s0"), filepath.Join(dir, "s1")}
	isatest.Use(t, lo)
	if code, _, stderr := runCmd("sweep", study, "--shard", "0/2", "--out", shards[0], "--workers", "2"); code != 0 {
		t.Fatalf("shard 0: exit %d: %s", code, stderr)
	}
	isatest.Use(t, hi)
	if code, _, stderr := runCmd("sweep", study, "--shard", "1/2", "--out", shards[1], "--workers", "2"); code != 0 {
		t.Fatalf("shard 1: exit %d: %s", code, stderr)
	}
	merged := filepath.Join(dir, "merged")
	code, _, stderr = runCmd(append([]string{"merge", "--strict-engine", merged}, shards...)...)
	if code != 1 || !strings.Contains(stderr, "another ISA path") {
		t.Errorf("merge --strict-engine: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runCmd(append([]string{"merge", merged}, shards...)...)
	if code != 0 || !strings.Contains(stderr, "warning: the shards ran under several engine identities ("+engine.Version+"/"+lo.String()+", "+identity+")") ||
		!strings.Contains(stdout, "machines:\n") || !strings.Contains(stdout, "warning: ") || strings.Contains(stdout, "missing") {
		t.Errorf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
