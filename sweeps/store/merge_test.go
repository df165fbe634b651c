package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

const mergeStudy = `
name: m
folds: 2
epochs: 2
seed: 3
base: {hidden: [8], batch: 16}
axes:
  - {name: batch, key: batch, values: [16, 32]}
`

func mergeHeader(t *testing.T, src string) (sweeps.Header, []study.Point) {
	t.Helper()
	s, err := study.ParseStudy([]byte(src), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sweeps.Header{Name: s.Name, Folds: s.Folds, Epochs: s.Base.Epochs(), Seed: s.Seed, Split: sweeps.KFoldSplit(s.Folds, s.Seed),
		Data: "blobs (10 rows)", DataSHA: "sha-d", Engine: "eng-1"}, s.Points
}

// writeShard writes a shard database in dir holding study h with the
// units of plan positions at, each with accuracy acc(position) (failed
// when negative, running when NaN-like -2).
func writeShard(t *testing.T, dir string, h sweeps.Header, points []study.Point, units map[int]float64) {
	t.Helper()
	s, err := openSQLite(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveStudy(h, points); err != nil {
		t.Fatal(err)
	}
	plan := sweeps.Plan(h, points)
	for i, acc := range units {
		id := plan[i].ID
		switch {
		case acc == -2:
			err = s.MarkRunning(id, h.Name, 1)
		case acc < 0:
			err = s.SaveUnit(id, h.Name, sweeps.UnitResult{Fold: id.Fold, Error: "out of memory"})
		default:
			err = s.SaveUnit(id, h.Name, sweeps.UnitResult{Fold: id.Fold, Accuracy: acc, ValLoss: 1 - acc, Samples: 10, Seconds: 1})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FinishRun(h.Name, sweeps.LocalRun(float64(len(units)), len(units), 0)); err != nil {
		t.Fatal(err)
	}
}

func TestMergeKeepsTheBestRowPerUnit(t *testing.T) {
	h, points := mergeHeader(t, mergeStudy)
	root := t.TempDir()
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	// 4 units: 0 done in a; 1 failed in a, done in b; 2 running in b, failed in c; 3 running only.
	writeShard(t, a, h, points, map[int]float64{0: 0.5, 1: -1})
	writeShard(t, b, h, points, map[int]float64{1: 0.75, 2: -2, 3: -2})
	writeShard(t, c, h, points, map[int]float64{2: -1, 0: 0.25}) // 0 again, with another result
	out := filepath.Join(root, "out")
	res, err := Merge(context.Background(), out, []string{a, b, c}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Study != "m" || res.Units != 4 || res.Done != 2 || res.Failed != 1 || res.Missing != 1 || res.Written != 4 || res.Duplicates != 1 ||
		len(res.Differing) != 1 || !strings.Contains(res.Differing[0], a) || !strings.Contains(res.Differing[0], c) {
		t.Errorf("merge: %+v", res)
	}
	r, err := LoadStudy(context.Background(), out, "", false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for i, u := range sweeps.Plan(h, points) {
		s, err := openSQLite(out, false)
		if err != nil {
			t.Fatal(err)
		}
		ur, state, err := s.Unit(u.ID)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		got[i] = state
		if i == 0 && ur.Accuracy != 0.5 || i == 1 && ur.Accuracy != 0.75 {
			t.Errorf("unit %d: accuracy %v", i, ur.Accuracy)
		}
	}
	if got[0] != "done" || got[1] != "done" || got[2] != "failed" || got[3] != "" {
		t.Errorf("states %v", got)
	}
	// Header counts: the longest shard's wall time, summed unit counts.
	if r.TotalSeconds != 3 || r.UnitsRun != 7 || r.UnitsTotal != 4 {
		t.Errorf("merged header: %v s, %d run, %d total", r.TotalSeconds, r.UnitsRun, r.UnitsTotal)
	}
	// Idempotent: nothing written the second time, the database reads the same.
	before := dump(t, out)
	res, err = Merge(context.Background(), out, []string{a, b, c}, "", false)
	if err != nil || res.Written != 0 || res.Done != 2 {
		t.Errorf("merge again: %+v, %v", res, err)
	}
	if after := dump(t, out); after != before {
		t.Errorf("merging again changed the units:\n%s\n%s", before, after)
	}
}

// dump lists the units of the database in dir, every column.
func dump(t *testing.T, dir string) string {
	t.Helper()
	s, err := openSQLite(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.db.Query(`SELECT ` + unitColumns + ` FROM units ORDER BY key, fold`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, strings.Count(unitColumns, ",")+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%#v\n", vals)
	}
	return b.String()
}

func TestMergeRefusesShardsThatDoNotBelongTogether(t *testing.T) {
	h, points := mergeHeader(t, mergeStudy)
	other := func(f func(*sweeps.Header)) sweeps.Header { h2 := h; f(&h2); return h2 }
	_, epochs3 := mergeHeader(t, strings.Replace(mergeStudy, "epochs: 2", "epochs: 3", 1))
	_, batches := mergeHeader(t, strings.Replace(mergeStudy, "[16, 32]", "[16, 64]", 1))
	for name, tc := range map[string]struct {
		h      sweeps.Header
		points []study.Point
		want   string
	}{
		"another study":   {other(func(h *sweeps.Header) { h.Name = "n" }), points, `holds study "n", but`},
		"another engine":  {other(func(h *sweeps.Header) { h.Engine = "eng-2" }), points, `with engine eng-2, but`},
		"other data":      {other(func(h *sweeps.Header) { h.DataSHA = "sha-x" }), points, `with data fingerprint sha-x`},
		"other folds":     {other(func(h *sweeps.Header) { h.Folds, h.Split = 3, sweeps.KFoldSplit(3, h.Seed) }), points, `with folds 3, but`},
		"other epochs":    {other(func(h *sweeps.Header) { h.Epochs = 3 }), epochs3, `with epochs 3, but`},
		"other configs":   {h, batches, `with configuration 2:`},
		"other seed":      {other(func(h *sweeps.Header) { h.Seed = 4 }), points, `with seed 4, but`},
		"other row count": {other(func(h *sweeps.Header) { h.Data = "blobs (11 rows)" }), points, `with data blobs (11 rows)`},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			a, b := filepath.Join(root, "shard-0"), filepath.Join(root, "shard-1")
			writeShard(t, a, h, points, map[int]float64{0: 0.5})
			writeShard(t, b, tc.h, tc.points, map[int]float64{1: 0.5})
			out := filepath.Join(root, "out")
			_, err := Merge(context.Background(), out, []string{a, b}, "", false)
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), b+" holds study") {
				t.Errorf("err %v; want ErrMismatch naming %s and %q", err, b, tc.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused merge created OUT (%v)", err)
			}
		})
	}
}

func TestMergeRefusesAnOutputWithAnotherDefinition(t *testing.T) {
	h, points := mergeHeader(t, mergeStudy)
	root := t.TempDir()
	a, out := filepath.Join(root, "a"), filepath.Join(root, "out")
	writeShard(t, a, h, points, map[int]float64{0: 0.5})
	h2 := h
	h2.Engine = "eng-2"
	writeShard(t, out, h2, points, map[int]float64{1: 0.25})
	before, err := os.ReadFile(filepath.Join(out, DBName))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Merge(context.Background(), out, []string{a}, "", false)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), out+` holds study "m" with engine eng-2`) || !strings.Contains(err.Error(), "another OUT") {
		t.Errorf("err %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(out, DBName)); !bytes.Equal(before, after) {
		t.Error("a refused merge changed OUT's database")
	}
	// Another study in OUT is no conflict: both are kept.
	h3 := h
	h3.Name = "other"
	out2 := filepath.Join(root, "out2")
	writeShard(t, out2, h3, points, map[int]float64{1: 0.25})
	if res, err := Merge(context.Background(), out2, []string{a}, "", false); err != nil || res.Done != 2 {
		t.Errorf("merge beside another study: %+v, %v", res, err)
	}
	if names, err := StudyNames(context.Background(), out2); err != nil || len(names) != 2 || names[0] != "m" {
		t.Errorf("studies %v, %v", names, err)
	}
}

func TestMergeRefusesMissingAndRunningShards(t *testing.T) {
	h, points := mergeHeader(t, mergeStudy)
	root := t.TempDir()
	a, out := filepath.Join(root, "a"), filepath.Join(root, "out")
	writeShard(t, a, h, points, map[int]float64{0: 0.5})
	if _, err := Merge(context.Background(), out, []string{a, filepath.Join(root, "nope")}, "", false); err == nil || !strings.Contains(err.Error(), "no sweep database in "+filepath.Join(root, "nope")) {
		t.Errorf("missing shard: %v", err)
	}
	if _, err := Merge(context.Background(), out, []string{a}, "zzz", false); err == nil || !strings.Contains(err.Error(), filepath.Join(a, DBName)+`: no study named "zzz"`) {
		t.Errorf("--study zzz: %v", err)
	}
	// A shard still being written (its sweep holds the lock) is refused.
	s, err := openSQLite(a, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Merge(context.Background(), out, []string{a}, "", false)
	s.Close()
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "shard "+a) || !strings.Contains(err.Error(), "wait for the shard to finish") {
		t.Errorf("running shard: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused merge created OUT (%v)", err)
	}
	if _, err := Merge(context.Background(), out, []string{a}, "", false); err != nil {
		t.Errorf("after the sweep ended: %v", err)
	}
}

// TestMergeComparesNumbersNotTimings: a unit rerun in another shard has
// the same numbers but other epoch timings, which is no difference
// (defect: the epochs' seconds and samples per second made every rerun
// unit "differ").
func TestMergeComparesNumbersNotTimings(t *testing.T) {
	h, points := mergeHeader(t, mergeStudy)
	id := sweeps.Plan(h, points)[0].ID
	root := t.TempDir()
	write := func(dir string, acc, seconds float64) {
		s, err := openSQLite(dir, true)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.SaveStudy(h, points); err != nil {
			t.Fatal(err)
		}
		u := sweeps.UnitResult{Accuracy: acc, ValLoss: 0.5, Samples: 10, Seconds: seconds,
			Epochs: []engine.EpochStats{{Epoch: 1, Loss: 0.25, Accuracy: acc, ValLoss: 0.5, ValAccuracy: acc, Seconds: seconds, SamplesPerSecond: 10 / seconds}}}
		if err := s.SaveUnit(id, h.Name, u); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	write(a, 0.5, 1)
	write(b, 0.5, 2)  // the same unit rerun: other timings
	write(c, 0.75, 1) // other numbers
	res, err := Merge(context.Background(), filepath.Join(root, "out"), []string{a, b}, "", false)
	if err != nil || res.Duplicates != 1 || len(res.Differing) != 0 {
		t.Errorf("a rerun unit: %+v, %v; want a duplicate, no difference", res, err)
	}
	res, err = Merge(context.Background(), filepath.Join(root, "out2"), []string{a, c}, "", false)
	if err != nil || len(res.Differing) != 1 {
		t.Errorf("other numbers: %+v, %v; want a difference", res, err)
	}
}

// mergeChildEnv makes the test binary, re-executed by
// TestMergeReadsShardsReadOnly as another user, merge the shards it names.
const mergeChildEnv = "MLPSWEEP_STORE_MERGE_CHILD"

// TestMergeReadsShardsReadOnly: merge reads shard folders the user may
// only read, and writes nothing there (no -shm or -wal file, no byte or
// time changed). Root, whom permissions do not stop, runs the merge as
// user nobody in a child process.
func TestMergeReadsShardsReadOnly(t *testing.T) {
	if args := os.Getenv(mergeChildEnv); args != "" {
		f := strings.Split(args, "\n")
		if _, err := Merge(context.Background(), f[0], f[1:], "", false); err != nil {
			t.Fatal(err)
		}
		return
	}
	h, points := mergeHeader(t, mergeStudy)
	root := t.TempDir()
	a, b, out := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "out")
	writeShard(t, a, h, points, map[int]float64{0: 0.5, 1: 0.5})
	writeShard(t, b, h, points, map[int]float64{2: 0.5, 3: 0.5})
	listing := func(dir string) string {
		var b strings.Builder
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			fi, _ := e.Info()
			fmt.Fprintf(&b, "%s %d %v %v\n", e.Name(), fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
		}
		return b.String()
	}
	before := map[string]string{}
	for _, dir := range []string{a, b} {
		os.Chmod(filepath.Join(dir, DBName), 0o444)
		os.Chmod(filepath.Join(dir, LockName), 0o444)
		os.Chmod(dir, 0o555)
		before[dir] = listing(dir)
	}
	t.Cleanup(func() { os.Chmod(a, 0o755); os.Chmod(b, 0o755) })
	if os.Getuid() != 0 {
		if _, err := Merge(context.Background(), out, []string{a, b}, "", false); err != nil {
			t.Fatal(err)
		}
	} else {
		const nobody = 65534
		os.Chmod(filepath.Dir(root), 0o755)
		os.Chmod(root, 0o755)
		os.Mkdir(out, 0o755)
		os.Chown(out, nobody, nobody)
		// The test binary, where nobody may run it.
		bin := filepath.Join(root, "store.test")
		if b, err := os.ReadFile(os.Args[0]); err != nil || os.WriteFile(bin, b, 0o755) != nil {
			t.Fatalf("copy the test binary: %v", err)
		}
		child := exec.Command(bin, "-test.run=^TestMergeReadsShardsReadOnly$")
		child.Env = append(os.Environ(), mergeChildEnv+"="+strings.Join([]string{out, a, b}, "\n"))
		child.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		if msg, err := child.CombinedOutput(); err != nil {
			if errors.Is(err, os.ErrPermission) || strings.Contains(err.Error(), "permission denied") {
				t.Skipf("cannot run the test binary as nobody: %v", err)
			}
			t.Fatalf("merge as nobody: %v\n%s", err, msg)
		}
	}
	r, err := LoadStudy(context.Background(), out, "", false)
	if err != nil || len(r.Configs) != 2 || len(r.Configs[0].Units) != 2 || len(r.Configs[1].Units) != 2 {
		t.Fatalf("merged: %+v, %v", r, err)
	}
	for dir, was := range before {
		if now := listing(dir); now != was {
			t.Errorf("%s changed:\n%s\nwas:\n%s", dir, now, was)
		}
	}
}
