package sweeps

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// UnitID is everything a unit's numbers depend on: the configuration (by
// content), the fold of a split, the unit seed, the data and the engine.
type UnitID struct {
	Key    string // study.Params.Key
	Fold   int
	Split  string // how the folds were drawn, e.g. "kfold k=4 seed=42"
	Seed   int64  // UnitSeed(study seed, Key, Fold)
	Data   string // data fingerprint
	Engine string // EngineID()
}

// Header is a study's record: what its units share, and the counts of its
// invocations.
type Header struct {
	Name          string
	Folds, Epochs int
	Seed          int64
	Split         string // see UnitID.Split
	Data          string // data set name and rows, for people
	DataSHA       string // data fingerprint
	Engine        string // EngineID() of the run
	// Read back from a store (LatestRun of its run records): the study's
	// time over every run, the units its latest run trained and reused,
	// summed over Runs, that run's records (a shard's each).
	WallSeconds float64
	UnitsRun    int
	UnitsReused int
	Runs        []RunRecord
	// Schedule is how far its configurations train, for a live view's
	// ETA (mlpsweep serve); zero in a store written before it was
	// recorded, or for a study of fixed configurations without a pruner.
	Schedule Schedule
	// Started is when the latest invocation started (unix nanoseconds):
	// what SaveStudy records (0: the time it is called), so that an
	// invocation that saves the study again as it grows (a sampler's
	// batches) keeps its start. Read back, 0 for a store that did not
	// record it.
	Started int64
}

// Schedule is a study's pruner, sampler and data shape as its store
// records them: what a live view needs to replay the pruner's outlook
// (prune.Run.Outlook) from the stored scores and decisions, to count the
// configurations a sampler has not proposed yet, and to weigh an epoch's
// work (rows × training FLOPs per row).
type Schedule struct {
	Pruner *study.Pruner `json:"pruner,omitempty"` // nil: none
	Trials int           `json:"trials,omitempty"` // a sampled study's configurations to train (study.Search.N); 0: no sampler
	Batch  int           `json:"batch,omitempty"`  // a sampled study's configurations proposed at a time (each its own study for sha and hyperband); 0: one at a time (the queue's sampler without a pruner)
	// Rows is the rows the study's split divides (KFold) or, with one
	// held-out fold, trains on; Features and Classes the data's width.
	// 0: not recorded (a store written before them).
	Rows     int `json:"rows,omitempty"`
	Features int `json:"features,omitempty"`
	Classes  int `json:"classes,omitempty"`
	// Curves says its units' held-out rows are scored after each epoch
	// (learning curves; a pruner's rungs always are); false: once, after
	// a unit's last epoch. What an ETA counts as their scoring work
	// (scheduler.ScoredWork).
	Curves bool `json:"curves,omitempty"`
}

// EachEpoch reports whether the study's units score their held-out rows
// after each epoch: Curves, or a pruner (a store written before Curves
// was recorded has the pruner's).
func (s Schedule) EachEpoch() bool { return s.Curves || s.Pruner != nil }

// KFoldSplit names a KFold split in UnitID.Split.
func KFoldSplit(folds int, seed int64) string { return fmt.Sprintf("kfold k=%d seed=%d", folds, seed) }

// Unit is one work unit: a configuration trained on one fold.
type Unit struct {
	ID    UnitID
	Point *study.Point // the first point of the study with this configuration
}

// UnitIDs are the identities in the store of units, in their order.
func UnitIDs(units []Unit) []UnitID {
	ids := make([]UnitID, len(units))
	for i, u := range units {
		ids[i] = u.ID
	}
	return ids
}

// Config is the engine configuration the unit trains: its point's, with the
// unit seed.
func (u Unit) Config() engine.Config { return u.Point.Params.Config(u.ID.Seed) }

// Normalized is Config as the engine builds a model from it, normalized
// once already (engine.NewNormalized, Model.ResetNormalized).
func (u Unit) Normalized() engine.Normalized { return u.Point.Params.Normalized(u.ID.Seed) }

// Plan lists the units of a study's points, configuration by configuration
// and fold by fold, each configuration once however many axes show it.
func Plan(h Header, points []study.Point) []Unit {
	var units []Unit
	seen := map[string]bool{}
	for i := range points {
		key := points[i].Params.Key()
		if seen[key] {
			continue
		}
		seen[key] = true
		for f := range h.Folds {
			units = append(units, Unit{ID: h.unitID(key, f), Point: &points[i]})
		}
	}
	return units
}

func (h Header) unitID(key string, fold int) UnitID {
	return UnitID{key, fold, h.Split, UnitSeed(h.Seed, key, fold), h.DataSHA, h.Engine}
}

// Assemble builds a StudyResult from a study's header and points, the
// units found (by ID; absent units are missing folds) and, of a pruned
// study, its decisions in the order made (Decisions; nil when there are
// none), and counts the machines and engines that computed them. A unit
// of a configuration the decisions stopped shows as the study stopped it
// (UnitResult.StoppedAt), however far another study trained it: a study's
// result does not depend on what other studies stored.
func Assemble(h Header, points []study.Point, units map[UnitID]UnitResult, decisions []Decision) StudyResult {
	plan := Plan(h, points)
	r := StudyResult{Name: h.Name, Folds: h.Folds, Epochs: h.Epochs, Seed: h.Seed, Engine: h.Engine,
		TotalSeconds: h.WallSeconds, UnitsRun: h.UnitsRun, UnitsReused: h.UnitsReused, Runs: h.Runs, UnitsTotal: len(plan), Data: h.Data}
	if s := h.Schedule; s.Features > 0 && r.Data != "" {
		r.Data += fmt.Sprintf(", %d features, %d classes", s.Features, s.Classes)
	}
	if len(decisions) > 0 {
		r.Decisions = decisions
	}
	stops := map[string]int{} // configuration → the epoch the study stopped it at
	for _, d := range decisions {
		if !d.Promoted {
			stops[d.Key] = d.Epoch
		}
	}
	unit := func(id UnitID) (UnitResult, bool) {
		u, ok := units[id]
		return u.StoppedAt(stops[id.Key]), ok
	}
	for _, pt := range points {
		var us []UnitResult
		for f := range h.Folds {
			if u, ok := unit(h.unitID(pt.Params.Key(), f)); ok {
				us = append(us, u)
			}
		}
		r.Configs = append(r.Configs, Summarize(pt, us))
	}
	setRanks(r.Configs)
	var found []UnitResult // each unit once, however many axes show its configuration
	for _, u := range plan {
		if res, ok := unit(u.ID); ok {
			found = append(found, res)
		}
	}
	r.Machines = countMachines(found)
	r.EngineNote = engineNote(h.Engine, r.Machines)
	return r
}
