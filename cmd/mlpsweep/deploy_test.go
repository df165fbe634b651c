package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestSlurmScriptsSharedStore runs the Slurm scripts as TestSlurmScripts
// does, but with MLPSWEEP_STORE set in the environment, as sbatch passes
// it on from a shell that exported it for queue mode: the array tasks
// store their units in that PostgreSQL database, and merge.sbatch merges
// the study from there (it failed on the shard folders, which hold no
// database). Each shard says where its units went; merge given the
// folders names the store to give it instead.
func TestSlurmScriptsSharedStore(t *testing.T) {
	bash, self := bashAndSelf(t)
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	scratch := filepath.Join(dir, "scratch")
	envFor := func(extra ...string) []string {
		return append(os.Environ(), append([]string{"MLPSWEEP_TEST_CLI=1", "MLPSWEEP=" + self, "SCRATCH=" + scratch,
			"SLURM_CPUS_PER_TASK=2", "MLPSWEEP_STORE=" + url}, extra...)...)
	}
	for i := range 2 {
		cmd := exec.Command(bash, "../../deploy/slurm/sweep-array.sbatch", study, "--epochs", "1")
		cmd.Env = envFor(fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i), "SLURM_ARRAY_TASK_COUNT=2")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), fmt.Sprintf("shard %d/2", i)) ||
			!strings.Contains(string(out), "which holds the other shards' too: once every shard is done, mlpsweep report --store URL reports the whole study") {
			t.Fatalf("task %d: %v\n%s", i, err, out)
		}
	}
	// Another study recorded in the store since: merge.sbatch merges the
	// study it is given (submit.sh gives it), and says so when given none.
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte("name: other\ndata: {csv: blobs.csv, label: label}\nfolds: 2\nepochs: 1\nseed: 5\nbase: {hidden: [4]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd("sweep", other, "--store", url, "--out", filepath.Join(dir, "other")); code != 0 {
		t.Fatalf("other study: exit %d: %s", code, stderr)
	}
	cmd := exec.Command(bash, "../../deploy/slurm/merge.sbatch", "--study", "csvtest")
	cmd.Env = envFor()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "merged 1 shard of study csvtest into "+filepath.Join(scratch, "merged")+": 6 of 6 units done") {
		t.Fatalf("merge.sbatch: %v\n%s", err, out)
	}
	cmd = exec.Command(bash, "../../deploy/slurm/merge.sbatch")
	cmd.Env = envFor("SCRATCH=" + filepath.Join(dir, "scratch-other"))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "merge.sbatch: no --study NAME: merging the study of ") {
		t.Errorf("merge.sbatch without --study: %v\n%s", err, out)
	}
	code, stdout, stderr := runCmd("sweep", study, "--store", "", "--epochs", "1", "--out", filepath.Join(dir, "local"), "--workers", "2", "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	_, merged := runCmdUnits(t, "report", filepath.Join(scratch, "merged"), "--json")
	if !slices.Equal(resultBits(merged), resultBits(decodeStudyJSON(t, stdout))) {
		t.Error("the Slurm scripts' merged result differs from the local run")
	}

	// merge on the shard folders, which hold reports but no database.
	code, _, stderr = runCmd("merge", filepath.Join(dir, "m"), filepath.Join(scratch, "shard-0"), filepath.Join(scratch, "shard-1"))
	if code != 1 || !strings.Contains(stderr, filepath.Join(scratch, "shard-0")+" holds a sweep's report but no database: that sweep kept its units in a PostgreSQL store") {
		t.Errorf("merge of the shard folders: exit %d: %s", code, stderr)
	}
}

// TestSlurmWorkerScript runs deploy/slurm/worker.sbatch as two array tasks
// of queue mode (MLPSWEEP_STORE in the environment, as sbatch passes it
// on) with this test binary as mlpsweep: they train the enqueued study,
// exit when the queue is empty, and sweep --wait reports the local run's
// numbers bit for bit. Without MLPSWEEP_STORE the script says what to set.
func TestSlurmWorkerScript(t *testing.T) {
	bash, self := bashAndSelf(t)
	url, dir, study := enqueueCSVStudy(t)
	local := sweepLocal(t, study, dir)
	env := append(os.Environ(), "MLPSWEEP_TEST_CLI=1", "MLPSWEEP="+self, "SLURM_CPUS_PER_TASK=1")
	tasks := make([]*exec.Cmd, 2)
	outs := make([]strings.Builder, 2)
	for i := range tasks {
		tasks[i] = exec.Command(bash, "../../deploy/slurm/worker.sbatch")
		tasks[i].Env = append(env, fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i), "MLPSWEEP_STORE="+url)
		tasks[i].Stdout, tasks[i].Stderr = &outs[i], &outs[i]
		if err := tasks[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	recorded := 0
	for i, task := range tasks {
		if err := task.Wait(); err != nil || !strings.Contains(outs[i].String(), "worker: queue ") {
			t.Fatalf("task %d: %v\n%s", i, err, outs[i].String())
		}
		if m := unitsRecorded.FindStringSubmatch(outs[i].String()); m != nil {
			n, _ := strconv.Atoi(m[1])
			recorded += n
		}
	}
	if recorded != 6 {
		t.Errorf("the tasks recorded %d units, want 6:\n%s\n%s", recorded, outs[0].String(), outs[1].String())
	}
	code, stdout, stderr := runCmd("sweep", study, "--store", url, "--wait", "--json", "--out", filepath.Join(dir, "queue"))
	if code != 0 {
		t.Fatalf("wait: exit %d: %s", code, stderr)
	}
	if r := decodeStudyJSON(t, stdout); !slices.Equal(resultBits(r), resultBits(local)) {
		t.Error("the Slurm workers' results differ from the local run's")
	}

	cmd := exec.Command(bash, "../../deploy/slurm/worker.sbatch")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "set MLPSWEEP_STORE to the postgres:// URL") {
		t.Errorf("no MLPSWEEP_STORE: %v\n%s", err, out)
	}
}

