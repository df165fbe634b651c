package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDepthOnMNIST(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCmd("depth", "--limit-rows", "600", "--epochs", "1", "--depths", "1,2", "--out", out, "--json")
	if code != 0 {
		if strings.Contains(stderr, "MNIST") || strings.Contains(stderr, "GoMNIST") {
			t.Skipf("MNIST unavailable: %s", stderr)
		}
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var runs []map[string]any
	if err := json.Unmarshal([]byte(stdout), &runs); err != nil {
		t.Fatalf("stdout is not a JSON list: %v\n%s", err, stdout)
	}
	if len(runs) != 2*len(depthVariants()) || len(runs) == 0 {
		t.Fatalf("%d runs for %d variants × 2 depths", len(runs), len(depthVariants()))
	}
	for _, r := range runs {
		depth, _ := r["depth"].(float64)
		variant, _ := r["variant"].(string)
		ratio, _ := r["grad_ratio_init"].(float64)
		acc, _ := r["final_accuracy"].(float64)
		if (depth != 1 && depth != 2) || variant == "" || !(ratio > 0) || !(acc > 0 && acc <= 1) {
			t.Errorf("run %v", r)
		}
	}
	for _, f := range []string{"depth.html", "depth.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(stderr, "[18/18]") || !strings.Contains(stderr, "grad ratio at init") {
		t.Errorf("progress lines missing:\n%s", stderr)
	}
}

func TestDepthUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"depth", "--depths", "0"}, "--depths"},
		{[]string{"depth", "--variants", "nope"}, `no axis "nope"`},
		{[]string{"depth", "--val-split", "1"}, "--val-split"},
		{[]string{"depth", "--workers", "0"}, "--workers"},
		{[]string{"depth", "extra"}, "unexpected argument"},
	} {
		code, _, stderr := runCmd(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	code, stdout, _ := runCmd("depth", "--help")
	if code != 0 || !strings.Contains(stdout, "Usage: mlpsweep depth") || !strings.Contains(stdout, "sigmoid_residual") {
		t.Errorf("depth --help: exit %d\n%s", code, stdout)
	}
}
