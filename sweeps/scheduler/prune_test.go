package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// shaStudy is 9 configurations × 2 folds, 4 epochs, successive halving
// with η = 3 from epoch 1: rungs at 1 and 3 keep 3, then 1. Two batch
// sizes make two groups per fold; one configuration diverges.
const shaStudy = `
name: sha
folds: 2
epochs: 4
seed: 5
base: {hidden: [16], batch: 16, optimizer: sgd}
grid:
  lr: [0.003, 0.03, 0.3, 1e30]
  batch: [16, 32]
pruner: {kind: sha, eta: 3, min_epochs: 1}
`

func shaData() *datasets.Dataset { return datasets.Blobs(400, 10, 3) }

// prunedRun runs src, counting the epochs trained.
func runPruned(t *testing.T, src string, dir string, opt Options) (sweeps.StudyResult, int) {
	t.Helper()
	epochs := 0
	opt.Dir = dir
	opt.Progress = func(e Event) {
		if e.Kind == EpochDone {
			epochs++
		}
	}
	r, err := RunStudy(context.Background(), parse(t, src), shaData(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return r, epochs
}

// decisionsOf is a study's decisions without their order (for printing).
func decisionsOf(r sweeps.StudyResult) string {
	var b strings.Builder
	for _, d := range r.Decisions {
		fmt.Fprintf(&b, "%s@%d:%v:%x/%x ", d.Key[:6], d.Epoch, d.Promoted, d.Score, d.Cutoff)
	}
	return b.String()
}

// TestSuccessiveHalvingIsReproducible: a study with synchronous successive
// halving gives bit for bit the same numbers and the same decisions with
// 1 and 2 workers, fused (wide and narrow groups) and unfused; it trains
// 8 configurations to epoch 1 (the 2 at lr 1e30 diverge in it), 2 of them
// (⌊8/3⌋) to 3 and 1 to 4, each continuing from where its rung left it
// (2 folds × (6 + 2·2 + 1) = 22 epochs, not the 2 × (6 + 2·3 + 4) = 32 of
// training again from the start); every number equals the same
// configuration's in a study without a pruner, up to the epoch it stopped
// at.
func TestSuccessiveHalvingIsReproducible(t *testing.T) {
	full, _ := runPruned(t, strings.Replace(shaStudy, "pruner:", "#", 1), t.TempDir(), Options{Workers: 2, Curves: true})
	var ref sweeps.StudyResult
	for i, opt := range []Options{
		{Workers: 1, GroupColumns: 1 << 20},
		{Workers: 2, GroupColumns: 16},
		{Workers: 2, GroupColumns: 1 << 20},
		{Workers: 1},
	} {
		src := shaStudy
		if i == 3 {
			src += "fuse: false\n"
		}
		r, epochs := runPruned(t, src, t.TempDir(), opt)
		if epochs != 22 {
			t.Errorf("run %d: %d epochs trained, want 22", i, epochs)
		}
		if i == 0 {
			ref = r
			pruned := map[int]int{}
			for _, c := range r.Configs {
				pruned[c.PrunedAt]++
			}
			if fmt.Sprint(pruned) != "map[0:3 1:4 3:1]" || len(r.Decisions) != 8+2 {
				t.Fatalf("pruned at: %v, %d decisions; want 4 at 1, 1 at 3, 1 trained fully and 2 diverged, 10 decisions", pruned, len(r.Decisions))
			}
			if r.Configs[0].Rank == 0 || r.Configs[slices.IndexFunc(r.Configs, func(c sweeps.ConfigResult) bool { return c.PrunedAt == 0 })].Rank != 1 {
				t.Errorf("the configuration trained fully does not rank first")
			}
			for ci, c := range r.Configs {
				for f, u := range c.Units {
					fu := full.Configs[ci].Units[f]
					if len(u.Epochs) > len(fu.Epochs) {
						t.Fatalf("config %d fold %d: %d epochs pruned, %d without a pruner", ci, f, len(u.Epochs), len(fu.Epochs))
					}
					for e := range u.Epochs {
						a, b := u.Epochs[e], fu.Epochs[e]
						if a.Loss != b.Loss || a.ValAccuracy != b.ValAccuracy || a.ValLoss != b.ValLoss {
							t.Errorf("config %d fold %d epoch %d: %+v pruned, %+v without a pruner", ci, f, e+1, a, b)
						}
					}
					if !u.Diverged && (u.Accuracy != fu.Epochs[len(u.Epochs)-1].ValAccuracy || u.PrunedAt != c.PrunedAt) {
						t.Errorf("config %d fold %d: accuracy %v, pruned at %d", ci, f, u.Accuracy, u.PrunedAt)
					}
				}
			}
			continue
		}
		if !sameBits(numbers(r), numbers(ref)) || decisionsOf(r) != decisionsOf(ref) {
			t.Errorf("run %d (%+v): other numbers or decisions:\n%s\n%s", i, opt, decisionsOf(r), decisionsOf(ref))
		}
	}
}

// TestPrunedStudyResumes: a pruned study interrupted mid-rung, run again,
// replays the pruner on the stored units, trains the rest, and ends with
// the numbers and decisions of an uninterrupted run.
func TestPrunedStudyResumes(t *testing.T) {
	ref, _ := runPruned(t, shaStudy, t.TempDir(), Options{Workers: 2})
	for _, stopAt := range []int{5, 14, 20} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		epochs := 0
		_, err := RunStudy(ctx, parse(t, shaStudy), shaData(), Options{Dir: dir, Workers: 2, Progress: func(e Event) {
			if e.Kind == EpochDone {
				if epochs++; epochs == stopAt {
					cancel()
				}
			}
		}})
		cancel()
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("stopped at epoch %d: %v", stopAt, err)
		}
		r, _ := runPruned(t, shaStudy, dir, Options{Workers: 2})
		if !sameBits(numbers(r), numbers(ref)) || decisionsOf(r) != decisionsOf(ref) {
			t.Errorf("stopped after %d epochs and resumed: other numbers or decisions", stopAt)
		}
		back := loadStudy(t, dir, "", "sha")
		if !sameBits(numbers(back), numbers(ref)) || decisionsOf(back) != decisionsOf(ref) {
			t.Errorf("stopped after %d epochs: the store holds other numbers or decisions", stopAt)
		}
	}
}

