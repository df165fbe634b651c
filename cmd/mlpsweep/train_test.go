package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/internal/fixture"
)

// writeSortedCSV writes a CSV of 5 classes × 30 rows sorted by class
// (0 … 4), features separating them, and returns its path.
func writeSortedCSV(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("a,b,label\n")
	for c := range 5 {
		for i := range 30 {
			fmt.Fprintf(&b, "%d.%02d,%d,%d\n", c, i, i%7, c)
		}
	}
	path := filepath.Join(dir, "sorted.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodeTrainJSON(t *testing.T, s string) trainResult {
	t.Helper()
	var r trainResult
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not one train JSON object: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON value:\n%s", s)
	}
	return r
}

func TestTrainJSONIsTheConfigResult(t *testing.T) {
	dir := t.TempDir()
	writeCSVStudy(t, dir)
	code, stdout, stderr := runCmd("train", "--csv", filepath.Join(dir, "blobs.csv"), "--folds", "2", "--epochs", "2",
		"--hidden", "8", "--batch", "16", "--seed", "7", "--threads", "2", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := decodeTrainJSON(t, stdout)
	c := r.Result
	if r.Evaluation != "kfold" || r.Seed != 7 || r.Diverged || r.WallSeconds <= 0 || r.SamplesPerSecond <= 0 ||
		c.Params.Epochs() != 2 || c.Params.Hidden()[0] != 8 || len(c.Units) != 2 || len(c.FoldAccuracies) != 2 ||
		c.MeanAccuracy < 0.5 || c.Units[1].Fold != 1 || len(c.Units[0].Epochs) != 2 || c.Units[0].Samples != 2*120 {
		t.Fatalf("result %+v", r)
	}
	if strings.Contains(stdout, `"seed": 0`) {
		t.Errorf("params carry a seed:\n%s", stdout)
	}
	// 2 folds × 120 rows × 2 epochs of 4-8-3: 6·(32+24) − 2·32 = 272 FLOPs a row.
	if want := 480 * 272 / 1e9; math.Abs(r.GFLOP-want) > 1e-15 || r.GFLOPS <= 0 || r.PeakGFLOPS <= 0 ||
		math.Abs(r.PercentOfPeak-100*r.GFLOPS/r.PeakGFLOPS) > 1e-9 || !strings.Contains(stdout, `"percent_of_peak"`) {
		t.Errorf("rate %+v, want %v GFLOP", r.Rate, want)
	}
}

func TestTrainJSONDiverged(t *testing.T) {
	// Defect: a diverged run printed "json: unsupported value: NaN", exit 1.
	dir := t.TempDir()
	writeCSVStudy(t, dir)
	code, stdout, stderr := runCmd("train", "--csv", filepath.Join(dir, "blobs.csv"), "--optimizer", "sgd", "--lr", "1e30",
		"--epochs", "3", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := decodeTrainJSON(t, stdout)
	if !r.Diverged || !strings.HasPrefix(r.Divergence, "diverged at epoch") || r.Evaluation != "val-split" ||
		len(r.Result.Units) != 1 || !r.Result.Units[0].Diverged || !strings.Contains(stderr, r.Divergence) {
		t.Fatalf("result %+v\nstderr:\n%s", r, stderr)
	}
	if !strings.Contains(stdout, `"diverged": true`) || !strings.Contains(stdout, `null`) {
		t.Errorf("want diverged: true and null for the non-finite loss:\n%s", stdout)
	}
	// Defect: diverged before an epoch ended, the summary said "0 samples/s,
	// 0.0 GFLOP/s (0% of the 0 GFLOP/s peak of 1 cores)".
	if r.GFLOP != 0 || strings.Contains(stderr, "samples/s,") || strings.Contains(stderr, "peak") {
		t.Errorf("no training epoch finished, but a rate was stated (%v GFLOP):\n%s", r.GFLOP, stderr)
	}
}

// TestTrainSaveDiverged: a diverged run asked to --save writes no model
// and exits 1, as the README's exit statuses say (the file asked for was
// not written), naming the divergence.
func TestTrainSaveDiverged(t *testing.T) {
	dir := t.TempDir()
	writeCSVStudy(t, dir)
	model := filepath.Join(dir, "m.safetensors")
	code, _, stderr := runCmd("train", "--csv", filepath.Join(dir, "blobs.csv"), "--optimizer", "sgd", "--lr", "1e30",
		"--epochs", "3", "--threads", "1", "--save", model)
	if code != 1 || !strings.Contains(stderr, "--save "+model+": training diverged (diverged at epoch 1") || !strings.Contains(stderr, "no model saved") {
		t.Errorf("exit %d, want 1:\n%s", code, stderr)
	}
	if _, err := os.Stat(model); err == nil {
		t.Error("a diverged model was saved")
	}
}

func TestTrainUsageErrors(t *testing.T) {
	dir := t.TempDir()
	writeCSVStudy(t, dir)
	csv := filepath.Join(dir, "blobs.csv")
	for _, tc := range []struct {
		args []string
		want string
	}{
		// Defect: --batch 0 trained with 128 and --epochs 0 for 10 epochs.
		{[]string{"--batch", "0"}, "--batch 0: want N ≥ 1"},
		{[]string{"--batch", "-4"}, "--batch -4: want N ≥ 1"},
		{[]string{"--epochs", "0"}, "--epochs 0: want N ≥ 1"},
		{[]string{"--epochs", "-1"}, "--epochs -1: want N ≥ 1"},
		// Defect: --scale foo exited 1.
		{[]string{"--csv", csv, "--scale", "foo"}, `--scale "foo": want standardize, minmax, none`},
		// Defect: options ignored without --csv, or with it.
		{[]string{"--scale", "none"}, "--scale and --label-column apply to a CSV file"},
		{[]string{"--label-column", "label"}, "--scale and --label-column apply to a CSV file"},
		{[]string{"--csv", csv, "--data", dir}, "--data (the MNIST folder) and --csv exclude each other"},
		{[]string{"--csv", ""}, "--csv '': an empty value"},
		{[]string{"--folds", "1"}, "--folds 1"},
		// Defect: the configuration's keys, "activity_l1: -1 is not …".
		{[]string{"--activity-l1", "-1"}, "mlpsweep train: --activity-l1: -1 is not a finite value ≥ 0\n"},
		{[]string{"--dropout", "1"}, "mlpsweep train: --dropout: 1 (want 0 ≤ rate < 1)\n"},
		{[]string{"--init", "bogus"}, `mlpsweep train: --init: unknown value "bogus"`},
		// Defect: --residual without two equal widths in a row trained a
		// plain network without a word (a study file refuses it).
		{[]string{"--residual", "--hidden", "64,32"}, "--residual changes nothing for --hidden 64,32: a skip connection joins two hidden layers of equal width in a row"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		// Defect: a seed outside scikit-learn's random_state range wrapped
		// around for the folds (-1 split as 4294967295).
		{[]string{"--csv", csv, "--folds", "2", "--seed", "-1"}, "--seed -1: want 0 to 4294967295"},
		{[]string{"--csv", csv, "--folds", "2", "--seed", "4294967338"}, "--seed 4294967338: want 0 to 4294967295"},
	} {
		code, _, stderr := runCmd(append([]string{"train"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestTrainCSVDataProblems(t *testing.T) {
	dir := t.TempDir()
	sorted := writeSortedCSV(t, dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		// Defect: a --limit-rows that leaves one class was accepted.
		{[]string{"--csv", sorted, "--limit-rows", "30"}, `--limit-rows 30: the first 30 rows of sorted all have the class "0" (of 5 classes); need at least 2 classes`},
		// Defect: a continuous column as the label made one class per row.
		{[]string{"--csv", sorted, "--label-column", "a"}, `the label column 1 ("a") holds non-integer numbers such as "0.01": it looks like a continuous feature`},
		{[]string{"--csv", filepath.Join(dir, "nope.csv")}, "nope.csv: no such file"},
		// Defect: a nonexistent --data folder was said to lack the files.
		{[]string{"--data", filepath.Join(dir, "nope")}, "MNIST: the folder " + filepath.Join(dir, "nope") + " does not exist"},
	} {
		code, _, stderr := runCmd(append([]string{"train", "--epochs", "1"}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train %v: exit %d, stderr %q; want 1 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestTrainWarnsOfUnseenClasses(t *testing.T) {
	// Defect: the last rows of a class-sorted file, held out by default,
	// hold only a class the training rows lack: accuracy 0, no warning.
	sorted := writeSortedCSV(t, t.TempDir())
	code, _, stderr := runCmd("train", "--csv", sorted, "--epochs", "1", "--threads", "1")
	want := `warning: 30 of the 30 held-out rows have classes the training rows never show ("4"), so they score 0; is the file sorted by class?`
	if code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant %q", code, stderr, want)
	}
	// Shuffled folds see every class.
	if code, _, stderr := runCmd("train", "--csv", sorted, "--epochs", "1", "--folds", "3", "--threads", "1"); code != 0 || strings.Contains(stderr, "warning") {
		t.Errorf("--folds 3: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runCmd("help")
	if code != 0 || !strings.Contains(stdout, "Exit status:") || !strings.Contains(stdout, "usage error") {
		t.Errorf("help: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := runCmd("help", "train"); code != 0 || !strings.Contains(stdout, "Usage: mlpsweep train") || !strings.Contains(stdout, `"diverged": true`) {
		t.Errorf("help train: exit %d\n%s", code, stdout)
	}
	// Defect: help nosuch printed the command list and exited 0.
	if code, stdout, stderr := runCmd("help", "nosuch"); code != 2 || stdout != "" || !strings.Contains(stderr, `mlpsweep help: unknown command "nosuch"`) {
		t.Errorf("help nosuch: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := runCmd("help", "train", "sweep"); code != 2 || !strings.Contains(stderr, "one command at most") {
		t.Errorf("help train sweep: exit %d, stderr %q", code, stderr)
	}
}

// TestTrainInterruptedExits130: Ctrl-C (SIGINT) during training stops it
// with the documented status 130 and says so.
func TestTrainInterruptedExits130(t *testing.T) {
	dir := t.TempDir()
	csv := writeBlobsCSV(t, dir, "blobs.csv", 2000, 20)
	child := exec.Command(os.Args[0], "train", "--csv", csv, "--hidden", "32", "--epochs", "1000", "--batch", "8", "--threads", "1")
	child.Env = append(os.Environ(), "MLPSWEEP_TEST_CLI=1")
	stderr, err := child.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "epoch 2/") {
			child.Process.Signal(os.Interrupt)
			break
		}
	}
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = child.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(log.String(), "mlpsweep train: interrupted") {
		t.Fatalf("exit %v, want status 130 and a message:\n%s", err, log.String())
	}
}

// TestTrainEpochLinesHaveETA: train's progress says how long the run has
// left: every epoch line but the run's last ends with an ETA, over all the
// folds' epochs (folds train in parallel) and for one model saved.
func TestTrainEpochLinesHaveETA(t *testing.T) {
	dir := t.TempDir()
	data := writeBlobsCSV(t, dir, "blobs.csv", 120, 4)
	for _, tc := range []struct {
		args  []string
		lines int
	}{
		{[]string{"--folds", "2"}, 6},
		{[]string{"--save", filepath.Join(dir, "m.st")}, 3},
	} {
		args := append([]string{"train", "--csv", data, "--hidden", "4", "--epochs", "3", "--threads", "2"}, tc.args...)
		code, _, stderr := runCmd(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var epochs []string
		for line := range strings.Lines(stderr) {
			if strings.Contains(line, "epoch ") && strings.Contains(line, " loss ") {
				epochs = append(epochs, strings.TrimSpace(line))
			}
		}
		if len(epochs) != tc.lines {
			t.Fatalf("%v: %d epoch lines, want %d:\n%s", tc.args, len(epochs), tc.lines, stderr)
		}
		for i, line := range epochs {
			_, eta, ok := strings.Cut(line, ", eta ")
			last := i == len(epochs)-1
			if ok == last || ok && !strings.HasSuffix(eta, "s") {
				t.Errorf("%v: epoch line %d of %d: %q (want an ETA on every line but the last)", tc.args, i+1, len(epochs), line)
			}
		}
	}
}

// TestTrainSummaryWording: one validation split states its accuracy alone
// (a ± over one split read 0.0000), folds state their spread, and one epoch
// is "1 epoch".
func TestTrainSummaryWording(t *testing.T) {
	data := writeBlobsCSV(t, t.TempDir(), "blobs.csv", 120, 4)
	for _, c := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"--epochs", "1"}, "(val-split)", "±"},
		{[]string{"--epochs", "1"}, "batch 128, 1 epoch", "1 epochs"},
		{[]string{"--epochs", "2", "--folds", "2"}, "± ", "2 epoch,"},
	} {
		code, _, stderr := runCmd(append([]string{"train", "--csv", data, "--hidden", "4", "--threads", "1"}, c.args...)...)
		if code != 0 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, c.not) {
			t.Errorf("train %v: exit %d, want %q and no %q in:\n%s", c.args, code, c.want, c.not, stderr)
		}
	}
}

// TestIdleSwitchNotes: an option that changes nothing is named, with
// what would make it work, on the command line and in a study file's
// base; the run goes on (Keras takes nesterov with momentum 0 too).
// Defect: a study varying them showed the same numbers side by side
// without a word.
func TestIdleSwitchNotes(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "blobs.csv")
	fixture.BlobsCSV(t, data, 60, 3, 4)
	quick := []string{"train", "--csv", data, "--hidden", "4", "--epochs", "1", "--threads", "1", "--optimizer", "sgd", "--nesterov"}
	note := "note: --nesterov changes nothing with --momentum 0 (plain SGD, as Keras trains it): set --momentum, e.g. 0.9, or leave --nesterov out\n"
	if code, _, stderr := runCmd(quick...); code != 0 || !strings.Contains(stderr, note) {
		t.Errorf("train --nesterov: exit %d, want %q:\n%s", code, note, stderr)
	}
	if code, _, stderr := runCmd(append(quick, "--momentum", "0.9")...); code != 0 || strings.Contains(stderr, "note:") {
		t.Errorf("train --nesterov --momentum 0.9: exit %d:\n%s", code, stderr)
	}
	if code, _, stderr := runCmd("train", "--csv", data, "--hidden", "4", "--epochs", "1", "--activity-undivided"); code != 0 ||
		!strings.Contains(stderr, "note: --activity-undivided changes nothing without --activity-l1 or --activity-l2") {
		t.Errorf("train --activity-undivided: exit %d:\n%s", code, stderr)
	}
	study := filepath.Join(dir, "nag.yaml")
	if err := os.WriteFile(study, []byte("name: nag\ndata: {csv: blobs.csv, label: label}\nfolds: 2\nepochs: 1\nbase: {hidden: [4], optimizer: sgd, nesterov: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "note: " + study + ":5: base.nesterov: nesterov: true changes nothing with momentum 0"
	if code, _, stderr := runCmd("sweep", study, "--out", filepath.Join(dir, "out"), "--workers", "1"); code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("sweep: exit %d, want %q:\n%s", code, want, stderr)
	}
}
