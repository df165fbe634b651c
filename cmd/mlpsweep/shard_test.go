package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// clearShardEnv unsets the batch schedulers' variables for a test (the
// tests may themselves run in a Slurm array).
func clearShardEnv(t *testing.T) {
	for _, k := range []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "JOB_COMPLETION_INDEX"} {
		t.Setenv(k, "")
	}
}

// unitsOf lists a result's units as "key/fold", sorted.
func unitsOf(r sweeps.StudyResult) []string {
	seen := map[string]bool{}
	for _, c := range r.Configs {
		for _, u := range c.Units {
			seen[fmt.Sprintf("%s/%d", c.Key, u.Fold)] = true
		}
	}
	var us []string
	for u := range seen {
		us = append(us, u)
	}
	sort.Strings(us)
	return us
}

// resultBits flattens every number of a result but wall times and counts:
// fold accuracies, learning curves, means, ranks.
func resultBits(r sweeps.StudyResult) []uint64 {
	var xs []float64
	for _, c := range r.Configs {
		xs = append(xs, c.FoldAccuracies...)
		xs = append(xs, c.MeanAccuracy, c.StdAccuracy, c.MeanValLoss, float64(c.Rank), float64(len(c.Units)))
		for _, u := range c.Units {
			xs = append(xs, float64(u.Fold), u.Accuracy, u.ValLoss, float64(u.Samples))
			for _, e := range u.Epochs {
				xs = append(xs, float64(e.Epoch), e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy)
			}
		}
	}
	bits := make([]uint64, len(xs))
	for i, x := range xs {
		if math.IsNaN(x) {
			x = math.NaN()
		}
		bits[i] = math.Float64bits(x)
	}
	return bits
}

