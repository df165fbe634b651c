package sweeps

import (
	"cmp"
	"fmt"
	"slices"
)

// RunRecord is what one invocation of a study records as it ends
// (store.Store.FinishRun): the units it trained and found finished, and
// its wall time. A run of a study is the records that share Run: a local
// sweep's (Run "sweep"), the shards of one split (Run "shards N", Part
// "I/N"), whether they share a store or are merged, or the queue's
// enqueuing and waiting (Run "queue"). A later invocation with the same
// Run and Part replaces its counts and adds its seconds; the processes of
// a run write their records apart, so that none overwrites another's.
type RunRecord struct {
	Run         string  `json:"run"`
	Part        string  `json:"part,omitempty"` // a shard's "I/N"; "" for a run of one record
	Host        string  `json:"host"`           // where it ran (last)
	Seconds     float64 `json:"seconds"`        // wall time, summed over its invocations
	UnitsRun    int     `json:"units_run"`      // trained by it (its last invocation)
	UnitsReused int     `json:"units_reused"`   // found finished (its last invocation)
	Finished    int64   `json:"-"`              // unix nanoseconds, as stored: orders the records
}

// RunQueue is the Run of QueueRun's records.
const RunQueue = "queue"

// LocalRun is the record of a sweep of a whole study by one process.
func LocalRun(seconds float64, run, reused int) RunRecord {
	return RunRecord{Run: "sweep", Host: hostName(), Seconds: seconds, UnitsRun: run, UnitsReused: reused}
}

// ShardRun is the record of shard index of count (sweep --shard I/N).
func ShardRun(index, count int, seconds float64, run, reused int) RunRecord {
	return RunRecord{Run: fmt.Sprintf("shards %d", count), Part: fmt.Sprintf("%d/%d", index, count), Host: hostName(),
		Seconds: seconds, UnitsRun: run, UnitsReused: reused}
}

// QueueRun is the record of a study run on the queue's workers: written
// when it is enqueued (the units found done, reused) and when it is
// followed to its end (the units the workers trained, the wall time).
func QueueRun(seconds float64, run, reused int) RunRecord {
	return RunRecord{Run: RunQueue, Host: hostName(), Seconds: seconds, UnitsRun: run, UnitsReused: reused}
}

// LatestRun reads a study's run records (any order): latest is the latest
// run's, in part order, each at most once; run and reused are summed over
// them; seconds is the study's time, summed over its runs, a run of
// several records (shards at once) counting its longest.
//
// The latest run is the Run of the record finished last, with its records
// finished after every record of another Run: a whole-study sweep after
// shards supersedes them, and shards rerun later than it leave out the
// parts of their Run that did not run since.
func LatestRun(records []RunRecord) (latest []RunRecord, seconds float64, run, reused int) {
	if len(records) == 0 {
		return nil, 0, 0, 0
	}
	longest := map[string]float64{}
	var runs []string
	last := records[0]
	for _, r := range records {
		if _, ok := longest[r.Run]; !ok {
			runs = append(runs, r.Run)
		}
		longest[r.Run] = max(longest[r.Run], r.Seconds)
		if r.Finished > last.Finished {
			last = r
		}
	}
	for _, name := range runs {
		seconds += longest[name]
	}
	var since int64 // the last finish of another run
	for _, r := range records {
		if r.Run != last.Run {
			since = max(since, r.Finished)
		}
	}
	for _, r := range records {
		if r.Run != last.Run || r.Finished <= since && since > 0 {
			continue
		}
		i := slices.IndexFunc(latest, func(o RunRecord) bool { return o.Part == r.Part })
		switch {
		case i < 0:
			latest = append(latest, r)
		case r.Finished > latest[i].Finished:
			latest[i] = r
		}
	}
	slices.SortFunc(latest, func(a, b RunRecord) int {
		return cmp.Or(cmp.Compare(len(a.Part), len(b.Part)), cmp.Compare(a.Part, b.Part))
	})
	for _, r := range latest {
		run += r.UnitsRun
		reused += r.UnitsReused
	}
	return latest, seconds, run, reused
}

// TrainedBy names who trained a run's units, from its records: "by its 3
// shards", "by 2 of its 3 shards" (the others not recorded since), "by
// its 3 merged shards"; "" for a run of one process.
func TrainedBy(runs []RunRecord) string {
	if len(runs) == 0 {
		return ""
	}
	var count int
	if _, err := fmt.Sscanf(runs[0].Run, "shards %d", &count); err == nil && count > len(runs) {
		return fmt.Sprintf("by %d of its %d shards", len(runs), count)
	}
	switch {
	case len(runs) == 1:
		return ""
	case runs[0].Run == "merge":
		return fmt.Sprintf("by its %d merged shards", len(runs))
	}
	return fmt.Sprintf("by its %d shards", len(runs))
}
