package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// prunedAfter is a unit's result pruned after e epochs, at accuracy acc.
func prunedAfter(e int, acc float64) sweeps.UnitResult {
	u := sweeps.UnitResult{Accuracy: acc, ValLoss: 1 - acc, PrunedAt: e, Samples: int64(10 * e), Seconds: 1}
	for i := 1; i <= e; i++ {
		u.Epochs = append(u.Epochs, engine.EpochStats{Epoch: i, Loss: 0.5, Accuracy: acc, ValLoss: 1 - acc, ValAccuracy: acc})
	}
	return u
}

// studyUnit is the unit id as ReadStudy of study name reads it.
func studyUnit(t *testing.T, s Store, name string, id sweeps.UnitID) StudyUnit {
	t.Helper()
	_, _, units, err := ReadStudy(context.Background(), s, name, false, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if u.ID == id {
			return u
		}
	}
	return StudyUnit{}
}

// TestSaveUnitKeepsFinishedResults: a unit's row is replaced only by one
// at least as far on (saveUnit's one rule, unitReplaces). Study "a"
// stores unit 0 pruned after 2 epochs; study "b" (no pruner) trains it
// again and fails: the pruned row and its curve stay, "b" reads the unit
// failed with its error (report, status), "a" pruned. Another pruner
// stopping it after 1 epoch leaves the deeper row; one stopping it after
// 3 replaces it, and a done result replaces that. Defect: saveUnit let
// the failure overwrite the pruned row (the curve "a" decided from was
// lost) and any pruned row overwrite a deeper one.
func TestSaveUnitKeepsFinishedResults(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		ctx := context.Background()
		s := mustOpen(t, b.writer, loc)
		ha, points := reuseHeader(t, "1/avx512")
		ha.Name = "a"
		hb := ha
		hb.Name, hb.Schedule.Pruner = "b", nil
		for _, h := range []sweeps.Header{ha, hb} {
			if err := s.SaveStudy(h, points); err != nil {
				t.Fatal(err)
			}
		}
		id := sweeps.Plan(ha, points)[0].ID
		if id != sweeps.Plan(hb, points)[0].ID {
			t.Fatal("the studies plan other units")
		}
		stored := func(step, state string, prunedAt int, acc float64) {
			t.Helper()
			u, got, err := s.Unit(id)
			if err != nil || got != state || u.PrunedAt != prunedAt || u.Accuracy != acc || len(u.Epochs) != max(prunedAt, 0) && state == "pruned" {
				t.Errorf("%s: stored %q pruned at %d accuracy %v (%d epochs) (%v), want %q %d %v",
					step, got, u.PrunedAt, u.Accuracy, len(u.Epochs), err, state, prunedAt, acc)
			}
		}
		if err := s.SaveUnit(id, "a", prunedAfter(2, 0.5)); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRunning(id, "b", 1); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveUnit(id, "b", sweeps.UnitResult{Error: "out of memory", Machine: sweeps.Machine{Host: "hb"}}); err != nil {
			t.Fatal(err)
		}
		stored("a failed retrain", "pruned", 2, 0.5)
		if u := studyUnit(t, s, "a", id); u.State != "pruned" || u.Result.PrunedAt != 2 || u.Result.Accuracy != 0.5 {
			t.Errorf("study a reads %q %+v, want its pruned row", u.State, u.Result)
		}
		if u := studyUnit(t, s, "b", id); u.State != "failed" || !u.Result.Failed() || u.Result.Error != "out of memory" || u.Result.Host != "hb" || len(u.Result.Epochs) != 0 {
			t.Errorf("study b reads %q %+v, want its failure", u.State, u.Result)
		}
		if r, err := Load(ctx, s, "b", false); err != nil || r.Configs[0].Units[0].Error != "out of memory" {
			t.Errorf("report of b: %+v (%v), want its failure", r.Configs[0].Units, err)
		}
		if pg, ok := s.(*Postgres); ok {
			for study, want := range map[string]string{"a": "pruned", "b": "failed", "c": "pruned"} {
				if got, err := pg.UnitStates(ctx, []sweeps.UnitID{id}, study); err != nil || got[id] != want {
					t.Errorf("state for %s: %q (%v), want %q", study, got[id], err, want)
				}
			}
		}

		if err := s.SaveUnit(id, "c", prunedAfter(1, 0.25)); err != nil {
			t.Fatal(err)
		}
		stored("pruned earlier", "pruned", 2, 0.5)
		if err := s.SaveUnit(id, "c", prunedAfter(3, 0.625)); err != nil {
			t.Fatal(err)
		}
		stored("pruned later", "pruned", 3, 0.625)
		if u := studyUnit(t, s, "b", id); u.State != "pruned" || u.Result.Error != "" {
			t.Errorf("study b after the deeper row: %q %+v, want the row (its failure was another row's)", u.State, u.Result)
		}
		if err := s.MarkRunning(id, "b", 1); err != nil { // interrupted: nothing stored
			t.Fatal(err)
		}
		if u := studyUnit(t, s, "b", id); u.State != "running" {
			t.Errorf("study b retraining: %q", u.State)
		}
		stored("retraining", "pruned", 3, 0.625)
		done := prunedAfter(4, 0.75)
		done.PrunedAt = 0
		if err := s.SaveUnit(id, "b", done); err != nil {
			t.Fatal(err)
		}
		stored("done", "done", 0, 0.75)
		for _, worse := range []sweeps.UnitResult{prunedAfter(4, 0.5), {Error: "killed"}} {
			if err := s.SaveUnit(id, "b", worse); err != nil {
				t.Fatal(err)
			}
		}
		stored("done, then pruned and failed", "done", 0, 0.75)
		if u := studyUnit(t, s, "b", id); u.State != "done" || u.Result.Accuracy != 0.75 {
			t.Errorf("study b at the end: %q %+v", u.State, u.Result)
		}
	})
}

