package depth

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// killChildEnv makes the test binary, re-executed by
// TestDepthKillAndResume, run the kill study into the directory it names
// instead of testing.
const killChildEnv = "MLPSWEEP_DEPTH_KILL_CHILD"

// killHangEnv makes the child stop (hang) after it reports killHangAfter
// units, so that the kill lands mid-study however fast the machine.
const (
	killHangEnv   = "MLPSWEEP_DEPTH_KILL_HANG"
	killHangAfter = 3
	killWorkers   = 2
	killUnits     = 4 * 4 // variants × depths
)

// killPlan is 4 variants × depths 1, 2, 4, 8 of width 24, 3 epochs of
// batch 16 on 600 blobs (480 trained on).
func killPlan(t testing.TB) (*DepthPlan, DepthData) {
	var points []study.Point
	for _, v := range []struct {
		name, activation, init string
		bn, residual           bool
	}{
		{"sigmoid", "sigmoid", "glorot_uniform", false, false},
		{"relu_he", "relu", "he_normal", false, false},
		{"tanh_bn", "tanh", "glorot_uniform", true, false},
		{"relu_residual", "relu", "glorot_uniform", false, true},
	} {
		p, err := study.NewParams(engine.Config{Hidden: []int{24, 24, 24, 24, 24, 24, 24, 24}, Activation: v.activation, Init: v.init,
			BatchNorm: v.bn, Residual: v.residual, Optimizer: "sgd", LR: 0.05, Batch: 16, Epochs: 3})
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, study.Point{Axis: v.name, Value: "8", Params: p})
	}
	plan, err := PlanDepth(&study.Study{Name: "kill", Seed: 5, Points: points}, []int{1, 2, 4, 8}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dd, err := NewData(datasets.Blobs(600, 16, 4), nil, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	dd.Describe = "blobs"
	return plan, dd
}

// runKillChild is the child's side: run the study, print one line per
// unit stored, then the counts.
func runKillChild(t *testing.T, dir string) {
	plan, dd := killPlan(t)
	hang := os.Getenv(killHangEnv) != ""
	var planned scheduler.Status
	done := 0
	_, err := RunDepth(context.Background(), plan, dd, scheduler.Options{Dir: dir, Workers: killWorkers,
		Progress: func(e scheduler.Event) {
			switch e.Kind {
			case scheduler.Planned:
				planned = e.Status
			case scheduler.UnitDone:
				fmt.Println("unit-done")
				if done++; hang && done == killHangAfter {
					select {} // wait for the SIGKILL, the other worker in flight
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("finished run=%d reused=%d\n", done, planned.UnitsReused)
}

// TestDepthKillAndResume SIGKILLs a depth study in a child process after a
// few units, then runs it again: every unit stored before the kill is
// reused, only the others (those in flight included) are trained, and the
// results equal an uninterrupted run's.
func TestDepthKillAndResume(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		runKillChild(t, dir)
		return
	}
	dir := t.TempDir()
	child := func(hang bool) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDepthKillAndResume$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		if hang {
			cmd.Env = append(cmd.Env, killHangEnv+"=1")
		}
		cmd.Stderr = os.Stderr
		return cmd
	}

	cmd := child(true)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if sc.Text() == "unit-done" {
			if seen++; seen == killHangAfter {
				cmd.Process.Kill() // SIGKILL: no cleanup of any kind
				break
			}
		}
	}
	cmd.Wait()
	if seen < killHangAfter {
		t.Fatalf("child stopped after %d units", seen)
	}

	st, err := store.Open(context.Background(), dir, store.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	states, err := st.States()
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	stored := states["done"]
	if stored < seen || stored >= killUnits || states["running"] > killWorkers || states["failed"] != 0 {
		t.Fatalf("after the kill: %v (saw %d units done); want ≥ %d and < %d done, ≤ %d running", states, seen, seen, killUnits, killWorkers)
	}
	t.Logf("killed with %d units stored, %d in flight", stored, states["running"])

	resumed, err := child(false).Output()
	if err != nil {
		t.Fatalf("resumed child: %v", err)
	}
	var trained, reused int
	for _, line := range strings.Split(string(resumed), "\n") {
		if strings.HasPrefix(line, "finished") {
			fmt.Sscanf(line, "finished run=%d reused=%d", &trained, &reused)
		}
	}
	if reused != stored || trained != killUnits-stored {
		t.Errorf("resume reused %d and trained %d units; want the %d stored reused and %d trained", reused, trained, stored, killUnits-stored)
	}

	plan, dd := killPlan(t)
	st, err = store.Open(context.Background(), dir, store.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	got, err := plan.Load(context.Background(), st, dd)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Runs) != killUnits {
		t.Fatalf("%d runs stored, want %d", len(got.Runs), killUnits)
	}
	ref, _ := runBlobs(t, plan, dd, t.TempDir(), killWorkers)
	if a, b := numbers(t, got), numbers(t, ref); a != b {
		t.Errorf("killed and resumed study differs from an uninterrupted run:\n%s\n%s", a, b)
	}
}

// numbers is every number of r's runs but the timings, as JSON (which
// keeps every float64 bit; non-finite numbers are null).
func numbers(t testing.TB, r *DepthStudyResult) string {
	var runs []any
	for _, run := range r.Runs {
		u := run.UnitResult
		u.Seconds, u.Epochs = 0, append([]engine.EpochStats(nil), u.Epochs...)
		for i := range u.Epochs {
			u.Epochs[i].Seconds, u.Epochs[i].SamplesPerSecond = 0, 0
		}
		runs = append(runs, []any{run.Variant, run.Depth, run.Config, u, run.Trainable, run.Init, engine.JSONFloat(run.TrainAccuracy)})
	}
	b, err := json.Marshal(runs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
