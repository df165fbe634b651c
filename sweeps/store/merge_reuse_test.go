package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// reuseStudy is a study of 6 units (3 configurations, 2 folds); with a
// pruner (reuseHeader) its shards hold different results of them.
var reuseStudy = strings.Replace(mergeStudy, "[16, 32]", "[16, 32, 64]", 1)

// shardRow is a unit's row in a shard: its state, and accuracy.
type shardRow struct {
	state string // done, pruned (after 1 epoch), failed, running
	acc   float64
}

// saveRow stores row r of unit id in s, computed on a host of engine
// identity id.Engine's ISA path.
func saveRow(t *testing.T, s Store, id sweeps.UnitID, study string, r shardRow) {
	t.Helper()
	isa := strings.TrimPrefix(id.Engine, "1/")
	m := sweeps.Machine{Host: "host-" + isa, CPU: "cpu", ISA: isa}
	epoch := func(e int) engine.EpochStats {
		return engine.EpochStats{Epoch: e, Loss: 0.5, Accuracy: r.acc, ValLoss: 1 - r.acc, ValAccuracy: r.acc, Seconds: 1}
	}
	u := sweeps.UnitResult{Fold: id.Fold, Accuracy: r.acc, ValLoss: 1 - r.acc, Samples: 10, Seconds: 1, Machine: m}
	var err error
	switch r.state {
	case "running":
		err = s.MarkRunning(id, study, 1)
	case "failed":
		err = s.SaveUnit(id, study, sweeps.UnitResult{Fold: id.Fold, Error: "out of memory", Machine: m})
	case "pruned":
		u.PrunedAt, u.Epochs = 1, []engine.EpochStats{epoch(1)}
		err = s.SaveUnit(id, study, u)
	default:
		u.Epochs = []engine.EpochStats{epoch(1), epoch(2)}
		err = s.SaveUnit(id, study, u)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// reuseShards are the shards' rows by plan position, each shard under its
// engine identity; a and c ran on avx512 hosts, b on an avx2 one.
var reuseShards = []struct {
	name, engine string
	rows         map[int]shardRow
}{
	{"a", "1/avx512", map[int]shardRow{
		0: {"pruned", 0.375}, // pruned here, done under avx2 in b: the study takes its pruned row
		1: {"failed", 0},     // failed here, done under avx2 in b: the study takes that
		2: {"done", 0.5},     // done here and again in c (a rerun): one row
		3: {"pruned", 0.25},  // pruned here, done under the same identity in c: done
		4: {"running", 0},    // interrupted here, done under avx2 in b
		5: {"failed", 0},     // failed here, pruned under the same identity in c: pruned
	}},
	{"b", "1/avx2", map[int]shardRow{0: {"done", 0.75}, 1: {"done", 0.625}, 4: {"done", 0.125}}},
	{"c", "1/avx512", map[int]shardRow{2: {"done", 0.5}, 3: {"done", 0.875}, 5: {"pruned", 0.625}}},
}

// reuseDecisions are the study's rung decisions: the second configuration stops
// after its first epoch.
func reuseDecisions(plan []sweeps.Unit) []sweeps.Decision {
	return []sweeps.Decision{
		{Key: plan[0].ID.Key, Epoch: 1, Score: 0.5, Cutoff: 0.4, Promoted: true},
		{Key: plan[2].ID.Key, Epoch: 1, Score: 0.4, Cutoff: 0.45, Order: 1},
		{Key: plan[4].ID.Key, Epoch: 1, Score: 0.6, Cutoff: 0.4, Promoted: true, Order: 2},
	}
}

func reuseHeader(t *testing.T, engine string) (sweeps.Header, []study.Point) {
	h, points := mergeHeader(t, reuseStudy)
	h.Engine = engine
	h.Schedule.Pruner = &study.Pruner{Kind: "sha", Eta: 2, MinEpochs: 1}
	return h, points
}

// writeReuseShard writes shard i of reuseShards into s (of run records
// as a sweep --shard I/3 writes them), with the decisions that every
// shard of a pruned study reads from its one store.
func writeReuseShard(t *testing.T, s Store, i int) {
	t.Helper()
	sh := reuseShards[i]
	h, points := reuseHeader(t, sh.engine)
	if err := s.SaveStudy(h, points); err != nil {
		t.Fatal(err)
	}
	plan := sweeps.Plan(h, points)
	for pos := range len(plan) {
		if r, ok := sh.rows[pos]; ok {
			saveRow(t, s, plan[pos].ID, h.Name, r)
		}
	}
	if err := s.ReplaceDecisions(h.Name, reuseDecisions(plan)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(h.Name, sweeps.ShardRun(i, len(reuseShards), float64(i+1), len(sh.rows), 0)); err != nil {
		t.Fatal(err)
	}
}

// writeReuseShardDirs writes each of reuseShards into its own database in
// a folder of root, and returns the folders.
func writeReuseShardDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	for i, sh := range reuseShards {
		dir := filepath.Join(root, sh.name)
		s, err := openSQLite(dir, true)
		if err != nil {
			t.Fatal(err)
		}
		writeReuseShard(t, s, i)
		s.Close()
		dirs = append(dirs, dir)
	}
	return dirs
}

// TestMergeTakesTheResultsReportTakes: merge keeps each unit's row of
// each engine identity (of one identity the furthest on: done, pruned,
// failed, running), failed and interrupted ones too, and the study's rung
// decisions, and counts units by the rule report reads them by
// (sweeps.Reuse): in this pruned study unit 0 is its own pruned row, not
// avx2's done one. Defect: merge kept one row per unit, done before
// failed before the rest, so it copied avx2's done row of unit 0 over the
// pruned one, counted units pruned here missing, and left the decisions
// out; report OUT then showed other results than report --store.
func TestMergeTakesTheResultsReportTakes(t *testing.T) {
	root := t.TempDir()
	dirs := writeReuseShardDirs(t, root)
	out := filepath.Join(root, "out")
	res, err := Merge(context.Background(), out, dirs, "", false)
	if err != nil {
		t.Fatal(err)
	}
	// Taken: 0 pruned (own), 1 done (avx2), 2 done, 3 done, 4 done (avx2), 5 pruned.
	if res.Done != 4 || res.Pruned != 2 || res.Failed != 0 || res.Missing != 0 || res.Duplicates != 3 || len(res.Differing) != 0 {
		t.Errorf("merge: %+v", res)
	}
	h, points := reuseHeader(t, "1/avx512")
	plan := sweeps.Plan(h, points)
	rows := map[string]string{} // "position engine" → state accuracy
	o, err := openSQLite(out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	for pos, u := range plan {
		rs, err := readUnitRows(context.Background(), o.conn(), u.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			rows[fmt.Sprintf("%d %s", pos, r.id.Engine)] = fmt.Sprintf("%s %v", r.state, r.accuracy.Float64)
		}
	}
	want := map[string]string{
		"0 1/avx512": "pruned 0.375", "0 1/avx2": "done 0.75",
		"1 1/avx512": "failed 0", "1 1/avx2": "done 0.625",
		"2 1/avx512": "done 0.5",
		"3 1/avx512": "done 0.875",
		"4 1/avx512": "running 0", "4 1/avx2": "done 0.125",
		"5 1/avx512": "pruned 0.625",
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("merged rows:\n%v\nwant\n%v", rows, want)
	}
	if ds, err := o.Decisions(context.Background(), h.Name); err != nil || len(ds) != 3 || ds[1].Promoted || ds[1].Key != plan[2].ID.Key {
		t.Errorf("merged decisions %+v (%v)", ds, err)
	}
	r, err := Load(context.Background(), o, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if u := r.Configs[0].Units; len(u) != 2 || u[0].PrunedAt != 1 || u[0].Accuracy != 0.375 || u[0].EngineVer != "1/avx512" {
		t.Errorf("unit 0: %+v; want its own pruned row", u)
	}

	// Merging again changes nothing; a shard whose decisions differ is
	// refused, and nothing is written.
	before := dump(t, out)
	if res, err := Merge(context.Background(), out, dirs, "", false); err != nil || res.Written != 0 || res.Pruned != 2 {
		t.Errorf("merge again: %+v, %v", res, err)
	}
	x := filepath.Join(root, "x")
	s, err := openSQLite(x, true)
	if err != nil {
		t.Fatal(err)
	}
	writeReuseShard(t, s, 1)
	ds := reuseDecisions(plan)
	ds[1].Promoted = true
	if err := s.ReplaceDecisions(h.Name, ds); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Merge(context.Background(), out, []string{dirs[0], x}, "", false); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "other rung decisions") {
		t.Errorf("shards deciding otherwise: %v", err)
	}
	if dump(t, out) != before {
		t.Error("a refused merge changed OUT")
	}
	fresh := filepath.Join(root, "fresh")
	if _, err := Merge(context.Background(), fresh, []string{dirs[0], x}, "", false); !errors.Is(err, ErrMismatch) {
		t.Errorf("shards deciding otherwise, into a new OUT: %v", err)
	}
	if _, err := openSQLite(fresh, false); err == nil {
		t.Error("a refused merge created OUT's database")
	}
}

// TestMergeReportsAsASharedStore: the study merged from shard databases
// reads (Load: what report prints; ReadStudy: what report's page, status
// and the live page show) as it does from one PostgreSQL store that the
// same shards wrote, the avx2 one first: a shared store's study header
// (whose engine identity is the study's own) is the shard's that saved it
// last, a merge's its first shard's.
func TestMergeReportsAsASharedStore(t *testing.T) {
	ctx := context.Background()
	pg, err := Open(ctx, storetest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	root := t.TempDir()
	dirs := writeReuseShardDirs(t, root)
	for _, i := range []int{1, 0, 2} { // the avx2 shard first: the others' header stays
		writeReuseShard(t, pg, i)
	}
	out := filepath.Join(root, "out")
	if _, err := Merge(ctx, out, dirs, "", false); err != nil {
		t.Fatal(err)
	}
	merged, err := Open(ctx, out, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer merged.Close()
	for _, strict := range []bool{false, true} {
		read := func(s Store) string {
			t.Helper()
			r, err := Load(ctx, s, "", strict)
			if err != nil {
				t.Fatal(err)
			}
			_, _, units, err := ReadStudy(ctx, s, "", strict, true)
			if err != nil {
				t.Fatal(err)
			}
			for i := range units { // times of writing differ
				units[i].Started, units[i].Finished, units[i].Result.Started, units[i].Result.Finished = 0, 0, 0, 0
			}
			for c := range r.Configs {
				for u := range r.Configs[c].Units {
					r.Configs[c].Units[u].Started, r.Configs[c].Units[u].Finished = 0, 0
				}
			}
			b, err := json.MarshalIndent(struct {
				R     sweeps.StudyResult
				Units []StudyUnit
			}{r, units}, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if m, p := read(merged), read(pg); m != p {
			t.Errorf("strict %v: the merged study reads\n%s\nthe shared store\n%s", strict, m, p)
		}
	}
}
