package queue_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/isatest"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestEnqueueReusesUnitsOfAnotherISA: a study whose units a host with a
// lower ISA path stored is enqueued from a host with a wider one: as a
// local run and a shard reuse those units, the enqueuer queues none of
// them (it queued them all again) and says so, naming --strict-engine;
// its progress counts them done, finished. With StrictEngine it queues
// them all, the progress counts them queued until this engine's workers
// have trained them.
func TestEnqueueReusesUnitsOfAnotherISA(t *testing.T) {
	hi, lo := isatest.TwoPaths(t)
	url := storetest.Postgres(t)
	st, err := openPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	ctx := context.Background()

	isatest.Use(t, lo)
	pLo, src := plan(t, dir, 200, 3, 2, "[8]")
	if _, err := scheduler.Run(ctx, pLo, scheduler.Options{Store: st, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	isatest.Use(t, hi)
	pHi, _ := plan(t, dir, 200, 3, 2, "[8]")
	if pHi.Header.Engine == pLo.Header.Engine {
		t.Fatalf("both plans under engine %s", pHi.Header.Engine)
	}

	e, err := queue.Enqueue(ctx, st, pHi, src, queue.EnqueueOptions{Workers: 2})
	if err != nil || e.Units != 6 || e.Done != 6 || e.Inserted != 0 || e.Elsewhere[pLo.Header.Engine] != 6 {
		t.Fatalf("enqueue on %v over units of %v: %+v, %v; want the 6 units done, none enqueued", hi, lo, e, err)
	}
	note := e.ElsewhereNote(pHi.Header.Engine)
	if !strings.Contains(note, "6 of the 6 units done already were computed under another ISA path ("+pLo.Header.Engine+": 6) and are reused") ||
		!strings.Contains(note, "enqueue with --strict-engine") {
		t.Errorf("note: %q", note)
	}
	p, err := queue.StudyProgress(ctx, st, "q")
	if err != nil || p.Done != 6 || p.Elsewhere != 6 || p.Missing != 0 || !p.Finished() || !strings.Contains(p.String(), "6 done (6 on another ISA path)") {
		t.Fatalf("progress: %+v (%s), %v", p, p, err)
	}
	if r, err := store.Load(ctx, st, "q", false); err != nil || r.EngineNote == "" {
		t.Errorf("the report has no engine note (%v)", err)
	}

	e, err = queue.Enqueue(ctx, st, pHi, src, queue.EnqueueOptions{Workers: 2, StrictEngine: true})
	if err != nil || e.Done != 0 || e.Inserted != 6 || e.Elsewhere != nil || e.ElsewhereNote(pHi.Header.Engine) != "" {
		t.Fatalf("strict enqueue: %+v, %v; want all 6 enqueued", e, err)
	}
	if p, err := queue.StudyProgress(ctx, st, "q"); err != nil || p.Queued != 6 || p.Done != 0 || p.Finished() {
		t.Fatalf("progress, strict: %+v, %v; want 6 queued", p, err)
	}
	log := &syncWriter{}
	stats, err := queue.Work(ctx, st, queue.Options{Workers: 2, ExitWhenDone: true, TimeoutFactor: 10, MinTimeout: time.Minute, PollInterval: 100 * time.Millisecond, Log: log})
	if err != nil || stats.Units != 6 {
		t.Fatalf("work: %+v, %v\n%s", stats, err, log)
	}
	if p, err := queue.StudyProgress(ctx, st, "q"); err != nil || p.Done != 6 || p.Elsewhere != 0 || !p.Finished() {
		t.Fatalf("progress after the work: %+v, %v", p, err)
	}
	if r, err := store.Load(ctx, st, "q", true); err != nil || r.EngineNote != "" || len(r.Machines) != 1 || r.Machines[0].Engine != pHi.Header.Engine {
		t.Errorf("strict: machines %+v, note %q (%v)", r.Machines, r.EngineNote, err)
	}
}

// TestElsewhereNote: the note names the queue the new jobs go to and, when
// the units found done came from a lower path, how to plan for those
// workers here.
func TestElsewhereNote(t *testing.T) {
	hi, lo := isatest.TwoPaths(t)
	engine, other := "1/"+hi.String(), "1/"+lo.String()
	e := queue.Enqueued{Units: 6, Done: 4, Inserted: 2, Queue: queue.QueueName(engine), Elsewhere: map[string]int{other: 3}}
	note := e.ElsewhereNote(engine)
	for _, want := range []string{
		"3 of the 4 units done already were computed under another ISA path (" + other + ": 3)",
		"The 2 units enqueued go to queue " + queue.QueueName(engine) + ", which only workers on the " + hi.String() + " path take",
		"if your workers are on the " + lo.String() + " path, enqueue from a host on that path, or here with MLPSWEEP_ISA=" + lo.String(),
	} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q\nlacks %q", note, want)
		}
	}
	if (queue.Enqueued{Done: 4}).ElsewhereNote(engine) != "" {
		t.Error("a note without units of another path")
	}
}