func TestShardedSweepMergedIsTheLocalRun(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	code, stdout, stderr := runCmd("sweep", study, "--out", filepath.Join(dir, "local"), "--workers", "2", "--curves", "--json")
	if code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	local := decodeStudyJSON(t, stdout)

	var shards []string
	var all []string
	for i := range 3 {
		out := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		code, stdout, stderr := runCmd("sweep", study, "--shard", fmt.Sprintf("%d/3", i), "--out", out, "--workers", "2", "--curves", "--json")
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
		r := decodeStudyJSON(t, stdout)
		// A shard's summary covers its slice.
		if us := unitsOf(r); r.UnitsTotal != len(us) || r.UnitsRun != len(us) || len(us) != 2 {
			t.Errorf("shard %d: units_total %d, units_run %d, units %v; want its 2 units", i, r.UnitsTotal, r.UnitsRun, us)
		}
		all = append(all, unitsOf(r)...)
		if want := fmt.Sprintf("shard %d/3 (--shard %d/3)", i, i); !strings.Contains(stderr, want) || !strings.Contains(stderr, "study csvtest: 2 units") {
			t.Errorf("shard %d: stderr does not say %q:\n%s", i, want, stderr)
		}
		shards = append(shards, out)
	}
	sort.Strings(all)
	if !slices.Equal(all, unitsOf(local)) {
		t.Errorf("the shards ran %v, the study has %v", all, unitsOf(local))
	}

	merged := filepath.Join(dir, "merged")
	code, stdout, stderr = runCmd(append([]string{"merge", merged}, append(shards, "--json")...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "merged 3 shards of study csvtest into "+merged+": 6 of 6 units done, 0 failed, 0 missing (6 rows written") {
		t.Errorf("merge stderr:\n%s", stderr)
	}
	for name, out := range map[string]string{"merge --json": stdout, "report --json": func() string {
		code, stdout, stderr := runCmd("report", merged, "--json")
		if code != 0 {
			t.Fatalf("report: exit %d: %s", code, stderr)
		}
		return stdout
	}()} {
		r := decodeStudyJSON(t, out)
		if !slices.Equal(resultBits(r), resultBits(local)) || len(resultBits(r)) < 100 {
			t.Errorf("%s differs from the local run", name)
		}
		if r.Name != local.Name || r.UnitsTotal != 6 || r.Folds != local.Folds || r.Epochs != local.Epochs || r.Seed != local.Seed || len(r.Configs) != len(local.Configs) {
			t.Errorf("%s: %+v", name, r)
		}
		for i, c := range r.Configs {
			if c.Axis != local.Configs[i].Axis || c.Value != local.Configs[i].Value || c.Key != local.Configs[i].Key {
				t.Errorf("%s: config %d is %s=%s", name, i, c.Axis, c.Value)
			}
		}
	}
	for _, f := range []string{"report.html", "results.csv", "results.json"} {
		if _, err := os.Stat(filepath.Join(merged, f)); err != nil {
			t.Error(err)
		}
	}
	// Merging again writes nothing and changes nothing.
	code, stdout, stderr = runCmd(append([]string{"merge", merged, "--json"}, shards...)...)
	if code != 0 || !strings.Contains(stderr, "(0 rows written") || !slices.Equal(resultBits(decodeStudyJSON(t, stdout)), resultBits(local)) {
		t.Errorf("merge again: exit %d: %s", code, stderr)
	}

	// The batch schedulers' variables pick the same slices as --shard.
	for _, tc := range []struct {
		env   map[string]string
		flags []string
		shard int
	}{
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"}, nil, 1},
		{map[string]string{"JOB_COMPLETION_INDEX": "2"}, []string{"--shard-count", "3"}, 2},
	} {
		clearShardEnv(t)
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		out := filepath.Join(dir, fmt.Sprintf("env-%d", tc.shard))
		code, stdout, stderr := runCmd(append([]string{"sweep", study, "--out", out, "--workers", "2", "--json"}, tc.flags...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.env, code, stderr)
		}
		want, _ := runCmdUnits(t, "report", shards[tc.shard], "--json")
		if got := unitsOf(decodeStudyJSON(t, stdout)); !slices.Equal(got, want) {
			t.Errorf("%v %v ran %v; --shard %d/3 ran %v", tc.env, tc.flags, got, tc.shard, want)
		}
		if !strings.Contains(stderr, fmt.Sprintf("shard %d/3 (", tc.shard)) {
			t.Errorf("%v: stderr does not name the shard:\n%s", tc.env, stderr)
		}
	}
}

// runCmdUnits runs a command printing a study's JSON and lists its units.
func runCmdUnits(t *testing.T, args ...string) ([]string, sweeps.StudyResult) {
	t.Helper()
	code, stdout, stderr := runCmd(args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	r := decodeStudyJSON(t, stdout)
	return unitsOf(r), r
}

func TestShardBadInput(t *testing.T) {
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--shard", "3/3"}, "--shard 3/3: index 3 is out of range for 3 shards (want 0 to 2)"},
		{nil, []string{"--shard", "-1/3"}, "index -1 is out of range"},
		{nil, []string{"--shard", "0/0"}, "the shard count must be ≥ 1, got 0"},
		{nil, []string{"--shard", "1"}, `--shard "1": want I/N`},
		{nil, []string{"--shard", "one/3"}, `index "one" is not a whole number`},
		{nil, []string{"--shard", "1/3", "--shard-count", "3"}, "give --shard I/N or --shard-count N, not both"},
		{nil, []string{"--shard-count", "3"}, "--shard-count 3 needs a shard index"},
		{nil, []string{"--shard-count", "-2"}, "--shard-count -2"},
		{nil, []string{"--shard-count", "0"}, "--shard-count 0: the shard count must be ≥ 1"}, // Defect: ran the whole study
		{map[string]string{"SLURM_ARRAY_TASK_ID": "abc", "SLURM_ARRAY_TASK_COUNT": "3"}, nil, `SLURM_ARRAY_TASK_ID="abc" is not a whole number`},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3x"}, nil, `SLURM_ARRAY_TASK_COUNT="3x" is not a whole number`},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3"}, nil, "index 3 is out of range for 3 shards"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "3"}, nil, "this array runs 1 to 3; to rerun some tasks, give each its shard: sbatch --array=3 ... --shard 3/N"},
		{map[string]string{"JOB_COMPLETION_INDEX": "2"}, nil, "give --shard-count N with N the Job's completions"},
		{map[string]string{"JOB_COMPLETION_INDEX": "3"}, []string{"--shard-count", "3"}, "JOB_COMPLETION_INDEX=3 with --shard-count 3: index 3 is out of range"},
		{map[string]string{"JOB_COMPLETION_INDEX": "two"}, []string{"--shard-count", "3"}, `JOB_COMPLETION_INDEX="two" is not a whole number`},
	} {
		clearShardEnv(t)
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		out := filepath.Join(dir, "out")
		code, stdout, stderr := runCmd(append([]string{"sweep", study, "--out", out}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" || strings.Contains(stderr, "loading") {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 and %q before loading anything", tc.env, tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v %v: --out was created", tc.env, tc.args)
		}
	}
}

