package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/safename"
	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// followEvery is how often sweep --wait reads the study's progress.
const followEvery = time.Second

// sweepQueue is sweep --enqueue and/or --wait: queue the study's units for
// mlpsweep worker processes, and follow them to the report.
func sweepQueue(s *study.Study, f *sweepFlags, shard scheduler.Shard, url, from string, stdout, stderr io.Writer) int {
	mode := "--enqueue"
	if !f.enqueue {
		mode = "--wait"
	}
	switch {
	case url == "":
		_, code := openQueueStore(url, from, "sweep", mode+" works on a PostgreSQL store shared with the workers: ", stderr)
		return code
	case shard.Sharded():
		return usageError(stderr, "sweep", "%s runs the whole study on the queue's workers; shard %s (%s) is the other way to split it: use one or the other", mode, shard, shard.Source)
	case f.refit || f.test != "":
		return usageError(stderr, "sweep", "--refit trains here, not on the queue: once the queue is done, run the same sweep with --store and --refit (it reuses every unit)")
	case s.Search != nil && !(f.enqueue && f.wait):
		return usageError(stderr, "sweep", "study %s has a sampler, which proposes each configuration from the results so far: give --enqueue and --wait together, and keep this process running while the workers train", s.Name)
	}
	if s.Refit {
		fmt.Fprintf(stderr, "note: study %s asks for a refit, which queue mode does not run: once the queue is done, run the same sweep with --store (it reuses every unit)\n", s.Name)
		s.Refit = false
	}
	if f.out == "" {
		out, err := safename.Join("out", s.Name)
		if err != nil {
			return fail(stderr, "sweep", fmt.Errorf("study name: %w", err))
		}
		f.out = out
	}
	st, code := openQueueStore(url, from, "sweep", "", stderr)
	if code >= 0 {
		return code
	}
	defer st.Close()
	if f.wait {
		if err := checkOutDir("--out", f.out); err != nil {
			return fail(stderr, "sweep", err)
		}
	}
	ctx := commandContext() // canceled by Ctrl-C or SIGTERM (interrupt.go)

	started := time.Now()
	var enq queue.Enqueued
	if s.Search != nil || s.Pruner != nil { // this process proposes configurations or decides rungs as the workers train
		data, _, err := loadSweepData(s, f, stderr)
		if err != nil {
			return fail(stderr, "sweep", err)
		}
		src := queue.Source{Spec: s.Data, LimitRows: f.limitRows}
		opt := queue.EnqueueOptions{Workers: f.workers, GroupColumns: f.groupCols, StrictEngine: f.strict}
		lines := func(line string) { fmt.Fprintln(stderr, line) }
		switch {
		case s.Search != nil && s.Pruner != nil:
			fmt.Fprintf(stderr, "study %s: %s proposed by the TPE in batches of %d, each pruned by %s in stages on the workers of %s; this process proposes them and decides the rungs\n",
				s.Name, words.Count(s.Search.N, "configuration"), s.Search.Batch, s.Pruner.Kind, st.Name())
			err = queue.SearchPruned(ctx, st, s, data, src, opt, followEvery/4, lines)
		case s.Search != nil:
			fmt.Fprintf(stderr, "study %s: %s proposed by the TPE, %d in flight (--workers) on the workers of %s\n", s.Name, words.Count(s.Search.N, "configuration"), f.workers, st.Name())
			last := -1
			err = queue.Search(ctx, st, s, data, src, f.curves, queue.EnqueueOptions{Workers: f.workers, GroupColumns: f.groupCols, StrictEngine: f.strict}, followEvery, func(decided, inFlight int, eta time.Duration) {
				if decided != last {
					last = decided
					line := fmt.Sprintf("study %s: %d of %d configurations decided, %d in flight", s.Name, decided, s.Search.N, inFlight)
					if eta > 0 && decided < s.Search.N {
						// The sampler's next configurations are not known:
						// an expectation ("~"), by work.
						line += fmt.Sprintf(", eta ~%v", eta.Round(time.Second))
					}
					fmt.Fprintln(stderr, line)
				}
			})
		default:
			var plan scheduler.Plan
			if plan, err = scheduler.StudyPlan(s, data, true); err != nil {
				return fail(stderr, "sweep", err)
			}
			how := "in stages on the workers of %s; this process decides the rungs"
			if s.Pruner.Kind == "asha" {
				how = "on the workers of %s; this process decides each configuration as it reaches a rung"
			}
			fmt.Fprintf(stderr, "study %s: %s pruned by %s "+how+"\n", s.Name, words.Count(len(plan.Units), "unit"), s.Pruner.Kind, st.Name())
			err = queue.Prune(ctx, st, plan, *s.Pruner, src, opt, followEvery/4, lines)
		}
		if errors.Is(err, queue.ErrInterrupted) {
			fmt.Fprintf(stderr, "mlpsweep sweep: %v\n", err)
			return 130
		}
		if err != nil {
			return fail(stderr, "sweep", err)
		}
	} else if f.enqueue {
		data, _, err := loadSweepData(s, f, stderr)
		if err != nil {
			return fail(stderr, "sweep", err)
		}
		plan, err := scheduler.StudyPlan(s, data, f.curves)
		if err != nil {
			return fail(stderr, "sweep", err)
		}
		enq, err = queue.Enqueue(ctx, st, plan, queue.Source{Spec: s.Data, LimitRows: f.limitRows},
			queue.EnqueueOptions{Workers: f.workers, GroupColumns: f.groupCols, StrictEngine: f.strict})
		if err != nil {
			return fail(stderr, "sweep", err)
		}
		fmt.Fprintf(stderr, "study %s: %s: %d done already, %d enqueued, %d already queued (queue %s of %s)\n",
			s.Name, words.Count(enq.Units, "unit"), enq.Done, enq.Inserted, enq.Queued, enq.Queue, st.Name())
		if note := enq.ElsewhereNote(plan.Header.Engine); note != "" {
			fmt.Fprintln(stderr, note)
		}
		if enq.Jobs > 0 {
			fmt.Fprintf(stderr, "%s: %s\n", words.Count(enq.Jobs, "job"), grouping(enq.Grouping.Columns, enq.Grouping.From))
		}
		if !f.wait {
			if enq.Inserted+enq.Queued > 0 {
				fmt.Fprintf(stderr, "start workers on any machines with the data at the same paths: mlpsweep worker --store URL; follow with mlpsweep sweep ... --wait or mlpsweep status\n")
			}
			return 0
		}
	}

	if !f.enqueue {
		if err := checkEnqueued(ctx, st, s); err != nil {
			return usageError(stderr, "sweep", "%v", err)
		}
	}
	var last string
	lastAt := time.Time{}
	p, err := queue.Follow(ctx, st, s.Name, followEvery, func(p queue.Progress, eta time.Duration) {
		line := p.String()
		if line == last && time.Since(lastAt) < 30*time.Second {
			return
		}
		last, lastAt = line, time.Now()
		if eta > 0 && !p.Finished() && p.Dead == 0 {
			line += fmt.Sprintf("; about %v left", eta.Round(time.Second))
		}
		fmt.Fprintln(stderr, line)
		for _, line := range deadWorkerLines(p) {
			fmt.Fprintln(stderr, line)
		}
	})
	if errors.Is(err, queue.ErrInterrupted) {
		fmt.Fprintf(stderr, "mlpsweep sweep: %v\n", err)
		return 130
	}
	if err != nil {
		return fail(stderr, "sweep", fmt.Errorf("%w (enqueue the study first with --enqueue)", err))
	}
	// The study's queue run record, as a local run leaves its own: the
	// units found done when it was enqueued are reused, the others run;
	// the wall time from enqueuing to the end is known when this
	// invocation enqueued.
	h, _, err := st.Study(ctx, s.Name)
	if err != nil {
		return fail(stderr, "sweep", err)
	}
	reused := 0
	for _, r := range h.Runs {
		if r.Run == sweeps.RunQueue {
			reused = r.UnitsReused
		}
	}
	wall := 0.0
	if f.enqueue {
		wall = time.Since(started).Seconds()
	}
	if err := st.FinishRun(s.Name, sweeps.QueueRun(wall, max(0, p.Done+p.Pruned+p.Failed-reused), reused)); err != nil {
		return fail(stderr, "sweep", err)
	}
	r, err := store.Load(ctx, st, s.Name, f.strict)
	if err != nil {
		return fail(stderr, "sweep", err)
	}
	if code := renderStudy(r, f.out, f.jsonOutput, stdout, stderr, "sweep"); code != 0 {
		return code
	}
	if p.Missing > 0 {
		return fail(stderr, "sweep", fmt.Errorf("%d of %d units of study %s have no result and no job to run them (never enqueued, or discarded after %d attempts: see mlpsweep status); enqueue the study again to queue them",
			p.Missing, p.Units, s.Name, queue.MaxAttempts))
	}
	if err := failedUnits(r); err != nil {
		return fail(stderr, "sweep", err)
	}
	return 0
}

