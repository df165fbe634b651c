package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// runSummary is what a report reads of a study's runs.
func runSummary(t *testing.T, s Store, name string) string {
	t.Helper()
	r, err := Load(context.Background(), s, name, false)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, x := range r.Runs {
		parts = append(parts, x.Run+" "+x.Part)
	}
	return fmt.Sprintf("%g s, %d run, %d reused, [%s] %s", r.TotalSeconds, r.UnitsRun, r.UnitsReused, strings.Join(parts, ", "), sweeps.TrainedBy(r.Runs))
}

// TestRunRecordsOfShardsAndReruns: the shards of a study sharing one store
// each keep their own record, which the study's counts sum (each used to
// overwrite the others': 18 of 36 units run); a local rerun supersedes
// them; a shard rerun after it counts alone; the queue's enqueuing and
// waiting make one record. The time is every run's, shards at once
// counting their longest.
func TestRunRecordsOfShardsAndReruns(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		s := mustOpen(t, b.writer, loc)
		h, points := testStudy(t, "sharded")
		if err := s.SaveStudy(h, points); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			rec  sweeps.RunRecord
			want string
		}{
			{sweeps.ShardRun(0, 2, 10, 18, 0), "10 s, 18 run, 0 reused, [shards 2 0/2] by 1 of its 2 shards"},
			{sweeps.ShardRun(1, 2, 12, 18, 0), "12 s, 36 run, 0 reused, [shards 2 0/2, shards 2 1/2] by its 2 shards"},
			{sweeps.LocalRun(1, 0, 36), "13 s, 0 run, 36 reused, [sweep ] "},
			{sweeps.ShardRun(1, 2, 2, 0, 18), "15 s, 0 run, 18 reused, [shards 2 1/2] by 1 of its 2 shards"},
			{sweeps.ShardRun(0, 2, 3, 1, 17), "15 s, 1 run, 35 reused, [shards 2 0/2, shards 2 1/2] by its 2 shards"},
			{sweeps.QueueRun(0, 0, 30), "15 s, 0 run, 30 reused, [queue ] "},
			{sweeps.QueueRun(30, 6, 30), "45 s, 6 run, 30 reused, [queue ] "},
		}
		for i, step := range steps {
			if err := s.FinishRun(h.Name, step.rec); err != nil {
				t.Fatal(err)
			}
			if got := runSummary(t, mustOpen(t, b.reader, loc), h.Name); got != step.want {
				t.Errorf("after record %d (%s %s): %s\nwant %s", i, step.rec.Run, step.rec.Part, got, step.want)
			}
		}
	})
}

// TestMigratesVersion9: a study stored at schema version 9, whose counts
// were columns of its row, opens as a writer or a reader with them as
// its one run record; a shard's record then counts beside it as a run of
// its own.
func TestMigratesVersion9(t *testing.T) {
	forEachRole(t, func(t *testing.T, b backend, open func(string) (Store, error), loc string) {
		w := mustOpen(t, b.writer, loc)
		h, points := testStudy(t, "old")
		if err := w.SaveStudy(h, points); err != nil {
			t.Fatal(err)
		}
		w.Close()
		s := migrateFrom(t, b, open, loc, 9, `DROP TABLE mlpsweep_runs`,
			`UPDATE mlpsweep_study SET wall_seconds = 7.5, units_run = 3, units_reused = 2`)
		if got, want := runSummary(t, s, "old"), "7.5 s, 3 run, 2 reused, [sweep ] "; got != want {
			t.Errorf("migrated: %s\nwant %s", got, want)
		}
		s.Close()
		w = mustOpen(t, b.writer, loc)
		if err := w.FinishRun("old", sweeps.ShardRun(0, 3, 2, 4, 0)); err != nil {
			t.Fatal(err)
		}
		if got, want := runSummary(t, w, "old"), "9.5 s, 4 run, 0 reused, [shards 3 0/3] by 1 of its 3 shards"; got != want {
			t.Errorf("then a shard: %s\nwant %s", got, want)
		}
	})
}

// forEachRole runs test on every backend, opening the store (open) as a
// sweep and as a report does, each with a fresh database at loc.
func forEachRole(t *testing.T, test func(t *testing.T, b backend, open func(string) (Store, error), loc string)) {
	for _, b := range backends {
		for role, open := range map[string]func(string) (Store, error){"writer": b.writer, "reader": b.reader} {
			t.Run(b.name+"/"+role, func(t *testing.T) { test(t, b, open, b.fresh(t)) })
		}
	}
}

// migrateFrom takes the database at loc back to schema version v with
// sqls (b.exec), run behind the store's back (and dropRetrainError,
// dropRetrain for a v before 12, 11), then opens it with open (closed when the test ends) and
// checks that it migrated to schemaVersion.
func migrateFrom(t *testing.T, b backend, open func(string) (Store, error), loc string, v int, sqls ...string) Store {
	t.Helper()
	b.exec(t, loc, sqls...)
	if v < 12 {
		b.exec(t, loc, dropRetrainError)
	}
	if v < 11 {
		b.exec(t, loc, dropRetrain...)
	}
	b.setVersion(t, loc, v)
	s := mustOpen(t, open, loc)
	if got := schemaOf(t, b, loc); got != schemaVersion {
		t.Errorf("schema version %d after migration from %d (want %d)", got, v, schemaVersion)
	}
	return s
}
