package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// TestMain lets a test run the CLI as a child process (the crash test
// kills it): with MLPSWEEP_TEST_CLI=1 the test binary is mlpsweep.
func TestMain(m *testing.M) {
	if os.Getenv("MLPSWEEP_TEST_CLI") == "1" {
		var stderr io.Writer = os.Stderr
		if at := os.Getenv("MLPSWEEP_TEST_HOLD_AT"); at != "" {
			stderr = &holdWriter{w: os.Stderr, at: []byte(at)}
		}
		os.Exit(runWithSignals(os.Args[1:], os.Stdout, stderr))
	}
	os.Exit(m.Run())
}

// holdWriter passes writes to w until one holds at, which it writes and
// then never returns from: a child of a kill test (MLPSWEEP_TEST_HOLD_AT)
// stops where it reports that line, so that a parent slow to read it
// cannot find the child gone further, or finished, when its kill lands.
type holdWriter struct {
	w  io.Writer
	at []byte
}

func (h *holdWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	if bytes.Contains(p, h.at) {
		time.Sleep(time.Hour) // killed here
	}
	return n, err
}

// writeBlobsCSV writes rows rows of features features in 3 string classes,
// with a header, to dir/name.
func writeBlobsCSV(t *testing.T, dir, name string, rows, features int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(rows), uint64(features)))
	var b strings.Builder
	for j := range features {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("species\n")
	for range rows {
		c := rng.IntN(3)
		for j := range features {
			fmt.Fprintf(&b, "%.4f,", 100*float64(j)+float64(c*(j%3))*2+rng.NormFloat64())
		}
		fmt.Fprintf(&b, "%s\n", []string{"ant", "bee", "cat"}[c])
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sameFigures reports whether two train --json results have the same
// configuration and figures: the final ones and, over the epochs both ran
// (a resumed run has only those after its checkpoint), the curves.
func sameFigures(a, b trainResult) bool {
	ra, rb := a.Result, b.Result
	if ra.Key != rb.Key || ra.MeanAccuracy != rb.MeanAccuracy || ra.MeanValLoss != rb.MeanValLoss || len(ra.Units) != 1 || len(rb.Units) != 1 {
		return false
	}
	ea, eb := ra.Units[0].Epochs, rb.Units[0].Epochs
	n := min(len(ea), len(eb))
	if n == 0 {
		return false
	}
	for i := 1; i <= n; i++ {
		x, y := ea[len(ea)-i], eb[len(eb)-i]
		if x.Epoch != y.Epoch || x.Loss != y.Loss || x.Accuracy != y.Accuracy || x.ValLoss != y.ValLoss || x.ValAccuracy != y.ValAccuracy {
			return false
		}
	}
	return true
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, s)
	}
	return v
}