// TestSearchStrictEngine: the sampler search on the queue, over the units
// of a search a host with a lower ISA path stored, reuses them (it
// enqueues nothing) unless StrictEngine, which it passes on to its
// enqueues: then this engine's workers train them all again.
func TestSearchStrictEngine(t *testing.T) {
	hi, lo := isatest.TwoPaths(t)
	st := freshStore(t)
	s, data := studyOn300(t, `name: qs
base: {hidden: [4]}
sampler: {kind: tpe, n: 2, params: {lr: {log_uniform: [1e-4, 0.1]}}}
`)
	ctx := context.Background()
	isatest.Use(t, lo)
	if _, err := scheduler.RunSearch(ctx, s, data, 1, scheduler.Options{Store: st, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	isatest.Use(t, hi)
	jobs := func() (n int) {
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	search := func(strict bool) error {
		return queue.Search(ctx, st, s, data, queue.Source{Spec: s.Data}, false, queue.EnqueueOptions{Workers: 2, StrictEngine: strict}, 20*time.Millisecond, nil)
	}
	// Not strict: the units of the other path are the results; nothing is
	// queued, and no worker is needed.
	if err := search(false); err != nil {
		t.Fatalf("not strict: %v", err)
	}
	if r, err := store.Load(ctx, st, "qs", false); err != nil || jobs() != 0 || r.EngineNote == "" {
		t.Errorf("not strict: %d jobs enqueued, engine note %q (%v)", jobs(), r.EngineNote, err)
	}
	// Strict: the search waits for this path's own results, which the
	// workers, started only after it began, store (it used to decide from
	// the other path's units and return at its first look).
	searched := make(chan error, 1)
	go func() { searched <- search(true) }()
	time.Sleep(300 * time.Millisecond)
	work(t, st)
	if err := <-searched; err != nil {
		t.Fatalf("strict: %v", err)
	}
	r, err := store.Load(ctx, st, "qs", true)
	if err != nil {
		t.Fatal(err)
	}
	if n := jobs(); n == 0 || r.EngineNote != "" || len(r.Machines) != 1 || len(r.Configs) != 2 {
		t.Errorf("strict: %d jobs enqueued, machines %+v, engine note %q, %d configurations", n, r.Machines, r.EngineNote, len(r.Configs))
	}
	for _, c := range r.Configs {
		if len(c.Units) != s.Folds {
			t.Errorf("strict: %s has %d of %d units of this path", c.Key, len(c.Units), s.Folds)
		}
	}
}

// TestPruneRetrainsUnitsOfAnotherISA: a pruned study on the queue over
// units a host with a lower ISA path stored trains them again on this
// engine's workers (its pruner reads the curves, and resumes from the
// checkpoints, of one engine) and says so, naming how many and why.
func TestPruneRetrainsUnitsOfAnotherISA(t *testing.T) {
	hi, lo := isatest.TwoPaths(t)
	const lines = `name: qn
base: {hidden: [4], batch: 16}
grid: {lr: [0.001, 0.01, 0.1]}
pruner: {kind: sha, eta: 3}
`
	st := freshStore(t)
	ctx := context.Background()
	isatest.Use(t, lo)
	_, _, pLo := prunedStudy(t, lines)
	if _, err := scheduler.Run(ctx, pLo, scheduler.Options{Store: st, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	var done int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM mlpsweep_units WHERE state = 'done'`).Scan(&done); err != nil || done == 0 {
		t.Fatalf("%d units done under %v (%v)", done, lo, err)
	}
	isatest.Use(t, hi)
	s, _, p := prunedStudy(t, lines)
	work(t, st)
	var notes []string
	if err := queue.Prune(ctx, st, p, *s.Pruner, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, func(line string) {
		if strings.HasPrefix(line, "note: ") {
			notes = append(notes, line)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("note: study qn: %d units done under another ISA path (%s: %d) are trained again on the workers of %s", done, pLo.Header.Engine, done, p.Header.Engine); len(notes) != 1 || !strings.HasPrefix(notes[0], want) {
		t.Errorf("notes %q, want one starting %q", notes, want)
	}
	if r, err := store.Load(ctx, st, "qn", true); err != nil || len(r.Machines) != 1 || r.Machines[0].Engine != p.Header.Engine {
		t.Errorf("machines %+v (%v), want this engine's only", r.Machines, err)
	}
}

// TestPruneNoteCountsUnitsTrainedAgain: the note of a pruned study on
// the queue counts the units done under another ISA path that its
// workers train again, not those its coordinator reuses from this
// engine's own results. A grid of 3 configurations × 2 folds done under
// the lower path; the same configurations pruned by sha on this one,
// locally (--strict-engine): 2 units done, 4 pruned. The queue's pruned
// study then reuses all 6 of its own and trains none again: no note (it
// said 4 units done elsewhere, those it found pruned here, were trained
// again), and all 6 recorded as reused (2). Status, the report, the live
// page and a local run without --strict-engine then take the results the
// coordinator decided from, this engine's own: they took the other path's
// done units for the 4 pruned here (sweeps.Reuse).
func TestPruneNoteCountsUnitsTrainedAgain(t *testing.T) {
	hi, lo := isatest.TwoPaths(t)
	const configs = `base: {hidden: [4], batch: 16}
grid: {lr: [0.001, 0.01, 0.1]}
`
	st := freshStore(t)
	ctx := context.Background()
	isatest.Use(t, lo)
	_, _, pLo := prunedStudy(t, "name: qg\n"+configs)
	if _, err := scheduler.Run(ctx, pLo, scheduler.Options{Store: st, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	isatest.Use(t, hi)
	s, _, p := prunedStudy(t, "name: qn\n"+configs+"pruner: {kind: sha, eta: 3}\n")
	if _, err := scheduler.Run(ctx, p, scheduler.Options{Store: st, Workers: 2, StrictEngine: true}); err != nil {
		t.Fatal(err)
	}
	own := func() string { // this engine's units: state and end
		var rows string
		if err := st.Pool().QueryRow(ctx, `SELECT string_agg(key || ' ' || fold || ' ' || state || ' ' || finished, ', ' ORDER BY key, fold) FROM mlpsweep_units WHERE engine_version = $1`,
			p.Header.Engine).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	before := own()
	if n := strings.Count(before, " done "); n != 2 || strings.Count(before, " pruned ") != 4 {
		t.Fatalf("this engine's units %s; want 2 done, 4 pruned", before)
	}
	// No worker: the study has nothing to train (with a job to wait for,
	// it would time out).
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var lines []string
	if err := queue.Prune(pctx, st, p, *s.Pruner, queue.Source{Spec: s.Data}, queue.EnqueueOptions{Workers: 2}, 20*time.Millisecond, func(line string) {
		lines = append(lines, line)
		t.Log(line)
	}); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "note: ") {
			t.Errorf("a note of units trained again, none trained: %q", l)
		}
	}
	if after := own(); after != before {
		t.Errorf("this engine's units were\n%s\nand are\n%s", before, after)
	}
	h, _, err := st.Study(ctx, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(h.Runs, func(r sweeps.RunRecord) bool { return r.Run == sweeps.RunQueue }); i < 0 || h.Runs[i].UnitsReused != 6 {
		t.Errorf("runs %+v, want the queue's with 6 units reused", h.Runs)
	}

	// Every reader takes the results the coordinator decided from, this
	// engine's own (sweeps.Reuse): status counted the 4 units pruned here
	// as done on another ISA path, and the report showed no configuration
	// pruned, their results the other path's.
	if pr, err := queue.StudyProgress(ctx, st, s.Name); err != nil || pr.Done != 2 || pr.Pruned != 4 || pr.Elsewhere != 0 || !pr.Finished() {
		t.Errorf("progress %+v (%v), want 2 done, 4 pruned, none on another path", pr, err)
	}
	ownResults := func(what string, r sweeps.StudyResult, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		pruned, units := 0, 0
		for _, c := range r.Configs {
			if c.PrunedAt > 0 {
				pruned++
			}
			for _, u := range c.Units {
				units++
				if u.EngineVer != p.Header.Engine {
					t.Errorf("%s: unit %s fold %d computed under %s, want %s", what, c.Key, u.Fold, u.EngineVer, p.Header.Engine)
				}
			}
		}
		if pruned != 2 || units != 6 || r.EngineNote != "" {
			t.Errorf("%s: %d configurations pruned, %d units, note %q; want 2 pruned, 6 units, no note", what, pruned, units, r.EngineNote)
		}
	}
	r, err := store.Load(ctx, st, s.Name, false)
	ownResults("report", r, err)
	_, _, units, err := store.ReadStudy(ctx, st, s.Name, false, true) // the report's and the live page's read
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, u := range units {
		states[u.State+" "+u.Result.EngineVer]++
	}
	if want := map[string]int{"done " + p.Header.Engine: 2, "pruned " + p.Header.Engine: 4}; !maps.Equal(states, want) {
		t.Errorf("the live page's units %v, want %v", states, want)
	}
	// A local run without --strict-engine takes the same: it trains
	// nothing, and its pruner decides from this engine's curves.
	r, err = scheduler.Run(ctx, p, scheduler.Options{Store: st, Workers: 2})
	ownResults("local run", r, err)
	if r.UnitsReused != 6 || r.UnitsRun != 0 {
		t.Errorf("local run: %d units reused, %d run; want 6, 0", r.UnitsReused, r.UnitsRun)
	}
}