// pruneKillStudy: 9 configurations × 3 folds, 6 epochs, successive halving
// with η = 3 (rungs at 1 and 3), slow enough for a kill mid-rung.
const pruneKillStudy = `
name: prunekill
folds: 3
epochs: 6
seed: 3
base: {hidden: [48], batch: 8}
random: {n: 9, seed: 2, params: {lr: {log_uniform: [0.0003, 0.01]}}}
pruner: sha
`

// TestKillPrunedStudyMidRung SIGKILLs a child process running a pruned
// study in the middle of its second rung (after the first rung's units
// were stored as pruned), then runs the study again in a child: the
// stored units are reused, the decisions replayed, and the study ends
// with the numbers and decisions of an uninterrupted run with another
// worker count.
func TestKillPrunedStudyMidRung(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		stop, _ := strconv.Atoi(os.Getenv(killStopEnv))
		second := 0
		r, err := RunStudy(context.Background(), parse(t, pruneKillStudy), killData(), Options{Dir: dir, Workers: killWorkers,
			Progress: func(e Event) {
				if e.Kind == UnitDone && e.Unit.PrunedAt > 0 {
					fmt.Println("pruned")
				}
				if e.Kind == EpochDone && e.Epoch.Epoch > 1 {
					fmt.Println("rung-2-epoch")
					if second++; second == stop {
						time.Sleep(time.Minute) // killed here, the rung not finished
					}
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("finished run=%d reused=%d\n", r.UnitsRun, r.UnitsReused)
		return
	}
	dir := t.TempDir()
	pruned, second := 0, 0
	killChild(t, "TestKillPrunedStudyMidRung", dir, "", func(line string) bool {
		switch line {
		case "pruned":
			pruned++
		case "rung-2-epoch":
			second++ // killed mid-rung: the promoted configurations are in flight
		}
		return second == 3
	}, killStopEnv+"=3")
	if pruned != 6*3 || second < 3 {
		t.Fatalf("killed after %d pruned units and %d epochs of the second rung; want 18 and 3", pruned, second)
	}
	states := storeStates(t, dir, "")
	if states["pruned"] != 18 || states["done"] != 0 {
		t.Fatalf("after the kill: %v, want 18 pruned", states)
	}
	trained, reused := resumeChild(t, "TestKillPrunedStudyMidRung", dir, "")
	if reused != 18 || trained != 9 {
		t.Errorf("resume reused %d and trained %d units; want the 18 pruned reused and 9 trained", reused, trained)
	}
	got := loadStudy(t, dir, "", "prunekill")
	ref, err := RunStudy(context.Background(), parse(t, pruneKillStudy), killData(), Options{Dir: t.TempDir(), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(numbers(got), numbers(ref)) || decisionsOf(got) != decisionsOf(ref) {
		t.Errorf("killed and resumed pruned study differs from an uninterrupted run on 1 worker:\n%s\n%s", decisionsOf(got), decisionsOf(ref))
	}
}

// kindsStudy is 12 configurations of one size × 2 folds, 6 epochs, for a
// pruner appended.
const kindsStudy = `
name: kinds
folds: 2
epochs: 6
seed: 5
base: {hidden: [16], batch: 16, optimizer: sgd}
grid:
  lr: [0.3, 0.1, 0.03, 0.01, 0.003, 0.001]
  batch: [16, 32]
`

// TestEveryPrunerRuns: asha, hyperband and median studies train less
// than the full study, record a decision for every configuration they
// judge (score, cutoff at the time: promoted exactly when the score
// reaches it), store what they stopped as pruned, and load back as run.
func TestEveryPrunerRuns(t *testing.T) {
	grid := kindsStudy
	_, full := runPruned(t, grid, t.TempDir(), Options{Workers: 2})
	for _, pr := range []string{"{kind: asha, eta: 3}", "{kind: hyperband, eta: 3}", "{kind: median, min_epochs: 2, startup: 4}"} {
		dir := t.TempDir()
		r, epochs := runPruned(t, grid+"pruner: "+pr+"\n", dir, Options{Workers: 2})
		pruned := 0
		for _, c := range r.Configs {
			if c.PrunedAt > 0 {
				pruned++
			}
		}
		t.Logf("%s: %d of %d epochs, %d of 12 pruned, %d decisions", pr, epochs, full, pruned, len(r.Decisions))
		if epochs >= full || pruned == 0 || len(r.Decisions) < pruned {
			t.Errorf("%s: %d of %d epochs, %d pruned, %d decisions", pr, epochs, full, pruned, len(r.Decisions))
		}
		for _, d := range r.Decisions {
			if d.Promoted != (d.Score >= d.Cutoff) {
				t.Errorf("%s: decision %+v", pr, d)
			}
		}
		back := loadStudy(t, dir, "", "kinds")
		if !sameBits(numbers(back), numbers(r)) || decisionsOf(back) != decisionsOf(r) {
			t.Errorf("%s: loads back other than it ran", pr)
		}
	}
}

// TestPrunedStudyInShards: two shards of a study with successive halving,
// each its own process's run on one PostgreSQL store, wait for each
// other's scores at every rung and make the same decisions: together they
// store the numbers and decisions of a local run. A shard on a store of
// its own, or with ASHA, is refused.
func TestPrunedStudyInShards(t *testing.T) {
	ref, _ := runPruned(t, shaStudy, t.TempDir(), Options{Workers: 2})
	if _, err := RunStudy(context.Background(), parse(t, shaStudy), shaData(), Options{Dir: t.TempDir(), Shard: Shard{Index: 0, Count: 2}}); err == nil ||
		!strings.Contains(err.Error(), "its shards must share one PostgreSQL store") {
		t.Errorf("a shard on its own SQLite store: %v", err)
	}
	url := storetest.Postgres(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		st := openStore(t, "", url)
		wg.Go(func() {
			_, errs[i] = RunStudy(context.Background(), parse(t, shaStudy), shaData(), Options{Dir: t.TempDir(), Store: st, Workers: 1, Shard: Shard{Index: i, Count: 2}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	got := loadStudy(t, "", url, "sha")
	if !sameBits(numbers(got), numbers(ref)) || decisionsOf(got) != decisionsOf(ref) {
		t.Errorf("two shards differ from a local run:\n%s\n%s", decisionsOf(got), decisionsOf(ref))
	}
	asha := strings.Replace(shaStudy, "kind: sha", "kind: asha", 1)
	if _, err := RunStudy(context.Background(), parse(t, asha), shaData(), Options{Dir: t.TempDir(), Store: openStore(t, "", url), Shard: Shard{Index: 0, Count: 2}}); err == nil ||
		!strings.Contains(err.Error(), "run it on the queue") {
		t.Errorf("asha in shards: %v", err)
	}
}

// TestASHAPromotesWithoutWaiting: with ASHA, a configuration whose folds
// all reached the first rung goes on at once, before the rung is full,
// even on one worker (promotions come first in the queue): its second
// epoch is trained before the last configuration's first.
func TestASHAPromotesWithoutWaiting(t *testing.T) {
	src := strings.Replace(shaStudy, "kind: sha", "kind: asha", 1)
	var epochs []int // in the order trained
	r, err := RunStudy(context.Background(), parse(t, src), shaData(), Options{Dir: t.TempDir(), Workers: 1, GroupColumns: 16,
		Progress: func(e Event) {
			if e.Kind == EpochDone {
				epochs = append(epochs, e.Epoch.Epoch)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	first2 := slices.IndexFunc(epochs, func(e int) bool { return e >= 2 })
	last1 := -1
	for i, e := range epochs {
		if e == 1 {
			last1 = i
		}
	}
	if first2 < 0 || first2 > last1 {
		t.Errorf("epochs in the order trained %v: no second epoch before the last first one", epochs)
	}
	if len(r.Decisions) == 0 {
		t.Error("no decisions")
	}
}

// ashaKillStudy is 6 configurations × 2 folds, 9 epochs, ASHA with η = 3
// (rungs at 1 and 3). With 1 worker and groups of at most 64 first-layer
// columns, the hidden-64 configurations (second, fourth and sixth in study
// order) train first, their jobs being the largest: they reach the first
// rung before the hidden-16 ones, so the arrival order is not the study
// order, and replaying the pruner over the stored scores in study order
// decides otherwise.
const ashaKillStudy = `
name: ashakill
folds: 2
epochs: 9
seed: 3
base: {hidden: [16], batch: 16, optimizer: sgd}
grid:
  lr: [0.3, 0.03, 0.00001]
  hidden: [[16], [64]]
pruner: {kind: asha, eta: 3, min_epochs: 1}
`

// ashaStopEnv makes TestKillASHAResumes's child stop (wait to be killed)
// once it has made that many decisions, in the Decided event that makes
// them: stored, and the units they stop not stored yet.
const ashaStopEnv = "MLPSWEEP_SWEEPS_ASHA_STOP"

// TestKillASHAResumes SIGKILLs a child process running an ASHA study (one
// process, one worker) after its 2nd, 6th or 7th decision, then runs the
// study again in a child to its end. The decisions stored before the kill
// are the first ones after it, unchanged (key, epoch, rung, score, cutoff,
// promoted, order): the run takes them back instead of deciding again.
// Those after them are ASHA's judgement of each configuration against the
// ones that reached its rung before it, in the order stored. A
// configuration's units are stored pruned at the rung of its last
// decision, or done when it went on at every rung; none has trained past
// its rung (the epochs in the store); and every unit's numbers are those
// of the same unit trained without a pruner. The first kill leaves a
// configuration promoted in flight (not stored), the second a configuration
// stopped but not stored, the third the same after units whose arrival
// order differs from study order were stored pruned: a replay in study
// order promotes the first of them.
func TestKillASHAResumes(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		stop, _ := strconv.Atoi(os.Getenv(ashaStopEnv))
		decisions := 0
		r, err := RunStudy(context.Background(), parse(t, ashaKillStudy), shaData(), Options{Dir: dir, Store: openStore(t, dir, os.Getenv(killStoreEnv)),
			Workers: 1, GroupColumns: 64, Progress: func(e Event) {
				if e.Kind != Decided {
					return
				}
				if decisions += len(e.Decisions); stop > 0 && decisions >= stop {
					fmt.Println("stopped")
					time.Sleep(time.Minute) // killed here
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("finished run=%d reused=%d\n", r.UnitsRun, r.UnitsReused)
		return
	}
	full, _ := runPruned(t, strings.Replace(ashaKillStudy, "pruner:", "#", 1), t.TempDir(), Options{Workers: 2, Curves: true})
	forEachStore(t, func(t *testing.T, _, url string) {
		for _, stop := range []int{2, 6, 7} {
			t.Run(fmt.Sprint(stop), func(t *testing.T) {
				dir, url := t.TempDir(), url
				if url != "" {
					url = storetest.Postgres(t) // a database of its own
				}
				stopped := false
				killChild(t, "TestKillASHAResumes", dir, url, func(line string) bool {
					stopped = line == "stopped"
					return stopped
				}, fmt.Sprintf("%s=%d", ashaStopEnv, stop))
				if !stopped {
					t.Fatalf("the child ended before its decision %d", stop)
				}
				before, err := readStore(t, dir, url).Decisions(context.Background(), "ashakill")
				if err != nil {
					t.Fatal(err)
				}
				if len(before) != stop {
					t.Fatalf("%d decisions stored before the kill, want %d", len(before), stop)
				}
				resumeChild(t, "TestKillASHAResumes", dir, url)
				st := readStore(t, dir, url)
				got := loadStudy(t, dir, url, "ashakill")
				if len(got.Decisions) <= stop || !slices.Equal(got.Decisions[:stop], before) {
					t.Errorf("decisions before the kill:\n%s\nafter resuming:\n%s", decisionsOf(sweeps.StudyResult{Decisions: before}), decisionsOf(got))
				}
				if got.Configs[0].Key == got.Decisions[0].Key {
					t.Errorf("the first configuration arrived first: the arrival order is the study order")
				}
				scores, err := st.EpochScores(context.Background(), "ashakill")
				if err != nil {
					t.Fatal(err)
				}
				checkASHA(t, got, full, scores, 3)
			})
		}
	})
}

// checkASHA checks a finished ASHA study (η eta) against its decisions:
// each is ASHA's judgement at its rung against the decisions before it
// there, a configuration is decided at each rung in turn until stopped,
// its units are stored pruned at the rung it stopped at, or done, and
// trained no further (their epoch scores in the store, scores), with the
// numbers of full (the study without a pruner).
func checkASHA(t *testing.T, r, full sweeps.StudyResult, scores []sweeps.EpochScore, eta int) {
	t.Helper()
	at := map[int][]float64{}   // rung → the scores decided there so far
	stop := map[string]int{}    // configuration → the epoch it stopped at; 0: trained fully
	rungs := map[string][]int{} // configuration → its decisions' rungs in order
	for i, d := range r.Decisions {
		at[d.Rung] = append(at[d.Rung], d.Score)
		so := slices.Clone(at[d.Rung])
		slices.SortFunc(so, func(x, y float64) int { return cmp.Compare(y, x) })
		cutoff := so[max(1, len(so)/eta)-1]
		if d.Order != i || d.Cutoff != cutoff || d.Promoted != (d.Score >= cutoff) {
			t.Errorf("decision %d %+v: want order %d, cutoff %v", i, d, i, cutoff)
		}
		if _, ok := stop[d.Key]; ok && stop[d.Key] > 0 {
			t.Errorf("decision %d on %.6s after it stopped", i, d.Key)
		}
		if rungs[d.Key] = append(rungs[d.Key], d.Rung); d.Rung != len(rungs[d.Key])-1 {
			t.Errorf("decision %d on %.6s at rung %d after rungs %v", i, d.Key, d.Rung, rungs[d.Key])
		}
		stop[d.Key] = 0
		if !d.Promoted {
			stop[d.Key] = d.Epoch
		}
	}
	trained := map[[2]any]int{} // unit → the last epoch in the store
	for _, e := range scores {
		trained[[2]any{e.Key, e.Fold}] = max(trained[[2]any{e.Key, e.Fold}], e.Epoch)
	}
	for ci, c := range r.Configs {
		e, ok := stop[c.Key]
		if !ok {
			t.Errorf("configuration %.6s: no decision", c.Key)
		}
		want := cmp.Or(e, r.Epochs)
		if c.PrunedAt != e {
			t.Errorf("configuration %.6s: pruned at %d, its decisions stop it at %d", c.Key, c.PrunedAt, e)
		}
		for f, u := range c.Units {
			if u.Diverged {
				continue
			}
			if u.PrunedAt != e || len(u.Epochs) != want || trained[[2]any{c.Key, f}] != want {
				t.Errorf("configuration %.6s fold %d: pruned at %d, %d epochs, %d in the store; want %d", c.Key, f, u.PrunedAt, len(u.Epochs), trained[[2]any{c.Key, f}], want)
			}
			fu := full.Configs[ci].Units[f]
			for k := range min(len(u.Epochs), len(fu.Epochs)) {
				a, b := u.Epochs[k], fu.Epochs[k]
				if a.Loss != b.Loss || a.Accuracy != b.Accuracy || a.ValAccuracy != b.ValAccuracy || a.ValLoss != b.ValLoss {
					t.Errorf("configuration %.6s fold %d epoch %d: %+v, %+v without a pruner", c.Key, f, k+1, a, b)
				}
			}
		}
	}
}

// TestASHARerunKeepsDecisions: an ASHA study run again once finished
// trains nothing and keeps its decisions as they were made (in arrival
// order, which a replay in study order would change); the same name with
// a configuration gone is refused, saying why, rather than decided anew.
func TestASHARerunKeepsDecisions(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Dir: dir, Workers: 1, GroupColumns: 64}
	first, err := RunStudy(context.Background(), parse(t, ashaKillStudy), shaData(), opt)
	if err != nil {
		t.Fatal(err)
	}
	again, err := RunStudy(context.Background(), parse(t, ashaKillStudy), shaData(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if again.UnitsRun != 0 || !slices.Equal(again.Decisions, first.Decisions) || !slices.Equal(loadStudy(t, dir, "", "ashakill").Decisions, first.Decisions) {
		t.Errorf("run again: %d units trained, decisions\n%s\nwant\n%s", again.UnitsRun, decisionsOf(again), decisionsOf(first))
	}
	changed := strings.Replace(ashaKillStudy, "lr: [0.3, ", "lr: [", 1)
	if _, err := RunStudy(context.Background(), parse(t, changed), shaData(), opt); err == nil ||
		!strings.Contains(err.Error(), "study ashakill: the store's decisions do not fit the study (changed since they were made? run it under another name): pruner asha: decision 0 is on configuration") {
		t.Errorf("a configuration gone: %v", err)
	}
}

// ashaSharedStudy shares three of ashakill's configurations (the same
// units: same data, folds, seed and epochs); its successive halving keeps
// one of its four at epoch 1 and stores the units of lr=0.3 hidden=[64]
// pruned there (when it trains them: when the store does not hold them
// further), a configuration ashakill promotes at epochs 1 and 3.
const ashaSharedStudy = `
name: ashashared
folds: 2
epochs: 9
seed: 3
base: {hidden: [16], batch: 16, optimizer: sgd}
grid:
  hidden: [[16], [64]]
  lr: [0.3, 0.03]
pruner: {kind: sha, eta: 3, min_epochs: 1}
`

// TestASHAResumesOverAnotherStudysPrunedUnits: units are shared between
// studies. ashakill is stopped while lr=0.3 hidden=[64]'s units train
// past epoch 3, where it promoted them (its decision stored, its units
// in flight); ashashared, run next on the same store, trains those units
// and stores them pruned at epoch 1. Run again, ashakill takes back its
// decisions (the units' stop at epoch 1 was the other study's, not its
// own: it does not refuse its decisions as those of a changed study),
// trains the configuration to its end, and gives the decisions, and that
// configuration's units, of a run that was not stopped; ashashared still
// reads its results.
func TestASHAResumesOverAnotherStudysPrunedUnits(t *testing.T) {
	const taken = "lr=0.3, hidden=[64]"
	runIn := func(dir string, src string, stop bool) (sweeps.StudyResult, error) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		opt := Options{Dir: dir, Workers: 1, GroupColumns: 64}
		if stop {
			opt.Progress = func(e Event) {
				if e.Kind == EpochDone && e.Point.Value == taken && e.Epoch.Epoch == 5 {
					cancel()
				}
			}
		}
		return RunStudy(ctx, parse(t, src), shaData(), opt)
	}
	want, err := runIn(t.TempDir(), ashaKillStudy, false)
	if err != nil {
		t.Fatal(err)
	}
	var key string
	for _, c := range want.Configs {
		if c.Value == taken {
			key = c.Key
		}
	}

	dir := t.TempDir()
	if _, err := runIn(dir, ashaKillStudy, true); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("stopped at epoch 5 of %s: %v", taken, err)
	}
	st := readStore(t, dir, "")
	before, err := st.Decisions(context.Background(), "ashakill")
	if err != nil || !slices.ContainsFunc(before, func(d sweeps.Decision) bool { return d.Key == key && d.Epoch == 3 && d.Promoted }) {
		t.Fatalf("decisions stored before the stop: %+v (%v); want %s promoted at epoch 3", before, err, taken)
	}
	if _, err := runIn(dir, ashaSharedStudy, false); err != nil {
		t.Fatal(err)
	}
	units := func(r sweeps.StudyResult) []sweeps.UnitResult {
		for _, c := range r.Configs {
			if c.Key == key {
				return c.Units
			}
		}
		return nil
	}
	if u := units(loadStudy(t, dir, "", "ashakill")); len(u) != 2 || u[0].PrunedAt != 1 || u[1].PrunedAt != 1 {
		t.Fatalf("after ashashared, %s's units: %+v, want 2 pruned at epoch 1", taken, u)
	}
	got, err := runIn(dir, ashaKillStudy, false)
	if err != nil {
		t.Fatalf("run again: %v", err)
	}
	// The same decisions; those after the stop in the order the
	// configurations arrived, which differs (ashashared's units arrive at
	// once).
	byConfig := func(ds []sweeps.Decision) []sweeps.Decision {
		ds = slices.Clone(ds)
		for i := range ds {
			ds[i].Order = 0
		}
		slices.SortFunc(ds, func(a, b sweeps.Decision) int { return cmp.Or(strings.Compare(a.Key, b.Key), a.Epoch-b.Epoch) })
		return ds
	}
	if !slices.Equal(byConfig(got.Decisions), byConfig(want.Decisions)) || !slices.Equal(got.Decisions[:len(before)], before) {
		t.Errorf("decisions run again\n%s\nwant (in another order after the first %d)\n%s", decisionsOf(got), len(before), decisionsOf(want))
	}
	g, w := units(got), units(want)
	if len(g) != 2 || len(w) != 2 {
		t.Fatalf("%s: units %+v, want %+v", taken, g, w)
	}
	for f := range g {
		if g[f].Accuracy != w[f].Accuracy || g[f].PrunedAt != w[f].PrunedAt || len(g[f].Epochs) != 9 || len(w[f].Epochs) != 9 {
			t.Errorf("%s fold %d: accuracy %v pruned at %d, %d epochs; want %v, %d, 9", taken, f, g[f].Accuracy, g[f].PrunedAt, len(g[f].Epochs), w[f].Accuracy, w[f].PrunedAt)
		}
	}
	if r := loadStudy(t, dir, "", "ashashared"); len(r.Configs) != 4 || len(units(r)) != 2 {
		t.Errorf("ashashared after ashakill: %d configurations, %s's units %+v", len(r.Configs), taken, units(r))
	}
}

// TestInterruptedRunKeepsAnotherStudysPrunedUnits: a study without a
// pruner trains again the units a pruned study stored pruned (it needs
// every epoch), marking each running as it starts; interrupted as it
// starts the first, it leaves the pruned study's results in place: that
// study loads back exactly as before, on SQLite and on PostgreSQL.
func TestInterruptedRunKeepsAnotherStudysPrunedUnits(t *testing.T) {
	full := strings.Replace(strings.Replace(pruneKillStudy, "name: prunekill", "name: full", 1), "pruner: sha", "", 1)
	forEachStore(t, func(t *testing.T, dir, url string) {
		runOn(t, pruneKillStudy, killData(), dir, url, killWorkers)
		before := loadStudy(t, dir, url, "prunekill")
		pruned := 0
		for _, c := range before.Configs {
			if c.PrunedAt > 0 {
				pruned++
			}
		}
		if pruned == 0 {
			t.Fatal("the pruned study stored no unit pruned")
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started := 0
		_, err := RunStudy(ctx, parse(t, full), killData(), Options{Dir: dir, Store: openStore(t, dir, url), Workers: killWorkers,
			Progress: func(e Event) {
				if e.Kind == UnitStart {
					started++
					cancel() // interrupted: the units started stay marked running, as a killed run leaves them
				}
			}})
		if !errors.Is(err, ErrInterrupted) || started == 0 {
			t.Fatalf("the study without a pruner started %d units and ended with %v, want interrupted", started, err)
		}
		after := loadStudy(t, dir, url, "prunekill")
		for i, c := range after.Configs {
			if b := before.Configs[i]; fmt.Sprintf("%+v", c) != fmt.Sprintf("%+v", b) {
				t.Errorf("%s after another study's interrupted run: %d units, pruned at %d; before: %d units, pruned at %d, numbers equal: %v",
					c.Value, len(c.Units), c.PrunedAt, len(b.Units), b.PrunedAt, sameBits(unitNumbers(c), unitNumbers(b)))
			}
		}
	})
}

// TestStopsShowOwnRung: a pruned study shows each configuration it
// stopped as it stopped it, up to the epoch of its own decision, however
// far another study on the same store trained the units: to the end
// (without a pruner, with learning curves), or to a later rung (successive
// halving whose first rung is at epoch 2 against one at epoch 1, either
// first). Run after the other, on SQLite and PostgreSQL, each gives bit for
// bit its result on a store of its own, as it ran and as it loads back,
// with the same decisions; and the other study loads back as before.
func TestStopsShowOwnRung(t *testing.T) {
	studies := map[string]string{
		"sha":   pruneKillStudy,
		"later": strings.Replace(strings.Replace(pruneKillStudy, "name: prunekill", "name: later", 1), "pruner: sha", "pruner: {kind: sha, min_epochs: 2}", 1),
		"full":  strings.Replace(strings.Replace(pruneKillStudy, "name: prunekill", "name: full", 1), "pruner: sha", "", 1),
	}
	run := func(t *testing.T, name, dir, url string) sweeps.StudyResult {
		t.Helper()
		r, err := RunStudy(context.Background(), parse(t, studies[name]), killData(), Options{Dir: dir, Store: openStore(t, dir, url), Workers: killWorkers, Curves: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	refs := map[string]sweeps.StudyResult{}
	for name := range studies {
		refs[name] = run(t, name, t.TempDir(), "")
	}
	same := func(a, b sweeps.StudyResult) bool {
		return sameBits(numbers(a), numbers(b)) && prunedAts(a) == prunedAts(b) && decisionsOf(a) == decisionsOf(b)
	}
	forEachStore(t, func(t *testing.T, _, url string) {
		for _, pair := range [][2]string{{"full", "sha"}, {"later", "sha"}, {"sha", "later"}} {
			first, then := pair[0], pair[1]
			t.Run(first+"-then-"+then, func(t *testing.T) {
				dir, url := t.TempDir(), url
				if url != "" {
					url = storetest.Postgres(t) // a database of its own
				}
				run(t, first, dir, url)
				name := parse(t, studies[first]).Name
				before := loadStudy(t, dir, url, name)
				ran := run(t, then, dir, url)
				for what, got := range map[string]sweeps.StudyResult{"as it ran": ran, "loaded back": loadStudy(t, dir, url, ran.Name)} {
					if want := refs[then]; !same(got, want) {
						t.Errorf("%s after %s, %s: pruned at %s, want %s; numbers equal: %v\n%s\nwant\n%s", then, first, what,
							prunedAts(got), prunedAts(want), sameBits(numbers(got), numbers(want)), decisionsOf(got), decisionsOf(want))
					}
				}
				if after := loadStudy(t, dir, url, name); !same(after, before) {
					t.Errorf("%s after %s loads back pruned at %s, before %s; numbers equal: %v", first, then, prunedAts(after), prunedAts(before), sameBits(numbers(after), numbers(before)))
				}
			})
		}
	})
}

// prunedAts lists each configuration's PrunedAt and its units'.
func prunedAts(r sweeps.StudyResult) string {
	var b strings.Builder
	for _, c := range r.Configs {
		fmt.Fprintf(&b, "%d(", c.PrunedAt)
		for _, u := range c.Units {
			fmt.Fprintf(&b, " %d/%d", u.PrunedAt, len(u.Epochs))
		}
		b.WriteString(") ")
	}
	return b.String()
}
