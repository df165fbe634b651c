package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

func TestDepthOnMNIST(t *testing.T) {
	out := t.TempDir()
	args := []string{"depth", "--limit-rows", "600", "--epochs", "1", "--depths", "1,2", "--out", out, "--json"}
	code, stdout, stderr := runCmd(args...)
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
	for _, f := range []string{"depth.html", "depth.json", "mlpsweep.db"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// 18 runs, 15 units: the three residual variants at depth 1 are plain networks.
	if !strings.Contains(stderr, "18 runs (9 variants × 2 depths) in 15 units") || !strings.Contains(stderr, "[15/15]") ||
		!strings.Contains(stderr, "grad ratio at init") {
		t.Errorf("progress lines missing:\n%s", stderr)
	}

	// A rerun trains nothing and prints the same.
	code, again, stderr := runCmd(args...)
	if code != 0 || again != stdout || !strings.Contains(stderr, "15 already stored, 0 to train") {
		t.Errorf("rerun: exit %d, same output %v:\n%s", code, again == stdout, stderr)
	}
}

// TestDepthBadInput: a bad flag or value is a usage error (status 2), a
// path that is missing or of the wrong kind a failure (1), each with a
// message naming the flag, and found before any data is loaded.
func TestDepthBadInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"depth", "--depths", "0"}, 2, "numbers of hidden layers"},
		{[]string{"depth", "--variants", "nope"}, 2, `--variants: study depth has no axis "nope"`},
		{[]string{"depth", "--val-split", "1"}, 2, "--val-split"},
		{[]string{"depth", "--workers", "0"}, 2, "--workers"},
		{[]string{"depth", "--width", "-1"}, 2, "--width -1"},
		{[]string{"depth", "--out", ""}, 2, "--out '': an empty value"},
		{[]string{"depth", "extra"}, 2, "unexpected argument"},
		{[]string{"depth", "--data", filepath.Join(out, "nosuch"), "--out", out}, 1, "no such folder"},
		{[]string{"depth", "--data", file, "--out", out}, 1, "is a file; pass the folder"},
		{[]string{"depth", "--out", file}, 1, "is a file, not a directory"},
		{[]string{"depth", "--limit-rows", "10", "--val-split", "0.95", "--out", out}, 1, "--val-split 0.95 of 10 training rows"},
	} {
		code, _, stderr := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
		if msg, _, _ := strings.Cut(stderr, "\n"); strings.Contains(msg, "widths") {
			t.Errorf("%v: the message speaks of widths: %s", tc.args, msg)
		}
		if strings.Contains(stderr, "loading") && !strings.Contains(strings.Join(tc.args, " "), "--limit-rows") {
			t.Errorf("%v: loads data before the check:\n%s", tc.args, stderr)
		}
	}
	code, stdout, _ := runCmd("depth", "--help")
	if code != 0 || !strings.Contains(stdout, "Usage: mlpsweep depth") || !strings.Contains(stdout, "sigmoid_residual") {
		t.Errorf("depth --help: exit %d\n%s", code, stdout)
	}
}

// TestDepthChecksOutputFirst: a report file that cannot be written fails
// (status 1) before any data is loaded or run trained.
func TestDepthChecksOutputFirst(t *testing.T) {
	out := t.TempDir()
	if err := os.Mkdir(filepath.Join(out, "depth.html"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd("depth", "--limit-rows", "300", "--epochs", "1", "--depths", "1", "--variants", "sigmoid", "--out", out)
	if code != 1 || !strings.Contains(stderr, "depth.html is a folder, not a file: move it aside") || strings.Contains(stderr, "loading") {
		t.Errorf("exit %d, stderr:\n%s\nwant 1, the path named, nothing loaded", code, stderr)
	}
}

// TestDepthStoreIsASweepStore: a depth study run with --store on
// PostgreSQL, and in its --out folder's SQLite database, is a study of
// the store like a sweep's: report lists it and merge merges it, with the
// depth study's own accuracies, the same bits on both stores.
func TestDepthStoreIsASweepStore(t *testing.T) {
	url := storetest.Postgres(t)
	dir := t.TempDir()
	depthArgs := []string{"depth", "--limit-rows", "600", "--epochs", "1", "--depths", "1,2", "--variants", "sigmoid,relu_he", "--workers", "2", "--json"}
	accuracies := map[string]string{} // by store: "variant depth=accuracy ..."
	for _, where := range []string{"sqlite", "postgres"} {
		out := filepath.Join(dir, where)
		args := append(slices.Clone(depthArgs), "--out", out)
		source := out // report's DIR, merge's shard
		if where == "postgres" {
			args, source = append(args, "--store", url), url
		}
		code, stdout, stderr := runCmd(args...)
		if code != 0 {
			if strings.Contains(stderr, "MNIST") || strings.Contains(stderr, "GoMNIST") {
				t.Skipf("MNIST unavailable: %s", stderr)
			}
			t.Fatalf("%s: exit %d: %s", where, code, stderr)
		}
		var runs []struct {
			Variant  string  `json:"variant"`
			Depth    int     `json:"depth"`
			Accuracy float64 `json:"final_accuracy"`
		}
		if err := json.Unmarshal([]byte(stdout), &runs); err != nil || len(runs) != 4 {
			t.Fatalf("%s: %d runs (%v)", where, len(runs), err)
		}
		want := map[string]float64{}
		for _, r := range runs {
			want[fmt.Sprintf("%s=%d", r.Variant, r.Depth)] = r.Accuracy
		}
		_, err := os.Stat(filepath.Join(out, "mlpsweep.db"))
		if (where == "postgres") != (err != nil) {
			t.Errorf("%s: OUT/mlpsweep.db: %v", where, err)
		}

		reportArgs := []string{"report", source, "--study", "depth-holdout", "--json"}
		if where == "postgres" {
			reportArgs = []string{"report", "--store", url, "--study", "depth-holdout", "--out", filepath.Join(dir, "report"), "--json"}
		}
		for _, cmd := range [][]string{reportArgs, {"merge", filepath.Join(dir, "merged-"+where), source, "--json"}} {
			code, stdout, stderr := runCmd(cmd...)
			if code != 0 {
				t.Fatalf("%s: %s: exit %d: %s", where, cmd[0], code, stderr)
			}
			r := decodeStudyJSON(t, stdout)
			got := map[string]float64{}
			for _, c := range r.Configs {
				if len(c.FoldAccuracies) == 1 {
					got[c.Axis+"="+c.Value] = c.FoldAccuracies[0]
				}
			}
			if r.Name != "depth-holdout" || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %s shows study %q with %v, want the depth study's %v", where, cmd[0], r.Name, got, want)
			}
		}
		accuracies[where] = fmt.Sprint(want)
	}
	if accuracies["sqlite"] != accuracies["postgres"] {
		t.Errorf("SQLite %s, PostgreSQL %s", accuracies["sqlite"], accuracies["postgres"])
	}
}