// TestMergeKeepsTheDeeperPrunedRow: of two shards' pruned rows of one
// unit and path (pruners that stop it at other epochs), merge keeps the
// deeper, in either order, as a store they shared does; a shard's failed
// retrain of a pruned row merges as that study's failure beside the
// curve. Defect: merge kept the first shard's pruned row unremarked.
func TestMergeKeepsTheDeeperPrunedRow(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	h, points := reuseHeader(t, "1/avx512")
	plan := sweeps.Plan(h, points)
	other := h
	other.Name = "other"
	write := func(name string, f func(s Store)) string {
		t.Helper()
		dir := filepath.Join(root, name)
		s, err := openSQLite(dir, true)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, h := range []sweeps.Header{other, h} { // the merged study is the one saved last
			if err := s.SaveStudy(h, points); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ReplaceDecisions(h.Name, reuseDecisions(plan)); err != nil {
			t.Fatal(err)
		}
		f(s)
		if err := s.FinishRun(h.Name, sweeps.LocalRun(1, 1, 0)); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	save := func(s Store, id sweeps.UnitID, study string, u sweeps.UnitResult) {
		t.Helper()
		if err := s.SaveUnit(id, study, u); err != nil {
			t.Fatal(err)
		}
	}
	shallow := write("shallow", func(s Store) {
		save(s, plan[0].ID, h.Name, prunedAfter(1, 0.25))
		save(s, plan[1].ID, other.Name, prunedAfter(2, 0.5)) // then retrained by h, which failed
		if err := s.MarkRunning(plan[1].ID, h.Name, 1); err != nil {
			t.Fatal(err)
		}
		save(s, plan[1].ID, h.Name, sweeps.UnitResult{Error: "out of memory"})
	})
	deep := write("deep", func(s Store) { save(s, plan[0].ID, h.Name, prunedAfter(2, 0.5)) })
	for i, shards := range [][]string{{shallow, deep}, {deep, shallow}} {
		out := filepath.Join(root, "out", string(rune('a'+i)))
		res, err := Merge(ctx, out, shards, h.Name, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Pruned != 1 || res.Failed != 1 || res.Duplicates != 1 || len(res.Differing) != 0 {
			t.Errorf("merge of %v: %+v", shards, res)
		}
		s, err := Open(ctx, out, ReadOnly)
		if err != nil {
			t.Fatal(err)
		}
		if u, state, err := s.Unit(plan[0].ID); err != nil || state != "pruned" || u.PrunedAt != 2 || u.Accuracy != 0.5 {
			t.Errorf("merge of %v: unit 0 %q pruned at %d accuracy %v (%v), want the deeper row", shards, state, u.PrunedAt, u.Accuracy, err)
		}
		if u, state, err := s.Unit(plan[1].ID); err != nil || state != "pruned" || u.PrunedAt != 2 {
			t.Errorf("merge of %v: unit 1 %q pruned at %d (%v), want the other study's row", shards, state, u.PrunedAt, err)
		}
		if u := studyUnit(t, s, h.Name, plan[1].ID); u.State != "failed" || u.Result.Error != "out of memory" {
			t.Errorf("merge of %v: the study reads unit 1 %q %+v, want its failure", shards, u.State, u.Result)
		}
		s.Close()
	}
}
