package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePrunedStudy writes writeCSVStudy's data and a grid study on it with
// pruner (a YAML value), and returns the study's path.
func writePrunedStudy(t *testing.T, dir, pruner string) string {
	t.Helper()
	writeCSVStudy(t, dir)
	src := `name: pruned
data: {csv: blobs.csv, label: label}
folds: 2
epochs: 3
seed: 5
base: {hidden: [8], batch: 16, optimizer: sgd}
grid:
  lr: [0.001, 0.01, 0.1]
  batch: [16, 32]
pruner: ` + pruner + "\n"
	path := filepath.Join(dir, "pruned.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSweepWithAPruner: a pruned study runs, says what it pruned and
// shows the rung table; its JSON has the decisions; bad pruners exit 1
// with the line and key, and modes that cannot prune exit 2.
func TestSweepWithAPruner(t *testing.T) {
	dir := t.TempDir()
	study := writePrunedStudy(t, dir, "{kind: sha, eta: 3}")
	code, out, errOut := runCmd("sweep", study, "--out", filepath.Join(dir, "out"), "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"pruned at epoch 1", "pruned: 4 of 6 configurations (at epoch 1); 56 % of the epochs", "bracket  rung  epoch  judged  promoted"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The progress counts the rung schedule's work (6 + 2·2 of 18
	// configuration-epochs) and says what each rung decided.
	for _, want := range []string{"pruner sha: 56 % of the work of training every unit fully, by its rung schedule", "rung 0 (epoch 1): 6 judged, 2 go on, cutoff ", "(pruned at epoch 1)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lacks %q:\n%s", want, errOut)
		}
	}
	code, out, errOut = runCmd("report", filepath.Join(dir, "out"), "--json")
	if r := decodeStudyJSON(t, out); code != 0 || len(r.Decisions) != 6 {
		t.Errorf("report --json: exit %d, %d decisions: %s", code, len(r.Decisions), errOut)
	}

	for _, tc := range []struct {
		pruner string
		args   []string
		code   int
		want   string
	}{
		{"{kind: sha, eta: 1}", nil, 1, "pruned.yaml:10: pruner.eta: η = 1: the reduction factor must be at least 2"},
		{"{kind: asha, min_epochs: 4}", nil, 1, "pruned.yaml:10: pruner.min_epochs: 4 is above the study's 3 epochs"},
		{"median", []string{"--epochs", "1", "--limit-rows", "100"}, 0, ""},
		{"{kind: hyperband, min_epochs: 2}", []string{"--epochs", "1"}, 2, "--epochs 1: study pruned: pruner.min_epochs 2 is above the study's 1 epochs: the first rung must end within them (train at least 2 epochs, or lower min_epochs)"},
		{"sha", []string{"--shard", "1/2"}, 2, "study pruned has a pruner (sha): its shards must share one PostgreSQL store (--store URL)"},
		{"asha", []string{"--shard", "1/2", "--store", "postgres://u@localhost:1/db"}, 2, "study pruned: pruner asha decides in the order configurations reach each rung, which shards deciding alone cannot agree on: run it on the queue"},
		{"sha", []string{"--enqueue", "--store", "postgres://u@localhost:1/db"}, 2, "give --enqueue and --wait together"},
		{"asha", []string{"--wait", "--store", "postgres://u@localhost:1/db"}, 2, "give --enqueue and --wait together"},
	} {
		study := writePrunedStudy(t, t.TempDir(), tc.pruner)
		args := append([]string{"sweep", study, "--out", t.TempDir()}, tc.args...)
		code, _, errOut := runCmd(args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s %v: exit %d, want %d with %q:\n%s", tc.pruner, tc.args, code, tc.code, tc.want, errOut)
		}
	}
	// A pruner on an axes study.
	axes := writeCSVStudy(t, dir)
	src, _ := os.ReadFile(axes)
	os.WriteFile(axes, append(src, "pruner: sha\n"...), 0o644)
	if code, _, errOut := runCmd("sweep", axes, "--out", t.TempDir()); code != 1 || !strings.Contains(errOut, "an axes study shows every value of each axis") {
		t.Errorf("axes study: exit %d: %s", code, errOut)
	}
}

// TestSweepTPEWithAPruner: a TPE study with successive halving runs,
// pruning in batches of η² (here 4: 2 pruned at the first rung of each,
// 1 at the second);
// a pruner the batches cannot use exits 1 with the line and key, queue
// mode exits 2.
func TestSweepTPEWithAPruner(t *testing.T) {
	dir := t.TempDir()
	write := func(pruner string) string {
		path := writePrunedStudy(t, dir, pruner)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		grid := "grid:\n  lr: [0.001, 0.01, 0.1]\n  batch: [16, 32]\n"
		tpe := "sampler:\n  kind: tpe\n  n: 8\n  params:\n    lr: {log_uniform: [0.001, 0.3]}\n"
		if err := os.WriteFile(path, []byte(strings.Replace(string(src), grid, tpe, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	code, out, errOut := runCmd("sweep", write("{kind: sha, eta: 2}"), "--out", filepath.Join(dir, "out"), "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "pruned: 6 of 8 configurations"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if code, _, errOut := runCmd("sweep", write("asha"), "--out", t.TempDir()); code != 1 || !strings.Contains(errOut, "pruned.yaml:12: pruner: a sampler proposes batches") {
		t.Errorf("asha with tpe: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd("sweep", write("sha"), "--enqueue", "--wait", "--store", "postgres://u@localhost:1/db"); code != 2 || !strings.Contains(errOut, "queue mode prunes without a sampler") {
		t.Errorf("tpe and sha in queue mode: exit %d: %s", code, errOut)
	}
}
