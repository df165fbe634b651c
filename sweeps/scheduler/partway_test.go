package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// TestPartwayEvents: with Options.PartEvery a study's jobs report partway
// through their epochs (here after every step: an interval of 1 ns), fused
// or alone, pruned or not: each job's reports advance step by step within
// an epoch and never reach its end, WorkDone and Samples never go back,
// WorkDone ends as without the reports (but for the parts of the epochs
// units diverged in), the warm-up (Status.Warmup) is measured before the
// first epoch ends, and the numbers are bit for bit those of a run
// without the reports.
func TestPartwayEvents(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		data *datasets.Dataset
		fuse bool
	}{
		{"alone", mixStudy, datasets.Blobs(300, 10, 3), false},
		{"fused", mixStudy, datasets.Blobs(300, 10, 3), true},
		{"sha", shaStudy, shaData(), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			runOnce := func(partEvery time.Duration) (sweeps.StudyResult, []Event) {
				s := parse(t, c.src)
				s.Fuse = c.fuse
				var events []Event
				opt := Options{Dir: t.TempDir(), Workers: 2, GroupColumns: 64, PartEvery: partEvery,
					Progress: func(e Event) { events = append(events, e) }}
				if _, err := RunStudy(context.Background(), s, c.data, opt); err != nil {
					t.Fatal(err)
				}
				r, err := store.LoadStudy(context.Background(), opt.Dir, s.Name, false)
				if err != nil {
					t.Fatal(err)
				}
				return r, events
			}
			plain, plainEvents := runOnce(0)
			r, events := runOnce(time.Nanosecond)
			if !sameBits(numbers(r), numbers(plain)) {
				t.Error("the numbers differ with partway reports")
			}
			for _, e := range plainEvents {
				if e.Kind == InEpoch {
					t.Fatal("InEpoch events without Options.PartEvery")
				}
			}
			type job struct {
				key  string
				fold int
			}
			last := map[job]engine.EpochPart{}
			parts, epochs := 0, map[job]int{}
			var done, samples int64
			var warmup time.Duration
			settled, stepped, timed := false, false, false // an epoch ended; a report past a first step came; Status.Timed was set
			for _, e := range events {
				// The warm-up is measured before the first epoch ends, and
				// is part of the time elapsed.
				if w := e.Status.Warmup; w < warmup || settled && w != warmup || w > e.Status.Elapsed {
					t.Fatalf("warm-up %v after %v (an epoch ended: %v), %v elapsed", w, warmup, settled, e.Status.Elapsed)
				}
				warmup, settled = e.Status.Warmup, settled || e.Kind == EpochDone
				// Untimed work is a first step's alone, reported by it and by
				// the events of other jobs that follow it; Timed stays set.
				stepped = stepped || e.Kind == InEpoch && e.Part.Step > 1
				if e.Status.WorkDone > 0 && !e.Status.Timed && (settled || stepped) || timed && !e.Status.Timed {
					t.Fatalf("%v event (%+v): work done, not timed (timed before: %v)", e.Kind, e.Part, timed)
				}
				timed = e.Status.Timed
				if e.Status.WorkDone < done || e.Status.Samples < samples {
					t.Fatalf("WorkDone or Samples went back from %d, %d to %d, %d (%v event)", done, samples, e.Status.WorkDone, e.Status.Samples, e.Kind)
				}
				done, samples = e.Status.WorkDone, e.Status.Samples
				if e.Kind == EpochDone {
					epochs[job{e.Point.Params.Key(), e.Fold}]++
				}
				if e.Kind != InEpoch {
					continue
				}
				parts++
				j, p := job{e.Point.Params.Key(), e.Fold}, e.Part
				if p.Step < 1 || p.Step >= p.Steps {
					t.Fatalf("%+v: not partway", p)
				}
				// A job's first unit reports it: its next epoch, or its next step.
				if l, ok := last[j]; ok && (engine.EpochPart{Epoch: p.Epoch, Step: p.Step, Steps: p.Steps}) != (engine.EpochPart{Epoch: l.Epoch, Step: l.Step + 1, Steps: l.Steps}) && (p.Epoch <= l.Epoch || p.Step != 1) {
					t.Fatalf("unit %v: %+v after %+v", j, p, l)
				}
				if p.Epoch != epochs[j]+1 {
					t.Fatalf("unit %v: partway through epoch %d after %d epochs", j, p.Epoch, epochs[j])
				}
				last[j] = p
			}
			if parts == 0 {
				t.Fatal("no InEpoch event")
			}
			// At the end WorkDone is the epochs' work, as without the reports,
			// and the parts of the epochs diverging units stopped in.
			plainDone := plainEvents[len(plainEvents)-1].Status.WorkDone
			var most int64
			for _, cfg := range r.Configs {
				for _, u := range cfg.Units {
					if u.Diverged {
						most += EpochFLOPs(cfg.Params.Hidden(), c.data.Features, c.data.Classes, c.data.N)
					}
				}
			}
			if done < plainDone || done > plainDone+most {
				t.Errorf("WorkDone %d at the end, %d without the reports (+ at most %d)", done, plainDone, most)
			}
		})
	}
}

// TestCrossValidatePartway: CrossValidate's Partway reports every fold's
// steps, and the result is that of a run without.
func TestCrossValidatePartway(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	s := parse(t, tinyStudy)
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		t.Fatal(err)
	}
	params := study.ParamsOf(mustNormalized(t, engine.Config{Hidden: []int{8}, Batch: 16, Epochs: 2}))
	plain, err := CrossValidate(context.Background(), data, params, folds, 7, 2, nil, Partway{})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[int]int{}
	cv, err := CrossValidate(context.Background(), data, params, folds, 7, 2, nil,
		Partway{Every: time.Nanosecond, Report: func(fold int, p engine.EpochPart) { calls[fold]++ }})
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(unitNumbers(cv), unitNumbers(plain)) {
		t.Error("the numbers differ with partway reports")
	}
	for f := range folds {
		steps := (len(folds[f].Train) + 15) / 16
		if calls[f] != 2*(steps-1) {
			t.Errorf("fold %d: %d calls, want 2 epochs × %d steps", f, calls[f], steps-1)
		}
	}
}

func mustNormalized(t *testing.T, cfg engine.Config) engine.Normalized {
	t.Helper()
	n, err := cfg.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