// TestTrainSavePredictCSV: --save changes no figure; predict applies the
// stored scaling and class labels, so its probabilities are bit-identical
// to the model's on the training rows as train scaled them, with or
// without the label column.
func TestTrainSavePredictCSV(t *testing.T) {
	dir := t.TempDir()
	csv := writeBlobsCSV(t, dir, "blobs.csv", 300, 6)
	model := filepath.Join(dir, "m.safetensors")
	args := []string{"train", "--csv", csv, "--hidden", "8", "--epochs", "3", "--batch", "16", "--threads", "1", "--json"}
	code, plain, stderr := runCmd(args...)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	code, saved, stderr := runCmd(append(args, "--save", model)...)
	if code != 0 {
		t.Fatalf("train --save: exit %d: %s", code, stderr)
	}
	a, b := decodeJSON[trainResult](t, plain), decodeJSON[trainResult](t, saved)
	if !sameFigures(a, b) || a.Evaluation != "val-split" || len(b.Result.Units[0].Epochs) != 3 {
		t.Fatalf("--save changed the figures: %+v vs %+v", a, b)
	}

	code, stdout, stderr := runCmd("predict", "--model", model, "--csv", csv, "--json", "--threads", "1")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr)
	}
	res := decodeJSON[predictResult](t, stdout)
	m, info, err := engine.Load(model, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := datasets.LoadCSV(csv, datasets.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, data.N*3)
	if err := m.Predict(data.X, data.N, want); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 300 || len(res.Predictions) != 300 || strings.Join(res.Classes, ",") != "ant,bee,cat" || info.Scaling.Method != "standardize" {
		t.Fatalf("result %d rows, classes %v, scaling %+v", res.Rows, res.Classes, info.Scaling)
	}
	correct := 0
	for i, p := range res.Predictions {
		for c, v := range p.Probabilities {
			if math.Float32bits(v) != math.Float32bits(want[i*3+c]) {
				t.Fatalf("row %d class %d: predict %v, model %v", i, c, v, want[i*3+c])
			}
		}
		if p.Label != data.ClassNames[data.Labels[i]] {
			t.Fatalf("row %d: label %q", i, p.Label)
		}
		if p.Class == p.Label {
			correct++
		}
	}
	total := 0
	for _, row := range res.Confusion {
		for _, n := range row {
			total += n
		}
	}
	if res.Correct == nil || *res.Correct != correct || *res.Accuracy != float64(correct)/300 || total != 300 {
		t.Fatalf("correct %v accuracy %v confusion %v (counted %d)", res.Correct, res.Accuracy, res.Confusion, correct)
	}

	// The same rows without the label column, to a CSV file.
	lines := strings.Split(strings.TrimSpace(readFile(t, csv)), "\n")
	var bare strings.Builder
	for _, l := range lines[1:] {
		bare.WriteString(l[:strings.LastIndexByte(l, ',')] + "\n")
	}
	bareCSV := filepath.Join(dir, "bare.csv")
	os.WriteFile(bareCSV, []byte(bare.String()), 0o644)
	out := filepath.Join(dir, "preds.csv")
	code, _, stderr = runCmd("predict", "--model", model, "--csv", bareCSV, "--out", out)
	if code != 0 || strings.Contains(stderr, "accuracy") {
		t.Fatalf("unlabelled predict: exit %d: %s", code, stderr)
	}
	preds := strings.Split(strings.TrimSpace(readFile(t, out)), "\n")
	if len(preds) != 301 || preds[0] != "row,class,p_ant,p_bee,p_cat" {
		t.Fatalf("preds.csv: %d lines, header %q", len(preds), preds[0])
	}
	first := strings.Split(preds[1], ",")
	if first[1] != res.Predictions[0].Class || first[2] != fmt.Sprint(res.Predictions[0].Probabilities[0]) {
		t.Fatalf("preds.csv row 0 %v, JSON %+v", first, res.Predictions[0])
	}

	// The same columns in another order, under their names: refused, not
	// read as the model's features in the model's order. Defect: predicted
	// from swapped features without a word.
	if !slices.Equal(info.Features, []string{"f0", "f1", "f2", "f3", "f4", "f5"}) {
		t.Fatalf("the model's feature names: %q", info.Features)
	}
	var swapped strings.Builder
	for _, l := range lines {
		f := strings.Split(l, ",")
		f[0], f[1] = f[1], f[0]
		swapped.WriteString(strings.Join(f, ",") + "\n")
	}
	swappedCSV := filepath.Join(dir, "swapped.csv")
	os.WriteFile(swappedCSV, []byte(swapped.String()), 0o644)
	os.Remove(out)
	code, _, stderr = runCmd("predict", "--model", model, "--csv", swappedCSV, "--out", out)
	if code != 1 || !strings.Contains(stderr, `feature column 1 is "f1", but the training rows' feature 1 was "f0"`) {
		t.Errorf("predict with swapped columns: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("predict with swapped columns wrote its output")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeIDXDir writes the four MNIST files with n images of side×side
// pixels into a new folder.
func writeIDXDir(t *testing.T, n, side int) string {
	t.Helper()
	dir := t.TempDir()
	images := binary.BigEndian.AppendUint32(nil, 0x803)
	images = binary.BigEndian.AppendUint32(images, uint32(n))
	images = binary.BigEndian.AppendUint32(images, uint32(side))
	images = binary.BigEndian.AppendUint32(images, uint32(side))
	images = append(images, make([]byte, n*side*side)...)
	labels := binary.BigEndian.AppendUint32(nil, 0x801)
	labels = binary.BigEndian.AppendUint32(labels, uint32(n))
	for i := range n {
		labels = append(labels, byte(i%10))
	}
	for _, set := range []string{"train", "t10k"} {
		os.WriteFile(filepath.Join(dir, set+"-images-idx3-ubyte"), images, 0o644)
		os.WriteFile(filepath.Join(dir, set+"-labels-idx1-ubyte"), labels, 0o644)
	}
	return dir
}

// TestPredictRefusesMisfits: a model for 64 inputs given 784-column data,
// bad model files and bad flags are clear errors with the documented exit
// status, and no output file appears.
func TestPredictRefusesMisfits(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m64.safetensors")
	csv64 := writeBlobsCSV(t, dir, "d64.csv", 60, 64)
	if code, _, stderr := runCmd("train", "--csv", csv64, "--hidden", "4", "--epochs", "1", "--threads", "1", "--save", model); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	good, _ := os.ReadFile(model)
	truncated := filepath.Join(dir, "truncated.safetensors")
	os.WriteFile(truncated, good[:len(good)-10], 0o644)
	nan := filepath.Join(dir, "nan.safetensors")
	bad := bytes.Clone(good)
	binary.LittleEndian.PutUint32(bad[len(bad)-4:], math.Float32bits(float32(math.NaN())))
	os.WriteFile(nan, bad, 0o644)
	csv784 := writeBlobsCSV(t, dir, "d784.csv", 5, 784)
	mnist := writeIDXDir(t, 3, 28)
	out := filepath.Join(dir, "preds.csv")
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--model", model, "--csv", csv784}, 1, "the model takes 64 features: " + csv784 + ": line 1 has 785 columns; want 64 feature columns"},
		{[]string{"--model", model, "--data", mnist}, 1, "was trained on CSV data (d64, standardize scaling); give its rows with --csv"},
		{[]string{"--model", truncated, "--csv", csv64}, 1, "but the file has"},
		{[]string{"--model", nan, "--csv", csv64}, 1, "holds NaN"},
		{[]string{"--model", filepath.Join(dir, "missing"), "--csv", csv64}, 1, "no such file"},
		{[]string{"--model", csv64, "--csv", csv64}, 1, "exceeds the format's limit of 100000000 bytes (not a safetensors file?)"},
		{[]string{"--csv", csv64}, 2, "--model FILE is required"},
		{[]string{"--model", model, "--csv", csv64, "--data", mnist}, 2, "--data (the MNIST folder) and --csv exclude each other"},
		{[]string{"--model", model}, 1, "was trained on CSV data (d64, standardize scaling); give its rows with --csv"},
		{[]string{"--model", model, "--label-column", "y"}, 2, "--label-column applies to --csv only"},
	} {
		code, stdout, stderr := runCmd(append([]string{"predict", "--out", out}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.err) || stdout != "" {
			t.Errorf("predict %v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("predict %v wrote %s", c.args, out)
		}
	}

	// A 784-input model on 784-pixel images works; on 64-column CSV it does not.
	mnistModel := filepath.Join(dir, "mnist.safetensors")
	if code, _, stderr := runCmd("train", "--data", mnist, "--hidden", "4", "--epochs", "1", "--threads", "1", "--save", mnistModel); code != 0 {
		t.Fatalf("train on IDX: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd("predict", "--model", mnistModel, "--data", mnist, "--out", out); code != 0 || !strings.Contains(stderr, "accuracy") {
		t.Fatalf("predict on IDX: exit %d: %s", code, stderr)
	}
	// Defect: predict decoded the training images too, and refused a
	// folder whose training images it does not need were damaged.
	os.WriteFile(filepath.Join(mnist, "train-images-idx3-ubyte"), []byte("damaged"), 0o644)
	if code, _, stderr := runCmd("predict", "--model", mnistModel, "--data", mnist, "--out", out); code != 0 || !strings.Contains(stderr, "3 rows of mnist-test") {
		t.Fatalf("predict on IDX with damaged training images: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd("predict", "--model", mnistModel, "--csv", csv64); code != 1 || !strings.Contains(stderr, "the model takes 784 features") {
		t.Fatalf("784-input model on 64 columns: exit %d: %s", code, stderr)
	}
	// Defect: "the MNIST test images in  have 784 pixels", with no folder
	// named and nothing to do.
	small := writeIDXDir(t, 3, 10)
	smallModel := filepath.Join(dir, "small.safetensors")
	if code, _, stderr := runCmd("train", "--data", small, "--hidden", "4", "--epochs", "1", "--threads", "1", "--save", smallModel); code != 0 {
		t.Fatalf("train on 10×10 IDX: exit %d: %s", code, stderr)
	}
	for args, want := range map[string]string{
		"--model " + smallModel:                      "the model takes 100 inputs; the MNIST test images of the pinned GoMNIST data have 784 pixels: give the model's data (--data DIR, or --csv FILE)",
		"--model " + mnistModel + " --data " + small: "the model takes 784 inputs; the MNIST test images in " + small + " have 100 pixels: give the model's data",
	} {
		if code, _, stderr := runCmd(append([]string{"predict"}, strings.Fields(args)...)...); code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("predict %s: exit %d, want 1 and %q:\n%s", args, code, want, stderr)
		}
	}
	if code, _, stderr := runCmd("train", "--csv", csv64, "--folds", "2", "--save", model); code != 2 || !strings.Contains(stderr, "--folds 2 trains 2") {
		t.Fatalf("--save --folds: exit %d: %s", code, stderr)
	}
}

// TestPredictPinnedMNIST: a model train saved from the pinned MNIST
// classifies those test images without --data, as train found them.
// Defect: predict wanted --data DIR, the folder of a module cache.
func TestPredictPinnedMNIST(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.safetensors")
	code, _, stderr := runCmd("train", "--limit-rows", "600", "--hidden", "8", "--epochs", "1", "--threads", "1", "--save", model)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	want := regexp.MustCompile(`accuracy ([0-9.]+) \(test\)`).FindStringSubmatch(stderr)
	code, stdout, stderr := runCmd("predict", "--model", model, "--json")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr)
	}
	r := decodeJSON[predictResult](t, stdout)
	if r.Rows != 10000 || r.Data != "mnist-test" || r.Accuracy == nil || want == nil || fmt.Sprintf("%.4f", *r.Accuracy) != want[1] ||
		!strings.Contains(stderr, "pinned GoMNIST data") {
		t.Errorf("predict: %d rows of %s, accuracy %v, train said %q:\n%s", r.Rows, r.Data, r.Accuracy, want, stderr)
	}
}

// TestCheckpointKillResume: a checkpointed train killed with SIGKILL after
// epoch 3 and resumed ends bit-identical to an uninterrupted run: the same
// model file, byte for byte, and the same figures.
func TestCheckpointKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	csv := writeBlobsCSV(t, dir, "blobs.csv", 2000, 20)
	ck, ref, resumed := filepath.Join(dir, "ck.safetensors"), filepath.Join(dir, "ref.safetensors"), filepath.Join(dir, "resumed.safetensors")
	args := []string{"train", "--csv", csv, "--hidden", "32,32", "--dropout", "0.2", "--batch-norm", "--optimizer", "adam",
		"--epochs", "30", "--batch", "8", "--threads", "1", "--json"}

	child := killAt(t, "epoch 3/30 ", nil, append(args, "--checkpoint", ck)...)
	err := child.Wait()
	if st, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !st.Signaled() || st.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", err)
	}
	_, _, epoch, err := engine.LoadCheckpoint(ck, nil)
	if err != nil || epoch != 3 { // the child holds at its line of epoch 3, written after its checkpoint
		t.Fatalf("checkpoint after the kill: epoch %d, %v", epoch, err)
	}
	t.Logf("killed with SIGKILL after epoch 3; the checkpoint holds epoch %d", epoch)

	code, stdout, stderr := runCmd(append(args, "--checkpoint", ck, "--resume", ck, "--save", resumed)...)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("resuming from %s after epoch %d/30", ck, epoch)) {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	code, refOut, stderr := runCmd(append(args, "--save", ref)...)
	if code != 0 {
		t.Fatalf("uninterrupted: exit %d: %s", code, stderr)
	}
	a, b := decodeJSON[trainResult](t, stdout), decodeJSON[trainResult](t, refOut)
	if !sameFigures(a, b) || len(a.Result.Units[0].Epochs) != 30-epoch {
		t.Fatalf("resumed %+v, uninterrupted %+v", a.Result, b.Result)
	}
	if !bytes.Equal([]byte(readFile(t, resumed)), []byte(readFile(t, ref))) {
		t.Fatal("the resumed run's model file differs from the uninterrupted run's")
	}
	if _, _, ckEpoch, err := engine.LoadCheckpoint(ck, nil); err != nil || ckEpoch != 30 {
		t.Fatalf("final checkpoint: epoch %d, %v", ckEpoch, err)
	}

	// Resuming with another configuration is a usage error.
	other := append(append([]string{}, args...), "--checkpoint", ck, "--resume", ck)
	other[4] = "16,16"
	if code, _, stderr := runCmd(other...); code != 2 || !strings.Contains(stderr, "is not this command's") {
		t.Fatalf("resume with other flags: exit %d: %s", code, stderr)
	}
}

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	model, out := filepath.Join(dir, "m.safetensors"), filepath.Join(dir, "m.onnx")
	csv := writeBlobsCSV(t, dir, "d.csv", 60, 4)
	if code, _, stderr := runCmd("train", "--csv", csv, "--hidden", "4", "--epochs", "1", "--threads", "1", "--save", model); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd("export", "--model", csv, "--onnx", out); code != 1 || !strings.Contains(stderr, "not a safetensors file") {
		t.Fatalf("export of a CSV file: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd("export", "--model", model); code != 2 || !strings.Contains(stderr, "are required") {
		t.Fatalf("export without --onnx: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a failed export wrote a file")
	}
	code, _, stderr := runCmd("export", "--model", model, "--onnx", out)
	if b, err := os.ReadFile(out); code != 0 || err != nil || !bytes.Contains(b, []byte("mlpsweep.classes")) || !bytes.Contains(b, []byte("scaling.unit")) {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
}

// TestResumeOnAnotherPathSaysSo: a checkpoint written on another ISA path
// resumes, with a note that the figures will not be an uninterrupted
// run's bit for bit and how to resume on its own path. Defect: it went on
// without a word, though --resume promises bit-identity (on the same path).
func TestResumeOnAnotherPathSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	if kernels.ActiveISA() == kernels.Generic {
		t.Skip("this CPU runs the generic path only: no other path to resume on")
	}
	dir := t.TempDir()
	csv := writeBlobsCSV(t, dir, "blobs.csv", 400, 8)
	ck := filepath.Join(dir, "ck.safetensors")
	args := []string{"train", "--csv", csv, "--hidden", "8", "--epochs", "3", "--batch", "4", "--threads", "1", "--checkpoint", ck}
	killAt(t, "epoch 1/3 ", []string{"MLPSWEEP_ISA=generic"}, args...).Wait()
	want := fmt.Sprintf("note: %s was written by engine %s/generic, and this run is %s: it goes on, but its figures will not be bit for bit an uninterrupted run's (MLPSWEEP_ISA=generic resumes it on its path",
		ck, engine.Version, engine.Identity())
	code, _, stderr := runCmd(append(args, "--resume", ck)...)
	if code != 0 || !strings.Contains(stderr, "resuming from "+ck+" after epoch 1/3") || !strings.Contains(stderr, want) {
		t.Errorf("resume on %s: exit %d, want %q:\n%s", engine.Identity(), code, want, stderr)
	}
}

// killAt runs the CLI with args (and env) as a child process held at its
// stderr line that begins with line (MLPSWEEP_TEST_HOLD_AT), kills it with
// SIGKILL there and reads its stderr to the end; the caller Waits.
func killAt(t *testing.T, line string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	child := exec.Command(os.Args[0], args...)
	child.Env = append(append(os.Environ(), env...), "MLPSWEEP_TEST_CLI=1", "MLPSWEEP_TEST_HOLD_AT="+line)
	pipe, err := child.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(pipe)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), line) {
			child.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	for lines.Scan() {
	}
	return child
}
