package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// TestStudySchedule: a study's pruner and sampler (sweeps.Schedule) and
// its invocation's start read back as saved; a start not given is the
// time of the save, one given (a sampler's later batch) is kept; saving
// the study without a schedule clears it.
func TestStudySchedule(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		s := mustOpen(t, b.writer, loc)
		h, points := testStudy(t, "pruned")
		h.Schedule = sweeps.Schedule{Pruner: &study.Pruner{Kind: "hyperband", Eta: 2, MinEpochs: 1, Brackets: 2}, Trials: 40, Batch: 4}
		before := time.Now().UnixNano()
		if err := s.SaveStudy(h, points); err != nil {
			t.Fatal(err)
		}
		after := time.Now().UnixNano()
		r := mustOpen(t, b.reader, loc)
		got, _, err := r.Study(context.Background(), "pruned")
		if err != nil {
			t.Fatal(err)
		}
		if got.Schedule.Pruner == nil || *got.Schedule.Pruner != *h.Schedule.Pruner || got.Schedule.Trials != 40 || got.Schedule.Batch != 4 {
			t.Errorf("schedule %+v (pruner %+v), want %+v", got.Schedule, got.Schedule.Pruner, h.Schedule)
		}
		if got.Started < before || got.Started > after {
			t.Errorf("started %d, want the save's time in [%d, %d]", got.Started, before, after)
		}
		h.Started, h.Schedule = 12345, sweeps.Schedule{}
		if err := s.SaveStudy(h, points); err != nil {
			t.Fatal(err)
		}
		if got, _, err := r.Study(context.Background(), "pruned"); err != nil || got.Schedule != (sweeps.Schedule{}) || got.Started != 12345 {
			t.Errorf("saved again: schedule %+v, started %d (%v); want none, 12345", got.Schedule, got.Started, err)
		}
	})
}

// TestMigratesVersion7: a study stored at schema version 7 (before the
// schedule and run start) reads back without either, opened by a writer
// or a reader; a corrupt schedule is an error that names the study.
func TestMigratesVersion7(t *testing.T) {
	for _, b := range backends {
		for _, role := range []string{"writer", "reader"} {
			t.Run(b.name+"/"+role, func(t *testing.T) {
				loc := b.fresh(t)
				w := mustOpen(t, b.writer, loc)
				h, points := testStudy(t, "old")
				h.Schedule = sweeps.Schedule{Pruner: &study.Pruner{Kind: "sha", Eta: 3, MinEpochs: 1}}
				if err := w.SaveStudy(h, points); err != nil {
					t.Fatal(err)
				}
				w.Close()
				names := sqliteNames
				if b.name == "postgres" {
					names = strings.NewReplacer()
				}
				b.exec(t, loc, names.Replace(`ALTER TABLE mlpsweep_study DROP COLUMN schedule`), names.Replace(`ALTER TABLE mlpsweep_study DROP COLUMN run_started`),
					names.Replace(`ALTER TABLE mlpsweep_units DROP COLUMN threads`))
				b.exec(t, loc, dropRetrain(names)...)
				b.setVersion(t, loc, 7)
				open := b.writer
				if role == "reader" {
					open = b.reader
				}
				s := mustOpen(t, open, loc)
				if v := schemaOf(t, b, loc); v != schemaVersion {
					t.Errorf("schema version %d after migration (want %d)", v, schemaVersion)
				}
				got, pts, err := s.Study(context.Background(), "old")
				if err != nil || len(pts) != len(points) || got.Schedule != (sweeps.Schedule{}) || got.Started != 0 || got.Folds != 2 {
					t.Errorf("old study: %+v, %d points (%v); want no schedule, started 0", got, len(pts), err)
				}
				b.exec(t, loc, names.Replace(`UPDATE mlpsweep_study SET schedule = '{"pruner": 3}'`))
				if _, _, err := s.Study(context.Background(), "old"); err == nil || !strings.Contains(err.Error(), `study "old": its pruner and sampler`) {
					t.Errorf("a corrupt schedule: %v", err)
				}
			})
		}
	}
}