func TestMergeBadInput(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if code, _, stderr := runCmd("sweep", study, "--shard", "0/2", "--out", a, "--epochs", "1", "--workers", "2"); code != 0 {
		t.Fatal(stderr)
	}
	// Another definition of the study: 2 epochs instead of 1.
	if code, _, stderr := runCmd("sweep", study, "--shard", "1/2", "--out", b, "--epochs", "2", "--workers", "2"); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(dir, "merged")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"merge"}, 2, "want OUT and at least one SHARD_DIR, got 0 arguments"},
		{[]string{"merge", out}, 2, "got 1 arguments"},
		{[]string{"merge", out, a, "--bogus"}, 2, "bogus"},
		{[]string{"merge", out, a, b}, 1, b + ` holds study "csvtest" with epochs 2, but ` + a + " has 1: every shard must run the same study file with the same flags"},
		{[]string{"merge", out, a, filepath.Join(dir, "nope")}, 1, "no sweep database in " + filepath.Join(dir, "nope")},
		{[]string{"merge", out, a, "--study", "other"}, 1, `no study named "other"`},
	} {
		code, stdout, stderr := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v: OUT was created", tc.args)
		}
	}
	// A half-merged study says what is missing, keeps and reports what is
	// done, and exits 1: the study is incomplete.
	code, stdout, stderr := runCmd("merge", out, a)
	if code != 1 || !strings.Contains(stderr, "3 missing") || !strings.Contains(stderr, "rerun the shards that did not finish") {
		t.Errorf("one of two shards: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "csvtest") {
		t.Errorf("one of two shards: no tables on stdout:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "report.html")); err != nil {
		t.Errorf("one of two shards: %v", err)
	}
	if code, stdout, _ := runCmd("merge", "--help"); code != 0 || !strings.Contains(stdout, "Usage: mlpsweep merge OUT SHARD_DIR...") || !strings.Contains(stdout, "-study") {
		t.Errorf("merge --help: exit %d\n%s", code, stdout)
	}
}

// TestKubernetesManifest checks what can be checked without a cluster:
// the manifests parse, the sweep is an Indexed Job whose --shard-count is
// its completions, the output folder names JOB_COMPLETION_INDEX, which the
// container declares, and the merge Job lists every shard's folder.
func TestKubernetesManifest(t *testing.T) {
	docs := readYAMLDocs(t, "../../deploy/kubernetes/sweep-indexed-job.yaml")
	var job map[string]any
	for _, d := range docs {
		if d["kind"] == "Job" {
			job = d
		}
	}
	if job == nil || len(docs) != 2 {
		t.Fatalf("want a PersistentVolumeClaim and a Job, got %d documents", len(docs))
	}
	spec := job["spec"].(map[string]any)
	completions := toInt(t, spec["completions"])
	if spec["completionMode"] != "Indexed" || completions < 2 || toInt(t, spec["parallelism"]) < 1 {
		t.Errorf("job spec: %v", spec)
	}
	pod := spec["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	args := toStrings(c["args"])
	if c["command"].([]any)[0] != "mlpsweep" || args[0] != "sweep" {
		t.Errorf("command %v %v", c["command"], args)
	}
	i := slices.Index(args, "--shard-count")
	if i < 0 || args[i+1] != strconv.Itoa(completions) {
		t.Errorf("--shard-count in %v is not completions %d", args, completions)
	}
	if slices.Contains(args, "--shard") {
		t.Error("the shard index must come from JOB_COMPLETION_INDEX, not --shard")
	}
	o := slices.Index(args, "--out")
	if o < 0 || !strings.Contains(args[o+1], "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("--out must differ per index: %v", args)
	}
	env := c["env"].([]any)[0].(map[string]any)
	if env["name"] != "JOB_COMPLETION_INDEX" || !strings.Contains(fmt.Sprint(env["valueFrom"]), "batch.kubernetes.io/job-completion-index") {
		t.Errorf("env %v", env)
	}
	if pod["restartPolicy"] != "Never" {
		t.Errorf("restartPolicy %v", pod["restartPolicy"])
	}
	// The flags parse as mlpsweep's own (the index from the environment).
	fs, f := newSweepFlags(io.Discard)
	flagArgs := slices.Clone(args[2:])
	flagArgs[o-1] = "/results/shard-0"
	if err := fs.Parse(flagArgs); err != nil || fs.NArg() != 0 || f.shardCount != completions {
		t.Errorf("args %v: %v", flagArgs, err)
	}

	merge := readYAMLDocs(t, "../../deploy/kubernetes/merge-job.yaml")[0]
	mc := merge["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	margs := toStrings(mc["args"])
	var want []string
	for i := range completions {
		want = append(want, fmt.Sprintf(strings.Replace(args[o+1], "$(JOB_COMPLETION_INDEX)", "%d", 1), i))
	}
	if margs[0] != "merge" || !slices.Equal(margs[2:], want) {
		t.Errorf("merge args %v; want merge OUT %v", margs, want)
	}
}

func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, d)
	}
	return docs
}

