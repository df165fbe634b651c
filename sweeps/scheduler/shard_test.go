package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

// unevenStudy has configurations of very different costs (widths and
// depths, epochs on an axis): 9 configs, 27 units.
const unevenStudy = `
name: uneven
folds: 3
epochs: 2
seed: 7
base: {hidden: [8], batch: 16}
axes:
  - {name: hidden, key: hidden, values: [[8], [64], [128, 64], [4], [256]]}
  - {name: epochs, key: epochs, values: [1, 2, 5, 9]}
  - {name: batch, key: batch, values: [16, 32]}
`

// unitPlan plans a study on data as RunStudy does, without training.
func unitPlan(t *testing.T, src string, data *datasets.Dataset) ([]sweeps.Unit, func(sweeps.Unit) int64) {
	t.Helper()
	s := parse(t, src)
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		t.Fatal(err)
	}
	h := sweeps.Header{Name: s.Name, Folds: s.Folds, Seed: s.Seed, Split: sweeps.KFoldSplit(s.Folds, s.Seed), DataSHA: data.Fingerprint(), Engine: sweeps.EngineID()}
	plan := Plan{EpochWork: func(u sweeps.Unit) int64 {
		return EpochFLOPs(u.Point.Params.Hidden(), data.Features, data.Classes, len(folds[u.ID.Fold].Train))
	}}
	return sweeps.Plan(h, s.Points), plan.UnitWork
}

func TestShardsPartitionAndBalance(t *testing.T) {
	units, cost := unitPlan(t, unevenStudy, datasets.Blobs(301, 10, 3))
	if len(units) != 27 {
		t.Fatalf("%d units, want 27", len(units))
	}
	var total, largest int64
	for _, u := range units {
		total += cost(u)
		largest = max(largest, cost(u))
	}
	// The epochs axis makes costs differ: the test means something.
	if c0 := cost(units[0]); largest < 10*c0 {
		t.Fatalf("costs too even: largest %d, first %d", largest, c0)
	}
	for _, n := range []int{1, 2, 3, 4, 7, 27, 40} {
		shards := AssignShards(units, cost, n)
		if len(shards) != n {
			t.Fatalf("%d shards: got %d", n, len(shards))
		}
		seen := map[sweeps.UnitID]int{}
		var maxWork int64
		for _, sh := range shards {
			var work int64
			for _, u := range sh {
				seen[u.ID]++
				work += cost(u)
			}
			maxWork = max(maxWork, work)
			// Each shard keeps the plan's order.
			if !slices.IsSortedFunc(sh, func(a, b sweeps.Unit) int {
				return slices.IndexFunc(units, func(x sweeps.Unit) bool { return x.ID == a.ID }) -
					slices.IndexFunc(units, func(x sweeps.Unit) bool { return x.ID == b.ID })
			}) {
				t.Errorf("%d shards: a shard is not in plan order", n)
			}
		}
		for _, u := range units {
			if seen[u.ID] != 1 {
				t.Errorf("%d shards: unit %s fold %d is in %d shards", n, u.ID.Key, u.ID.Fold, seen[u.ID])
			}
		}
		if len(seen) != len(units) {
			t.Errorf("%d shards hold %d distinct units, want %d", n, len(seen), len(units))
		}
		if mean := float64(total) / float64(n); float64(maxWork) > mean+float64(largest) {
			t.Errorf("%d shards: max shard work %d > mean %.0f + largest unit %d", n, maxWork, mean, largest)
		}
		// Deterministic, whatever the order units come in.
		shuffled := slices.Clone(units)
		rand.New(rand.NewPCG(1, uint64(n))).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again := AssignShards(shuffled, cost, n)
		for i := range shards {
			if fmt.Sprint(ids(shards[i])) != fmt.Sprint(ids(sortedLike(again[i], units))) {
				t.Errorf("%d shards: shard %d differs when the units come in another order", n, i)
			}
		}
	}
	// 3 shards: report the balance the test asserts.
	shards := AssignShards(units, cost, 3)
	var works []int64
	for _, sh := range shards {
		var w int64
		for _, u := range sh {
			w += cost(u)
		}
		works = append(works, w)
	}
	t.Logf("3 shards: work %v (total %d, largest unit %d), units %d/%d/%d", works, total, largest, len(shards[0]), len(shards[1]), len(shards[2]))
}

func ids(us []sweeps.Unit) []string {
	var s []string
	for _, u := range us {
		s = append(s, fmt.Sprintf("%s/%d", u.ID.Key, u.ID.Fold))
	}
	return s
}

// sortedLike orders us as they come in ref.
func sortedLike(us, ref []sweeps.Unit) []sweeps.Unit {
	pos := map[sweeps.UnitID]int{}
	for i, u := range ref {
		pos[u.ID] = i
	}
	us = slices.Clone(us)
	slices.SortFunc(us, func(a, b sweeps.Unit) int { return pos[a.ID] - pos[b.ID] })
	return us
}