// unitsRecorded is a worker's summary line.
var unitsRecorded = regexp.MustCompile(`(?m)^worker: (\d+) units recorded`)

// bashAndSelf returns bash's path, to run deploy/'s scripts (the test is
// skipped without it), and this test binary's, their mlpsweep.
func bashAndSelf(t *testing.T) (bash, self string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if self, err = os.Executable(); err != nil {
		t.Fatal(err)
	}
	return bash, self
}

// TestKubernetesQueueJobs checks deploy/kubernetes/enqueue-job.yaml and
// worker-job.yaml, then runs their containers' arguments as written, with
// the study and its data where the pods mount them and MLPSWEEP_STORE as
// their secret gives it: the workers train the enqueued study and exit,
// and sweep --wait reports the local run's numbers bit for bit.
func TestKubernetesQueueJobs(t *testing.T) {
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	local := sweepLocal(t, study, dir)

	containers := map[string]map[string]any{}
	for _, name := range []string{"enqueue", "worker"} {
		docs := readYAMLDocs(t, "../../deploy/kubernetes/"+name+"-job.yaml")
		if len(docs) != 1 || docs[0]["kind"] != "Job" {
			t.Fatalf("%s-job.yaml: want one Job, got %v", name, docs)
		}
		pod := docs[0]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		c := pod["containers"].([]any)[0].(map[string]any)
		env := fmt.Sprint(c["env"])
		if c["command"].([]any)[0] != "mlpsweep" || !strings.Contains(env, "name:MLPSWEEP_STORE") || !strings.Contains(env, "secretKeyRef:map[key:url name:mlpsweep-store]") {
			t.Errorf("%s-job.yaml: command %v, env %s", name, c["command"], env)
		}
		if !strings.Contains(fmt.Sprint(pod["volumes"]), "claimName:mlpsweep-results") {
			t.Errorf("%s-job.yaml: volumes %v, want sweep-indexed-job.yaml's claim", name, pod["volumes"])
		}
		containers[name] = c
	}
	worker := toStrings(containers["worker"]["args"])
	cpu := fmt.Sprint(containers["worker"]["resources"].(map[string]any)["requests"].(map[string]any)["cpu"])
	if i := slices.Index(worker, "--workers"); worker[0] != "worker" || i < 0 || worker[i+1] != cpu || !slices.Contains(worker, "--exit-when-done") {
		t.Errorf("worker args %v: want worker --exit-when-done --workers %s (the cores requested)", worker, cpu)
	}

	t.Setenv("MLPSWEEP_STORE", url)
	enqueue := toStrings(containers["enqueue"]["args"])
	for i, a := range enqueue {
		switch a {
		case "/study/study.yaml":
			enqueue[i] = study
		case "/results/data/mnist": // --data: here the study's CSV file
			enqueue[i] = filepath.Join(dir, "blobs.csv")
		}
	}
	if code, _, stderr := runCmd(enqueue...); code != 0 || !strings.Contains(stderr, "6 enqueued") {
		t.Fatalf("%v: exit %d: %s", enqueue, code, stderr)
	}
	if code, _, stderr := runCmd(worker...); code != 0 || !strings.Contains(stderr, "6 units recorded (0 failed)") {
		t.Fatalf("%v: exit %d: %s", worker, code, stderr)
	}
	code, stdout, stderr := runCmd("sweep", study, "--wait", "--json", "--out", filepath.Join(dir, "queue"))
	if code != 0 {
		t.Fatalf("wait: exit %d: %s", code, stderr)
	}
	if r := decodeStudyJSON(t, stdout); !slices.Equal(resultBits(r), resultBits(local)) {
		t.Error("the Kubernetes workers' results differ from the local run's")
	}
}