func toInt(t *testing.T, v any) int {
	switch x := v.(type) {
	case uint64:
		return int(x)
	case int64:
		return int(x)
	case int:
		return x
	}
	t.Fatalf("%v (%T) is not an integer", v, v)
	return 0
}

func toStrings(v any) []string {
	var s []string
	for _, x := range v.([]any) {
		s = append(s, fmt.Sprint(x))
	}
	return s
}

// TestSlurmScripts runs the Slurm batch scripts as Slurm would run them
// (an array task's variables set; no sbatch here) with this test binary as
// mlpsweep, and checks the merged result is the local run's.
func TestSlurmScripts(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../../deploy/slurm/sweep-array.sbatch")
	src, err := os.ReadFile(script)
	if err != nil || !strings.Contains(string(src), "#SBATCH --array=0-") {
		t.Fatalf("%s: %v", script, err)
	}
	scratch := filepath.Join(dir, "scratch")
	envFor := func(extra ...string) []string {
		return append(os.Environ(), append([]string{"MLPSWEEP_TEST_CLI=1", "MLPSWEEP=" + self, "SCRATCH=" + scratch, "SLURM_CPUS_PER_TASK=2"}, extra...)...)
	}
	for i := range 3 {
		cmd := exec.Command(bash, script, study, "--epochs", "1")
		cmd.Env = envFor(fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i), "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=2")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), fmt.Sprintf("shard %d/3", i)) {
			t.Fatalf("task %d: %v\n%s", i, err, out)
		}
	}
	cmd := exec.Command(bash, "../../deploy/slurm/merge.sbatch")
	cmd.Env = envFor()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.Contains(stderr.String(), "6 of 6 units done") {
		t.Fatalf("merge: %v\n%s", err, stderr.String())
	}
	code, out, errs := runCmd("sweep", study, "--epochs", "1", "--out", filepath.Join(dir, "local"), "--workers", "2", "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	_, merged := runCmdUnits(t, "report", filepath.Join(scratch, "merged"), "--json")
	if !slices.Equal(resultBits(merged), resultBits(decodeStudyJSON(t, out))) {
		t.Error("the Slurm scripts' merged result differs from the local run")
	}
	// Without a study the script says how to use it, with status 2.
	cmd = exec.Command(bash, script)
	cmd.Env = envFor("SLURM_ARRAY_TASK_ID=0")
	if out, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "usage: sbatch") {
		t.Errorf("no study: %v\n%s", err, out)
	}
}

