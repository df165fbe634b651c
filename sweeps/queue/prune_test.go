package queue_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/internal/fixture"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// freshStore opens a new PostgreSQL database, closed when the test ends
// (after the workers stop: work's cleanup comes later, runs first).
func freshStore(t *testing.T) *store.Postgres {
	t.Helper()
	st, err := openPostgres(storetest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// prunedStudy writes a data set of 300 rows and the study of the YAML
// lines given (name, base, grid, pruner) on it, 2 folds and 9 epochs, and
// plans it.
func prunedStudy(t *testing.T, lines string) (*study.Study, *datasets.Dataset, scheduler.Plan) {
	t.Helper()
	s, data := studyOn300(t, lines)
	plan, err := scheduler.StudyPlan(s, data, true)
	if err != nil {
		t.Fatal(err)
	}
	return s, data, plan
}

// studyOn300 writes a data set of 300 rows and the study of the YAML lines
// given on it, 2 folds and 9 epochs, and loads them.
func studyOn300(t *testing.T, lines string) (*study.Study, *datasets.Dataset) {
	t.Helper()
	dir := t.TempDir()
	csv := filepath.Join(dir, "data.csv")
	fixture.BlobsCSV(t, csv, 300, 1, 2)
	s, err := study.ParseStudy(fmt.Appendf(nil, "data: {csv: %s, label: label}\nfolds: 2\nepochs: 9\nseed: 3\n%s", csv, lines), filepath.Join(dir, "study.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := study.LoadData(s.Data, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s, data
}

// TestPruneCoordinatorRestarted: a pruned study's coordinator stopped as
// it enqueues the second stage and started again (the workers going on
// meanwhile) decides and stores what one uninterrupted coordinator does,
// bit for bit, each decision once.
func TestPruneCoordinatorRestarted(t *testing.T) {
	s, _, plan := prunedStudy(t, `name: qp
base: {hidden: [16], batch: 8}
grid: {lr: [0.0001, 0.001, 0.003, 0.01, 0.03, 0.1]}
pruner: {kind: sha, eta: 3}
`)
	run := func(interrupt bool) sweeps.StudyResult {
		ctx := context.Background()
		st := freshStore(t)
		work(t, st)
		stop := func(line string) bool { return strings.Contains(line, "stage 2:") }
		if !interrupt {
			stop = nil
		}
		lines := coordinateStopped(t, func(ctx context.Context, report func(string)) error {
			return queue.Prune(ctx, st, plan, *s.Pruner, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, report)
		}, stop)
		// The ETA: none before the workers trained anything, then on the
		// lines of each later stage and rung (sha's: exact, no "~").
		if !interrupt {
			etas := 0
			for _, l := range lines {
				switch {
				case strings.Contains(l, "stage 1: ") && strings.Contains(l, "units to train") && strings.Contains(l, "eta"):
					t.Errorf("an ETA before any work: %q", l)
				case strings.Contains(l, "stage 2: ") && strings.Contains(l, "units to train") || strings.Contains(l, "decided: "):
					if !strings.Contains(l, ", eta ") || strings.Contains(l, "eta ~") {
						t.Errorf("no sha ETA on %q", l)
					}
					etas++
				}
			}
			if etas < 2 {
				t.Errorf("%d lines with an ETA:\n%s", etas, strings.Join(lines, "\n"))
			}
		}
		r, err := store.Load(ctx, st, s.Name, true)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	once, again := run(false), run(true)
	for _, r := range []sweeps.StudyResult{once, again} {
		checkMachines(t, r, nil, sweeps.Machine{})
	}
	if !slices.Equal(studyBits(once), studyBits(again)) || len(studyBits(once)) < 30 {
		t.Errorf("the restarted coordinator's study differs:\n%+v\n%+v", again.Configs, once.Configs)
	}
	if !slices.EqualFunc(once.Decisions, again.Decisions, func(a, b sweeps.Decision) bool {
		return a.Key == b.Key && a.Epoch == b.Epoch && a.Promoted == b.Promoted && a.Score == b.Score
	}) || len(once.Decisions) != 8 {
		t.Errorf("decisions differ:\n%+v\n%+v", once.Decisions, again.Decisions)
	}
}

// ashaStudy writes and plans an ASHA study of 9 configurations × 2 folds,
// 9 epochs (rungs at 1 and 3), one unit per job (16 first-layer columns:
// the rungs fill job by job), and trains it without its pruner on this
// process: the reference for its numbers.
func ashaStudy(t *testing.T) (*study.Study, scheduler.Plan, sweeps.StudyResult) {
	t.Helper()
	s, data, plan := prunedStudy(t, `name: qa
base: {hidden: [16], batch: 8, optimizer: sgd}
grid: {lr: [0.0003, 0.001, 0.002, 0.003, 0.006, 0.01, 0.02, 0.03, 0.1]}
pruner: {kind: asha, eta: 3}
`)
	return s, plan, withoutPruner(t, s, data)
}

// withoutPruner runs s on data without its pruner, locally, with learning
// curves.
func withoutPruner(t *testing.T, s *study.Study, data *datasets.Dataset) sweeps.StudyResult {
	t.Helper()
	full := *s
	full.Pruner = nil
	plan, err := scheduler.StudyPlan(&full, data, true)
	if err != nil {
		t.Fatal(err)
	}
	r, err := scheduler.Run(context.Background(), plan, scheduler.Options{Dir: t.TempDir(), Workers: 1, Curves: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pruneASHA runs ashaStudy's coordinator to its end, adding its lines to
// lines, and loads the study.
func pruneASHA(t *testing.T, st *store.Postgres, s *study.Study, plan scheduler.Plan, lines *[]string) sweeps.StudyResult {
	t.Helper()
	if err := queue.Prune(context.Background(), st, plan, *s.Pruner, queue.Source{Spec: s.Data}, ashaOptions, 20*time.Millisecond, func(line string) {
		*lines = append(*lines, line)
	}); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(*lines, "\n"))
	}
	r, err := store.Load(context.Background(), st, s.Name, true)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ashaOptions are the queue options of ashaStudy's tests.
var ashaOptions = queue.EnqueueOptions{Workers: 2, GroupColumns: 16}

// work runs Work with 2 workers on st until the test ends.
func work(t *testing.T, st *store.Postgres) {
	wctx, stop := context.WithCancel(context.Background())
	worked := make(chan error, 1)
	go func() {
		_, err := queue.Work(wctx, st, queue.Options{Workers: 2, TimeoutFactor: 10, MinTimeout: time.Minute, PollInterval: 50 * time.Millisecond})
		worked <- err
	}()
	t.Cleanup(func() {
		stop()
		if err := <-worked; err != nil && !errors.Is(err, queue.ErrInterrupted) {
			t.Error(err)
		}
	})
}

// checkASHA checks what ASHA on the queue stored, r, against ref (the
// study trained without its pruner): each configuration is decided once
// at each rung it reached, as ASHA decides given the order they came in
// (promoted when at least the ⌊m/η⌋-th best, at least the best, of the m
// that reached the rung up to it: the cutoff recorded), and stopped
// there; every number is ref's, bit for bit, up to where it stopped; the
// configuration best at every rung and at the end of ref goes on at each
// and is r's best. It returns the decisions by "key@epoch".
func checkASHA(t *testing.T, r, ref sweeps.StudyResult) map[string]sweeps.Decision {
	t.Helper()
	rungs := map[int][]float64{}
	decided := map[string]sweeps.Decision{}
	stops := map[string]int{}
	for _, d := range r.Decisions {
		id := fmt.Sprint(d.Key, "@", d.Epoch)
		if _, twice := decided[id]; twice {
			t.Errorf("%s decided twice", id)
		}
		decided[id] = d
		rungs[d.Epoch] = append(rungs[d.Epoch], d.Score)
		so := slices.Clone(rungs[d.Epoch])
		slices.SortFunc(so, func(x, y float64) int { return cmp.Compare(y, x) })
		if cutoff := so[max(1, len(so)/3)-1]; d.Cutoff != cutoff || d.Promoted != (d.Score >= cutoff) {
			t.Errorf("decision %+v: want cutoff %v of %v", d, cutoff, so)
		}
		if !d.Promoted {
			stops[d.Key] = d.Epoch
		}
	}
	byKey := map[string]sweeps.ConfigResult{}
	for _, c := range ref.Configs {
		byKey[c.Key] = c
	}
	var best string
	for _, c := range r.Configs {
		want := r.Epochs
		if e, ok := stops[c.Key]; ok {
			want = e
		}
		if _, ok := decided[c.Key+"@1"]; c.PrunedAt != stops[c.Key] || !ok {
			t.Errorf("config %s: pruned at %d, decisions %+v", c.Key, c.PrunedAt, r.Decisions)
		}
		f := byKey[c.Key]
		for i, u := range c.Units {
			if len(u.Epochs) != want {
				t.Errorf("config %s fold %d: %d epochs, want %d", c.Key, u.Fold, len(u.Epochs), want)
			}
			for e := range min(len(u.Epochs), len(f.Units[i].Epochs)) {
				a, b := u.Epochs[e], f.Units[i].Epochs[e]
				if math.Float64bits(a.ValAccuracy) != math.Float64bits(b.ValAccuracy) || math.Float64bits(a.Loss) != math.Float64bits(b.Loss) {
					t.Errorf("config %s fold %d epoch %d: %+v on the queue, %+v unpruned", c.Key, u.Fold, e+1, a, b)
				}
			}
		}
		if c.PrunedAt == 0 && math.Float64bits(c.MeanAccuracy) != math.Float64bits(f.MeanAccuracy) {
			t.Errorf("config %s trained fully: mean accuracy %v, unpruned %v", c.Key, c.MeanAccuracy, f.MeanAccuracy)
		}
		if c.Rank == 1 {
			best = c.Key
		}
	}
	top := func(e int) string {
		k, s := "", math.Inf(-1)
		for _, c := range ref.Configs {
			var sum float64
			for _, u := range c.Units {
				sum += u.Epochs[e-1].ValAccuracy
			}
			if sum > s {
				k, s = c.Key, sum
			}
		}
		return k
	}
	if top(1) != top(3) || top(3) != top(9) {
		t.Fatalf("no configuration is best at every rung (%s, %s, %s): the study does not test it", top(1), top(3), top(9))
	}
	if best != top(9) {
		t.Errorf("best configuration %s on the queue, %s best at every rung unpruned", best, top(9))
	}
	return decided
}

// checkMachines checks that every unit of r carries the machine that
// trained it, this one (the workers run in this process), but for the
// units in moved, whose running marks the test moved to machine
// elsewhere: those the pruner stopped at the first rung (never started
// again) carry elsewhere, the others either. It returns how many carry
// elsewhere.
func checkMachines(t *testing.T, r sweeps.StudyResult, moved map[[2]any]bool, elsewhere sweeps.Machine) int {
	t.Helper()
	here, n := sweeps.ThisMachine(), 0
	for _, c := range r.Configs {
		for _, u := range c.Units {
			switch m := moved[[2]any{c.Key, u.Fold}]; {
			case m && u.PrunedAt == 1 && u.Machine != elsewhere, !m && u.Machine != here, m && u.Machine != here && u.Machine != elsewhere:
				t.Errorf("config %s fold %d (pruned at %d, mark moved %v): machine %+v, this one %+v", c.Key, u.Fold, u.PrunedAt, m, u.Machine, here)
			}
			if u.Machine == elsewhere {
				n++
			}
		}
	}
	return n
}

// noCheckpoints checks that st holds no training state.
func noCheckpoints(t *testing.T, st *store.Postgres) {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM mlpsweep_checkpoints`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d checkpoints left after the study (%v)", n, err)
	}
}

// TestASHACoordinatorRestarted: ASHA on the queue, its coordinator
// stopped after a few decisions (the workers going on) and started
// again, keeps the decisions stored (it does not make them again) and
// makes the others as checkASHA wants; a second coordinator started
// while the first runs is refused.
func TestASHACoordinatorRestarted(t *testing.T) {
	s, plan, ref := ashaStudy(t)
	ctx := context.Background()
	st := freshStore(t)
	work(t, st)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lines []string
	decided := 0
	var second error
	err := queue.Prune(cctx, st, plan, *s.Pruner, queue.Source{Spec: s.Data}, ashaOptions, 20*time.Millisecond, func(line string) {
		lines = append(lines, line)
		if strings.Contains(line, "cutoff") {
			if decided++; decided == 1 { // another coordinator of the study, meanwhile
				second = queue.Prune(ctx, st, plan, *s.Pruner, queue.Source{Spec: s.Data}, ashaOptions, 20*time.Millisecond, nil)
			}
			if decided == 4 {
				cancel()
			}
		}
	})
	if second == nil || !strings.Contains(second.Error(), "another process decides its rungs") {
		t.Errorf("a second coordinator of the study: %v", second)
	}
	if !errors.Is(err, queue.ErrInterrupted) {
		t.Fatalf("interrupted coordinator: %v\n%s", err, strings.Join(lines, "\n"))
	}
	before, err := st.Decisions(ctx, s.Name)
	if err != nil || len(before) < 4 {
		t.Fatalf("%d decisions stored before the restart (%v)", len(before), err)
	}
	// ASHA's ETA is an expectation: "~" on the decisions after the first.
	if n := len(slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return !strings.Contains(l, "cutoff") || !strings.Contains(l, ", eta ~") })); n < 3 {
		t.Errorf("%d decision lines with an ETA of the 4 or more:\n%s", n, strings.Join(lines, "\n"))
	}
	lines = append(lines, "(stopped)")
	time.Sleep(300 * time.Millisecond) // the workers go on meanwhile
	// The units started so far as if on another machine: those that the
	// restarted coordinator stops where they are carry it.
	elsewhere := sweeps.ThisMachine()
	elsewhere.Host = "elsewhere"
	moved := map[[2]any]bool{}
	rs, err := st.Pool().Query(ctx, `UPDATE mlpsweep_units SET host = $1 WHERE study = $2 AND state = 'running' RETURNING key, fold`, elsewhere.Host, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var key string
		var fold int
		if err := rs.Scan(&key, &fold); err != nil {
			t.Fatal(err)
		}
		moved[[2]any{key, fold}] = true
	}
	if rs.Close(); rs.Err() != nil {
		t.Fatal(rs.Err())
	}
	r := pruneASHA(t, st, s, plan, &lines)
	t.Logf("coordinator:\n%s", strings.Join(lines, "\n"))
	if len(r.Decisions) < len(before) || !slices.Equal(r.Decisions[:len(before)], before) {
		t.Errorf("the restarted coordinator changed the decisions made before:\n%+v\n%+v", before, r.Decisions)
	}
	checkASHA(t, r, ref)
	// How many units the restarted coordinator stops where the moved mark
	// left them depends on the workers' pace (a unit trained on after the
	// move is marked again, by this machine): checkMachines holds each
	// unit to its rule, the count is only logged.
	n := checkMachines(t, r, moved, elsewhere)
	t.Logf("%d units of the %d whose mark moved carry the other machine", n, len(moved))
	noCheckpoints(t, st)
}

// TestASHADoesNotWaitForARung: with the first-rung job of one
// configuration held back (a slow worker), ASHA on the queue decides the
// others at the first rung and the next, and trains some to the last
// epoch, before that configuration reaches the first rung; once it does,
// it is judged against all those that came before.
func TestASHADoesNotWaitForARung(t *testing.T) {
	s, plan, ref := ashaStudy(t)
	ctx := context.Background()
	url := storetest.Postgres(t)
	st, err := openPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })         // after the workers stop
	late := plan.Units[len(plan.Units)-1].ID // the last configuration (the best), fold 1
	enqueued := make(chan struct{})
	var mu sync.Mutex
	var lines []string
	done := make(chan error, 1)
	go func() {
		done <- queue.Prune(ctx, st, plan, *s.Pruner, queue.Source{Spec: s.Data}, ashaOptions, 20*time.Millisecond, func(line string) {
			mu.Lock()
			defer mu.Unlock()
			if len(lines) == 0 {
				close(enqueued)
			}
			lines = append(lines, line)
		})
	}()
	select {
	case <-enqueued:
	case err := <-done:
		t.Fatal(err)
	}
	var held int64 // the job of the late unit's first rung, scheduled an hour from now
	if err := st.Pool().QueryRow(ctx, `UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour'
		WHERE args->>'study' = $1 AND (args->>'fold')::int = $2 AND args->'units'->0->>'key' = $3 AND state = 'available' RETURNING id`,
		s.Name, late.Fold, late.Key).Scan(&held); err != nil {
		t.Fatal(err)
	}
	work(t, st)
	// Wait until a configuration trained every epoch while the late one
	// has not reached the first rung.
	ids := make([]sweeps.UnitID, len(plan.Units))
	for i, u := range plan.Units {
		ids[i] = u.ID
	}
	deadline := time.Now().Add(time.Minute)
	for {
		states, err := st.UnitStates(ctx, ids, plan.Header.Name)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ids, func(id sweeps.UnitID) bool { return states[id] == "done" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no configuration trained fully while one has not reached the first rung:\n%s", strings.Join(lines, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	ds, err := st.Decisions(ctx, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(ds, func(d sweeps.Decision) bool { return d.Key == late.Key }) || !slices.ContainsFunc(ds, func(d sweeps.Decision) bool { return d.Epoch == 3 }) {
		t.Errorf("decisions while one configuration has not reached the first rung: %+v", ds)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1`, held); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	r, err := store.Load(ctx, st, s.Name, true)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	t.Logf("coordinator:\n%s", strings.Join(lines, "\n"))
	mu.Unlock()
	decided := checkASHA(t, r, ref)
	checkMachines(t, r, nil, sweeps.Machine{})
	if d := decided[late.Key+"@1"]; d.Order < len(ds) || !d.Promoted {
		t.Errorf("the late configuration's first decision %+v: want it after the %d made before, promoted", d, len(ds))
	}
	noCheckpoints(t, st)
}

// TestASHAOverAnotherStudysPrunedUnits: units are shared between studies.
// Another study has stored the units of ashaStudy's best configuration
// pruned at epoch 1 (storedElsewhere); ASHA on the queue takes their curve
// to epoch 1, promotes the configuration at every rung and trains its
// units again, from their first epoch, to the last: the study ends as
// checkASHA wants, the configuration done.
func TestASHAOverAnotherStudysPrunedUnits(t *testing.T) {
	s, plan, ref := ashaStudy(t)
	st := freshStore(t)
	best := bestConfig(ref)
	storedElsewhere(t, st, plan, best, 1)
	work(t, st)
	var lines []string
	r := pruneASHA(t, st, s, plan, &lines)
	checkASHA(t, r, ref)
	for _, c := range r.Configs {
		if c.Key == best.Key && (c.PrunedAt != 0 || len(c.Units) != 2 || len(c.Units[0].Epochs) != r.Epochs) {
			t.Errorf("the configuration another study stopped at epoch 1: pruned at %d, units %+v", c.PrunedAt, c.Units)
		}
	}
	noCheckpoints(t, st)
}

// TestPrunedOverAnotherStudysPrunedUnits: successive halving on the queue
// over the units of its best configuration stored pruned at epoch 1 by
// another study (storedElsewhere) trains them again to the last epoch, in
// stages, and stores and decides what it does on a store without them,
// bit for bit. So it does over every configuration's units stored pruned
// at epoch 2 (between its rungs at 1 and 3: it trains further those it
// takes to 3) or 5 (past them: it trains only those it takes to the end),
// and shows each configuration it stopped as it stopped it; a unit it
// trained further shows the machine that did (a deeper stop too: it
// showed none), one it did not train the other study's.
func TestPrunedOverAnotherStudysPrunedUnits(t *testing.T) {
	s, data, plan := prunedStudy(t, `name: qs
base: {hidden: [16], batch: 8}
grid: {lr: [0.0001, 0.001, 0.003, 0.01, 0.03, 0.1]}
pruner: {kind: sha, eta: 3}
`)
	run := func(before func(*store.Postgres)) sweeps.StudyResult {
		st := freshStore(t)
		before(st)
		work(t, st)
		if err := queue.Prune(context.Background(), st, plan, *s.Pruner, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
		r, err := store.Load(context.Background(), st, s.Name, true)
		if err != nil {
			t.Fatal(err)
		}
		noCheckpoints(t, st)
		return r
	}
	want := run(func(*store.Postgres) {})
	best := bestConfig(want)
	if best.PrunedAt != 0 || len(best.Units[0].Epochs) != want.Epochs {
		t.Fatalf("best configuration %s pruned at %d", best.Value, best.PrunedAt)
	}
	got := run(func(st *store.Postgres) { storedElsewhere(t, st, plan, best, 1) })
	if !slices.Equal(studyBits(got), studyBits(want)) || !slices.Equal(got.Decisions, want.Decisions) {
		t.Errorf("over another study's pruned units:\n%+v\n%+v\nwant\n%+v\n%+v", got.Configs, got.Decisions, want.Configs, want.Decisions)
	}

	full := withoutPruner(t, s, data)
	for _, depth := range []int{2, 5} {
		got := run(func(st *store.Postgres) {
			for _, c := range full.Configs {
				storedElsewhere(t, st, plan, c, depth)
			}
		})
		if !slices.Equal(studyBits(got), studyBits(want)) || !slices.Equal(got.Decisions, want.Decisions) || unitsOf(got) != unitsOf(want) {
			t.Errorf("over every unit stored pruned at epoch %d:\n%s\nwant\n%s", depth, unitsOf(got), unitsOf(want))
		}
		for _, c := range got.Configs {
			for _, u := range c.Units {
				if trained := len(u.Epochs) > depth; trained && u.Machine != sweeps.ThisMachine() || !trained && u.Machine != elsewhere {
					t.Errorf("over units stored pruned at epoch %d: %s fold %d, %d epochs, shows machine %+v", depth, c.Value, u.Fold, len(u.Epochs), u.Machine)
				}
			}
		}
	}
}

// unitsOf lists r's units: their epochs, pruned epoch, samples and
// held-out accuracy.
func unitsOf(r sweeps.StudyResult) string {
	var b strings.Builder
	for _, c := range r.Configs {
		for _, u := range c.Units {
			fmt.Fprintf(&b, "%s/%d: %d epochs, pruned at %d, %d samples, accuracy %v\n", c.Value, u.Fold, len(u.Epochs), u.PrunedAt, u.Samples, u.Accuracy)
		}
	}
	return b.String()
}

// bestConfig is r's configuration of the best mean accuracy.
func bestConfig(r sweeps.StudyResult) sweeps.ConfigResult {
	best := r.Configs[0]
	for _, c := range r.Configs {
		if c.MeanAccuracy > best.MeanAccuracy {
			best = c
		}
	}
	return best
}

// storedElsewhere stores c's units in st as another study that stopped c
// at epoch stores them: their scores up to epoch, and each unit pruned
// there (sweeps.UnitResult.StoppedAt), with c's numbers, on another
// machine.
func storedElsewhere(t *testing.T, st *store.Postgres, plan scheduler.Plan, c sweeps.ConfigResult, epoch int) {
	t.Helper()
	for _, u := range plan.Units {
		if u.ID.Key != c.Key {
			continue
		}
		r := c.Units[u.ID.Fold].StoppedAt(epoch)
		r.Machine = elsewhere
		for _, e := range r.Epochs {
			if err := st.SaveEpoch(u.ID, "other", e); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SaveUnit(u.ID, "other", r); err != nil {
			t.Fatal(err)
		}
	}
}

// elsewhere is the machine of storedElsewhere's units.
var elsewhere = sweeps.Machine{Host: "elsewhere", CPU: "another CPU", ISA: "avx2"}

// TestPruneRecordsReused: a pruned study's queue record counts as reused
// the units found done or pruned when its coordinator starts (as a local
// pruned run and Enqueue count them; sweep --wait reads it): none at
// first, all when it is run again.
func TestPruneRecordsReused(t *testing.T) {
	s, _, plan := prunedStudy(t, `name: qr
base: {hidden: [4], batch: 16}
grid: {lr: [0.001, 0.01, 0.1]}
pruner: {kind: sha, eta: 3}
`)
	st := freshStore(t)
	work(t, st)
	ctx := context.Background()
	for _, want := range []int{0, len(plan.Units)} {
		if err := queue.Prune(ctx, st, plan, *s.Pruner, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
		h, _, err := st.Study(ctx, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(h.Runs, func(r sweeps.RunRecord) bool { return r.Run == sweeps.RunQueue })
		if i < 0 || h.Runs[i].UnitsReused != want {
			t.Errorf("queue records %+v, want one with %d units reused", h.Runs, want)
		}
	}
}