// checkEnqueued refuses a --wait whose study is not the one enqueued under
// its name: other folds, epochs, seed or configurations (another study
// file, --epochs, --folds or --axes than the enqueuing command's), which
// it would otherwise report as this command's. A study not enqueued at
// all is left to queue.Follow to report.
func checkEnqueued(ctx context.Context, st *store.Postgres, s *study.Study) error {
	h, points, err := st.Study(ctx, s.Name)
	if err != nil {
		return nil
	}
	var diffs []string
	if h.Folds != s.Folds {
		diffs = append(diffs, fmt.Sprintf("%d folds, this command %d", h.Folds, s.Folds))
	}
	if h.Epochs != s.Base.Epochs() {
		diffs = append(diffs, fmt.Sprintf("%d epochs, this command %d", h.Epochs, s.Base.Epochs()))
	}
	if h.Seed != s.Seed {
		diffs = append(diffs, fmt.Sprintf("seed %d, this command %d", h.Seed, s.Seed))
	}
	keys := func(pts []study.Point) []string {
		var k []string
		for _, p := range pts {
			k = append(k, p.Params.Key())
		}
		slices.Sort(k)
		return slices.Compact(k)
	}
	// A configuration's key holds its epochs: compared only when those agree.
	if enq, here := keys(points), keys(s.Points); h.Epochs == s.Base.Epochs() && !slices.Equal(enq, here) {
		diffs = append(diffs, fmt.Sprintf("other configurations (%d enqueued, %d here)", len(enq), len(here)))
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("--wait: study %s was enqueued with %s: give the enqueuing command's study file and --epochs, --folds and --axes, or enqueue this one with --enqueue", s.Name, strings.Join(diffs, "; "))
}
