package sweeps

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
)

// ErrInterrupted is returned (wrapped) by Run when its context is cancelled:
// finished units are stored, units in flight are not, and running the same
// study again resumes.
var ErrInterrupted = errors.New("sweep interrupted")

// Options control Run.
type Options struct {
	Dir     string // output directory holding mlpsweep.db (created if needed)
	Workers int    // units trained at once, and cores used; 0 means runtime.NumCPU()
	Curves  bool   // also score the held-out fold after every epoch (learning curves; ~15% slower)

	// Progress, if set, is called on every event, one call at a time.
	Progress func(Event)
}

// EventKind says what an Event reports.
type EventKind int

const (
	Planned   EventKind = iota // the units are known: Status.UnitsTotal, UnitsReused, UnitsToRun
	UnitStart                  // a unit started (Point, Fold, Threads)
	EpochDone                  // a unit finished an epoch (Point, Fold, Epoch)
	UnitDone                   // a unit's result is stored (Point, Fold, Unit)
)

// Event is one progress report of Run.
type Event struct {
	Kind    EventKind
	Point   *Point // the unit's configuration (the first point with its key)
	Fold    int
	Threads int               // UnitStart: GEMM threads the unit uses
	Epoch   engine.EpochStats // EpochDone
	Unit    UnitResult        // UnitDone
	Status  Status
}

// Status counts a run's progress at the time of an event.
type Status struct {
	UnitsTotal   int           // distinct units of the study
	UnitsReused  int           // found finished in the store
	UnitsToRun   int           // to train in this run
	UnitsDone    int           // trained and stored by this run
	UnitsRunning int           // in flight
	WorkToRun    int64         // training work of the units to run: Σ epochs × rows × multiply-adds per row
	WorkDone     int64         // of which done by this run (abandoned units included), for ETAs
	Samples      int64         // training samples processed by this run
	Elapsed      time.Duration // since the run started
}

// Run trains every unit of study s on data that the store in opt.Dir does
// not already hold, storing each as it finishes, and returns the study's
// results. Units are (config, fold) pairs; configs that appear on several
// axes train once. Each unit's seed comes from UnitSeed, so results do not
// depend on the worker count or order. When ctx is cancelled, Run returns
// what is finished and an error wrapping ErrInterrupted.
func Run(ctx context.Context, s *Study, data *datasets.Dataset, opt Options) (StudyResult, error) {
	started := time.Now()
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	if len(s.Points) == 0 {
		return StudyResult{}, fmt.Errorf("study %s has no configurations", s.Name)
	}
	if s.Seed < 0 || s.Seed > math.MaxUint32 {
		return StudyResult{}, fmt.Errorf("study %s: seed %d is not a KFold random_state in [0, 2³²)", s.Name, s.Seed)
	}
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		return StudyResult{}, err
	}
	st, err := openStore(opt.Dir)
	if err != nil {
		return StudyResult{}, err
	}
	defer st.Close()

	h := studyRow{
		Name: s.Name, Folds: s.Folds, Epochs: s.Base.Epochs, Seed: s.Seed,
		Split: fmt.Sprintf("kfold k=%d seed=%d", s.Folds, s.Seed),
		Data:  fmt.Sprintf("%s (%d rows)", data.Name, data.N), DataSHA: data.Fingerprint(), Engine: engineID(),
	}
	if err := st.saveStudy(h, s.Points); err != nil {
		return StudyResult{}, err
	}

	// Plan: every distinct unit, reused when stored as done.
	points := map[string]*Point{}
	for i := range s.Points {
		if _, ok := points[s.Points[i].Key]; !ok {
			points[s.Points[i].Key] = &s.Points[i]
		}
	}
	units := map[unitID]UnitResult{}
	var jobs []job
	var status Status
	for _, id := range unitIDs(s.Points, s.Folds, h.Split, h.Seed, h.DataSHA, h.Engine) {
		u, state, err := st.unit(id)
		if err != nil {
			return StudyResult{}, err
		}
		status.UnitsTotal++
		if state == "done" {
			u.Reused = true
			units[id] = u
			status.UnitsReused++
			continue
		}
		pt := points[id.Key]
		jobs = append(jobs, job{id: id, cfg: configOf(*pt, id), pt: pt})
		status.WorkToRun += int64(pt.Config.Epochs) * epochWork(pt.Config, data, folds[id.Fold])
	}
	status.UnitsToRun = len(jobs)

	var mu sync.Mutex // guards units, status and Progress calls
	report := func(e Event) {
		e.Status = status
		e.Status.Elapsed = time.Since(started)
		if opt.Progress != nil {
			opt.Progress(e)
		}
	}
	report(Event{Kind: Planned})
	p := &pool{
		workers: workers, data: data, folds: folds, curves: opt.Curves,
		start: func(j job, threads int) error {
			if err := st.markRunning(j.id, s.Name); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			status.UnitsRunning++
			report(Event{Kind: UnitStart, Point: j.pt, Fold: j.id.Fold, Threads: threads})
			return nil
		},
		epoch: func(j job, e engine.EpochStats) {
			mu.Lock()
			defer mu.Unlock()
			status.WorkDone += epochWork(j.cfg, data, folds[j.id.Fold])
			status.Samples += int64(len(folds[j.id.Fold].Train))
			report(Event{Kind: EpochDone, Point: j.pt, Fold: j.id.Fold, Epoch: e})
		},
		done: func(j job, u UnitResult) error {
			if err := st.saveUnit(j.id, s.Name, u); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			units[j.id] = u
			status.UnitsRunning--
			status.UnitsDone++
			// A diverged unit stops early: count its remaining epochs as done.
			status.WorkDone += int64(j.cfg.Epochs-len(u.Epochs)) * epochWork(j.cfg, data, folds[j.id.Fold])
			report(Event{Kind: UnitDone, Point: j.pt, Fold: j.id.Fold, Unit: u})
			return nil
		},
	}
	runErr := p.run(ctx, jobs)
	wall := time.Since(started).Seconds()

	mu.Lock()
	defer mu.Unlock()
	r := assemble(h, s.Points, units)
	r.TotalSeconds, r.UnitsTotal, r.UnitsRun, r.UnitsReused = wall, status.UnitsTotal, status.UnitsDone, status.UnitsReused
	if err := st.finishRun(s.Name, wall, status.UnitsDone, status.UnitsReused); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil && ctx.Err() != nil {
		return r, fmt.Errorf("%w after %d of %d units (%d in flight abandoned); run the same command again to resume: %w",
			ErrInterrupted, status.UnitsDone+status.UnitsReused, status.UnitsTotal, status.UnitsRunning, ctx.Err())
	}
	return r, runErr
}

// epochWork is the multiply-adds of one training epoch of cfg on fold: the
// Dense layers' weights per row, times the rows. It weighs units for ETAs
// (a 512-256-128 unit costs about 6 times a 128 one).
func epochWork(cfg engine.Config, data *datasets.Dataset, fold datasets.Fold) int64 {
	var macs int64
	in := data.Features
	for _, h := range cfg.Hidden {
		macs += int64(in) * int64(h)
		in = h
	}
	macs += int64(in) * int64(data.Classes)
	return macs * int64(len(fold.Train))
}