// TestMergePrunedStoreReportsAsTheStore: a pruned study swept into a
// PostgreSQL store that also holds its pruned units done under another ISA
// path (another study's, trained fully), merged from that store into a
// folder, reports there as report --store does: the same tables (its rung
// decisions, its own pruned units), and merge counts its pruned units as
// finished (exit 0). Defect: merge kept the other path's done rows over
// the study's pruned ones, left the decisions out and counted pruned
// units missing (exit 1).
func TestMergePrunedStoreReportsAsTheStore(t *testing.T) {
	url := storetest.Postgres(t)
	dir := t.TempDir()
	study := writePrunedStudy(t, dir, "sha")
	if code, _, stderr := runCmd("sweep", study, "--store", url, "--out", filepath.Join(dir, "run"), "--workers", "2"); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	others := saveDoneElsewhere(t, url, "pruned")
	if others == 0 {
		t.Fatal("the sweep pruned no unit")
	}
	merged := filepath.Join(dir, "merged")
	code, _, stderr := runCmd("merge", merged, url)
	if code != 0 || !strings.Contains(stderr, "units done, ") || !strings.Contains(stderr, " pruned, 0 failed, 0 missing") {
		t.Fatalf("merge: exit %d:\n%s", code, stderr)
	}
	code, fromStore, stderr := runCmd("report", "--store", url, "--out", filepath.Join(dir, "rep"))
	if code != 0 || !strings.Contains(fromStore, "pruned at epoch 1: ") {
		t.Fatalf("report --store: exit %d:\n%s%s", code, fromStore, stderr)
	}
	if strings.Contains(fromStore, "0.9900") || strings.Contains(fromStore, "another engine identity") {
		t.Errorf("report --store takes the other path's done units:\n%s", fromStore)
	}
	code, fromMerged, stderr := runCmd("report", merged)
	if code != 0 || fromMerged != fromStore {
		t.Errorf("report of the merge: exit %d:\n%s%s\nreport --store:\n%s", code, fromMerged, stderr, fromStore)
	}
	// Merged, the other path's rows are kept beside the study's own.
	if n := doneElsewhere(t, merged); n != others {
		t.Errorf("the merge holds %d units done under another path, want %d", n, others)
	}
}

// saveDoneElsewhere stores, for each unit of study that the store at
// where holds pruned, a result done under another ISA path of its engine
// version (accuracy 0.99 on every epoch), and returns how many.
func saveDoneElsewhere(t *testing.T, where, name string) int {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, where)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, points, err := s.Study(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	isa := "generic"
	if strings.HasSuffix(h.Engine, "/generic") {
		isa = "avx2"
	}
	n := 0
	for _, u := range sweeps.Plan(h, points) {
		if _, state, err := s.Unit(u.ID); err != nil || state != "pruned" {
			continue
		}
		id := u.ID
		id.Engine = sweeps.EngineVersionOf(h.Engine) + "/" + isa
		r := sweeps.UnitResult{Fold: id.Fold, Accuracy: 0.99, ValLoss: 0.01, Samples: 10, Seconds: 1, Machine: sweeps.Machine{Host: "elsewhere", CPU: "cpu", ISA: isa}}
		for e := range h.Epochs {
			r.Epochs = append(r.Epochs, engine.EpochStats{Epoch: e + 1, Loss: 0.01, Accuracy: 0.99, ValLoss: 0.01, ValAccuracy: 0.99, Seconds: 1})
		}
		if err := s.SaveUnit(id, "another", r); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// doneElsewhere counts the unit rows of the database in dir done on host
// "elsewhere" (saveDoneElsewhere's).
func doneElsewhere(t *testing.T, dir string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.DBName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM units WHERE state = 'done' AND host = 'elsewhere'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