// TestShardsMergedAreBitIdenticalToALocalRun runs a study locally and as 3
// shards into 3 databases, merges them, and compares every number (fold
// accuracies, learning curves, means, ranks) bit for bit.
func TestShardsMergedAreBitIdenticalToALocalRun(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	s := parse(t, tinyStudy)
	local, err := RunStudy(context.Background(), s, data, Options{Dir: t.TempDir(), Workers: 2, Curves: true})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	total := 0
	for i := range 3 {
		dir := t.TempDir()
		r, err := RunStudy(context.Background(), s, data, Options{Dir: dir, Workers: 2, Curves: true, Shard: Shard{Index: i, Count: 3}})
		if err != nil {
			t.Fatal(err)
		}
		// A shard's result covers its slice: its units only.
		n := 0
		for _, c := range r.Configs {
			n += len(c.Units)
		}
		if r.UnitsTotal != r.UnitsRun || r.UnitsTotal == 0 || r.UnitsTotal == 9 {
			t.Errorf("shard %d: units total %d, run %d; want its slice", i, r.UnitsTotal, r.UnitsRun)
		}
		total += r.UnitsTotal
		dirs = append(dirs, dir)
	}
	if total != 9 {
		t.Errorf("the shards ran %d units, want 9", total)
	}

	out := t.TempDir()
	res, err := store.Merge(context.Background(), out, dirs, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Study != "tiny" || res.Units != 9 || res.Done != 9 || res.Missing != 0 || res.Failed != 0 || res.Written != 9 || res.Duplicates != 0 || len(res.Differing) != 0 {
		t.Errorf("merge: %+v", res)
	}
	merged, err := store.LoadStudy(context.Background(), out, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if merged.UnitsTotal != 9 || !sameBits(numbers(merged), numbers(local)) {
		t.Errorf("merged shards differ from the local run:\n%v\n%v", numbers(merged), numbers(local))
	}
	for i := range local.Configs {
		if len(local.Configs[i].Units[0].Epochs) != 2 || len(merged.Configs[i].Units[0].Epochs) != 2 {
			t.Fatal("no learning curves compared")
		}
	}

	// Merging again, and merging a rerun shard, change nothing.
	for _, again := range [][]string{dirs, {dirs[1], dirs[0], dirs[1], dirs[2]}} {
		res, err := store.Merge(context.Background(), out, again, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Written != 0 || res.Done != 9 || len(res.Differing) != 0 {
			t.Errorf("merge again %d shards: %+v", len(again), res)
		}
		if r, err := store.LoadStudy(context.Background(), out, "", false); err != nil || !sameBits(numbers(r), numbers(local)) {
			t.Errorf("merging again changed the results (%v)", err)
		}
	}
	// A unit in two shards is kept once.
	res, err = store.Merge(context.Background(), t.TempDir(), append(dirs, dirs[0]), "", false)
	if err != nil || res.Done != 9 || res.Duplicates == 0 || res.Written != 9 {
		t.Errorf("a shard given twice: %+v, %v", res, err)
	}
}

func TestRunRejectsABadShard(t *testing.T) {
	dir := t.TempDir()
	_, err := RunStudy(context.Background(), parse(t, tinyStudy), datasets.Blobs(60, 4, 3), Options{Dir: dir, Shard: Shard{Index: 3, Count: 3, Source: "--shard 3/3"}})
	if !errors.Is(err, ErrBadShard) || !strings.Contains(err.Error(), "index 3 is out of range for 3 shards") {
		t.Errorf("err %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a bad shard wrote %d files into --out", len(entries))
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string]string{
		"0/3": "0/3", "2/3": "2/3", " 1 / 2 ": "1/2", "0/1": "0/1",
		"3/3": "index 3 is out of range for 3 shards (want 0 to 2)", "-1/3": "index -1 is out of range",
		"0/0": "count must be ≥ 1, got 0", "1/-2": "count must be ≥ 1", "1": "want I/N", "a/3": `index "a" is not a whole number`,
		"1/b": `count "b" is not a whole number`, "": "want I/N", "1/3/4": `count "3/4" is not a whole number`,
	} {
		s, err := ParseShard(in)
		got := s.String()
		if err != nil {
			got = err.Error()
			if !errors.Is(err, ErrBadShard) || !strings.Contains(got, "--shard") {
				t.Errorf("%q: %v does not wrap ErrBadShard or name --shard", in, err)
			}
		}
		if !strings.Contains(got, want) {
			t.Errorf("ParseShard(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		count int
		want  string // shard, "" for none, or an error's text
	}{
		{nil, 0, ""},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, "2/4"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"}, 0, "2/4"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "4"}, 0, "this array runs 1 to 4"},           // --array=1-4
		{map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_MAX": "3"}, 0, "sbatch --array=3 ... --shard 3/N"}, // one task rerun
		{map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"}, 0, "this array runs 0 to 3"},           // --array=0,3
		{map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MAX": "x"}, 0, `SLURM_ARRAY_TASK_MAX="x" is not a whole number`},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, 4, "2/4"},                                  // agreeing count
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2"}, 3, "2/3"},                                                                 // old Slurm
		{map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, "index 4 is out of range for 4 shards"}, // --array=0-4 with COUNT 4 cannot be
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, 3, "SLURM_ARRAY_TASK_COUNT=4 but --shard-count 3"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "x1", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, `SLURM_ARRAY_TASK_ID="x1" is not a whole number`},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "four"}, 0, `SLURM_ARRAY_TASK_COUNT="four" is not a whole number`},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1"}, 0, "SLURM_ARRAY_TASK_COUNT is not"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "0"}, 0, "count must be ≥ 1, got 0"},
		{map[string]string{"JOB_COMPLETION_INDEX": "4"}, 5, "4/5"},
		{map[string]string{"JOB_COMPLETION_INDEX": "5"}, 5, "JOB_COMPLETION_INDEX=5 with --shard-count 5: index 5 is out of range"},
		{map[string]string{"JOB_COMPLETION_INDEX": "0"}, 0, "--shard-count is not: give --shard-count N with N the Job's completions"},
		{map[string]string{"JOB_COMPLETION_INDEX": "1.5"}, 3, `JOB_COMPLETION_INDEX="1.5" is not a whole number`},
		{map[string]string{"JOB_COMPLETION_INDEX": "1", "SLURM_ARRAY_TASK_ID": "1"}, 3, "both"},
		{nil, 3, "--shard-count 3 needs a shard index"},
		{nil, -1, "--shard-count -1"},
		{map[string]string{"JOB_COMPLETION_INDEX": ""}, 0, ""}, // empty is unset
	} {
		s, err := ShardFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }, tc.count)
		got := ""
		if s.Sharded() {
			got = s.String()
		}
		if err != nil {
			got = err.Error()
			if !errors.Is(err, ErrBadShard) {
				t.Errorf("%v: %v is not ErrBadShard", tc.env, err)
			}
		}
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("env %v --shard-count %d: got %q, want %q", tc.env, tc.count, got, tc.want)
		}
	}
}

// TestShardsSharingAStoreCountEveryShard runs a study as 3 shards into one
// store, two at once, then reruns it whole: read back, the study counts
// every shard's units as run (each shard used to overwrite the others'
// counts), its time is the longest shard's, and the rerun supersedes the
// shards.
func TestShardsSharingAStoreCountEveryShard(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	s := parse(t, tinyStudy)
	forEachStore(t, func(t *testing.T, dir, url string) {
		stores := []store.Store{openStore(t, dir, url), openStore(t, dir, url), openStore(t, dir, url)}
		shard := func(i int) sweeps.StudyResult {
			r, err := RunStudy(context.Background(), s, data, Options{Dir: dir, Store: stores[i], Workers: 1, Shard: Shard{Index: i, Count: 3}})
			if err != nil {
				t.Error(err)
			}
			return r
		}
		var rs [3]sweeps.StudyResult
		if url != "" { // shards 0 and 1 at once, as on two machines
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() { rs[i] = shard(i) })
			}
			wg.Wait()
		} else { // one SQLite folder: one writer at a time
			rs[0], rs[1] = shard(0), shard(1)
		}
		rs[2] = shard(2)
		longest := 0.0
		for _, r := range rs {
			longest = max(longest, r.Runs[0].Seconds)
		}
		all := loadStudy(t, dir, url, "tiny")
		if all.UnitsTotal != 9 || all.UnitsRun != 9 || all.UnitsReused != 0 || len(all.Runs) != 3 || sweeps.TrainedBy(all.Runs) != "by its 3 shards" {
			t.Errorf("3 shards read back: %d units, %d run, %d reused, runs %+v", all.UnitsTotal, all.UnitsRun, all.UnitsReused, all.Runs)
		}
		if math.Abs(all.TotalSeconds-longest) > 1e-9 {
			t.Errorf("3 shards took %v s, want the longest shard's %v s", all.TotalSeconds, longest)
		}
		again := runOn(t, tinyStudy, data, dir, url, 2)
		if back := loadStudy(t, dir, url, "tiny"); again.UnitsRun != 0 || back.UnitsRun != 0 || back.UnitsReused != 9 || len(back.Runs) != 1 {
			t.Errorf("rerun whole: ran %d; read back %d run, %d reused, runs %+v", again.UnitsRun, back.UnitsRun, back.UnitsReused, back.Runs)
		}
	})
}
