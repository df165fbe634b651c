package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// writeTPEStudy writes blobs.csv and a study name on it of 12 configurations
// proposed by the TPE, 2 folds × 2 epochs each, into dir.
func writeTPEStudy(t *testing.T, dir, name string) string {
	t.Helper()
	writeCSVStudy(t, dir) // blobs.csv
	path := filepath.Join(dir, name+".yaml")
	src := "name: " + name + `
data: {csv: blobs.csv, label: label}
folds: 2
epochs: 2
seed: 5
base: {hidden: [8]}
sampler: {kind: tpe, n: 12, params: {lr: {log_uniform: [1e-4, 0.3]}, batch: {choice: [16, 64]}}}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSweepTPE runs a study with a sampler: 12 configurations proposed in
// batches of the worker count, the importance of its keys in --json; a
// bare `sampler: tpe` and a sharded sampler study are refused.
func TestSweepTPE(t *testing.T) {
	dir := t.TempDir()
	path := writeTPEStudy(t, dir, "tpetest")
	code, stdout, stderr := runCmd("sweep", path, "--out", filepath.Join(dir, "out"), "--workers", "2", "--group-columns", "64", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := decodeStudyJSON(t, stdout)
	if len(r.Configs) != 12 || r.UnitsRun != 24 || r.UnitsReused != 0 {
		t.Fatalf("%d configurations, %d units run, %d reused; want 12, 24, 0", len(r.Configs), r.UnitsRun, r.UnitsReused)
	}
	for _, c := range r.Configs {
		if c.Axis != "tpe" || !strings.HasPrefix(c.Value, "lr=") || len(c.FoldAccuracies) != 2 {
			t.Errorf("config %s %q: %d folds", c.Axis, c.Value, len(c.FoldAccuracies))
		}
	}
	if len(r.Importance) != 2 || r.Importance[0].Param != "lr" {
		t.Errorf("importance %+v: want lr, then batch", r.Importance)
	}

	bare := filepath.Join(dir, "bare.yaml")
	if err := os.WriteFile(bare, []byte("sampler: tpe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd("sweep", bare, "--out", filepath.Join(dir, "bare")); code != 1 || !strings.Contains(stderr, "bare.yaml:1: sampler: tpe alone does not say") {
		t.Errorf("bare sampler: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCmd("sweep", path, "--shard", "1/2", "--out", filepath.Join(dir, "shard")); code != 2 || !strings.Contains(stderr, "cannot be split into shards") {
		t.Errorf("sharded sampler study: exit %d, %s", code, stderr)
	}
}

// TestQueueTPE: sweep --enqueue --wait proposes a sampler study's
// configurations 3 at a time as two worker processes train them (a fold's
// new units of one batch size as a fused group); every configuration ends
// with all its folds, each unit in one job and recorded once.
func TestQueueTPE(t *testing.T) {
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	path := writeTPEStudy(t, dir, "queuetpe")
	if code, _, stderr := runCmd("sweep", path, "--store", url, "--enqueue"); code != 2 || !strings.Contains(stderr, "give --enqueue and --wait together") {
		t.Errorf("--enqueue alone: exit %d, %s", code, stderr)
	}
	for range 2 {
		startWorker(t, nil, "--store", url, "--workers", "1")
	}
	code, stdout, stderr := runCmd("sweep", path, "--store", url, "--enqueue", "--wait", "--workers", "3", "--json", "--out", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := decodeStudyJSON(t, stdout)
	if len(r.Configs) != 12 || r.UnitsTotal != 24 || r.UnitsRun != 24 || r.UnitsReused != 0 {
		t.Fatalf("%d configurations, %d units, %d run, %d reused; want 12, 24, 24, 0:\n%s", len(r.Configs), r.UnitsTotal, r.UnitsRun, r.UnitsReused, stderr)
	}
	for _, c := range r.Configs {
		if c.Axis != "tpe" || len(c.FoldAccuracies) != 2 {
			t.Errorf("config %s %q: %d folds", c.Axis, c.Value, len(c.FoldAccuracies))
		}
	}
	if !strings.Contains(stderr, "study queuetpe: 12 of 12 configurations decided, 0 in flight") {
		t.Errorf("stderr:\n%s", stderr)
	}
	var recorded, jobs, inJobs int
	storetest.QueryRow(t, url, `SELECT count(*) FROM mlpsweep_units WHERE state = 'done'`, &recorded)
	storetest.QueryRow(t, url, `SELECT count(*), sum(jsonb_array_length(args->'units')) FROM river_job`, &jobs, &inJobs)
	if recorded != r.UnitsTotal || inJobs != recorded || jobs > recorded {
		t.Errorf("%d units done, %d units in %d jobs (fused groups); want each of the %d in one job", recorded, inJobs, jobs, r.UnitsTotal)
	}

	// Again: the 12 configurations are taken up from the store, decided,
	// and nothing more is proposed or queued.
	code, stdout, stderr = runCmd("sweep", path, "--store", url, "--enqueue", "--wait", "--workers", "3", "--json", "--out", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("again: exit %d: %s", code, stderr)
	}
	again := decodeStudyJSON(t, stdout)
	before := jobs
	storetest.QueryRow(t, url, `SELECT count(*) FROM river_job`, &jobs)
	if len(again.Configs) != 12 || jobs != before || again.Configs[11].Key != r.Configs[11].Key {
		t.Errorf("again: %d configurations, %d jobs (want 12, %d)", len(again.Configs), jobs, before)
	}
}

// TestQueueTPEPrunedOneWorkerKilled: a TPE study with successive halving
// on the queue (8 configurations in batches of 4, each cut to 1 at epoch
// 1 by η = 3), one of three workers SIGKILLed as it starts a job of the
// first batch's second rung, and sweep --enqueue --wait SIGKILLed as it
// enqueues the second batch's second stage and started again: the queue
// proposes the local run's configurations, decides each once as it does,
// trains no epoch twice, and ends with its numbers and best
// configuration.
func TestQueueTPEPrunedOneWorkerKilled(t *testing.T) {
	url, dir, _ := prunedQueueTest(t)
	study := filepath.Join(dir, "qtpeprune.yaml")
	if err := os.WriteFile(study, []byte(`name: qtpeprune
data: {csv: blobs.csv, label: species}
folds: 2
epochs: 4
seed: 7
base: {hidden: [64, 64], optimizer: sgd}
sampler:
  kind: tpe
  n: 8
  batch: 4
  params:
    lr: {log_uniform: [0.0003, 0.3]}
    batch: {choice: [16, 32]}
pruner: {kind: sha, eta: 3, min_epochs: 1}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	local := sweepLocal(t, study, dir)

	r, workers, waitErr := oneWorkerKilled(t, url, []string{"sweep", study, "--store", url, "--enqueue", "--wait", "--json", "--workers", "3", "--out", filepath.Join(dir, "queue")}, "batch 2 of", nil)

	sameKey := func(a, b sweeps.ConfigResult) bool { return a.Key == b.Key }
	if !slices.EqualFunc(r.Configs, local.Configs, sameKey) || len(r.Configs) != 8 {
		t.Errorf("configurations on the queue:\n%+v\nlocally:\n%+v", r.Configs, local.Configs)
	}
	if b := best(r); b == "" || b != best(local) {
		t.Errorf("best configuration %q on the queue, %q locally", b, best(local))
	}
	if !slices.Equal(resultBits(r), resultBits(local)) {
		t.Errorf("the queue's results differ from the local run's:\n%+v\n%+v", r, local)
	}
	decidedOnce(t, r)
	same := func(a, b sweeps.Decision) bool {
		return a.Key == b.Key && a.Epoch == b.Epoch && a.Promoted == b.Promoted && a.Score == b.Score && a.Order == b.Order
	}
	if !slices.EqualFunc(r.Decisions, local.Decisions, same) || len(r.Decisions) != 2*(4+1) {
		t.Errorf("decisions on the queue (want 10, the local run's):\n%+v\nlocally:\n%+v", r.Decisions, local.Decisions)
	}
	if rescued := chained(t, r, workers); rescued == 0 {
		t.Errorf("no unit continued from its checkpoint on a second attempt (the killed worker's job):\n%s\n%s", workers[1].log(), workers[2].log())
	}
	noCheckpoints(t, url)
	t.Logf("sweep --wait:\n%s", waitErr)
}
