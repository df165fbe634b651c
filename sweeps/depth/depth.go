package depth

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// DepthRun is one run of a depth study: a variant at a depth.
type DepthRun struct {
	Variant string        // the study axis it comes from
	Depth   int           // hidden layers
	Params  study.Params  // the configuration
	Config  engine.Config // Params with the run's unit seed
}

// DepthPlan is a planned depth study.
type DepthPlan struct {
	Study string // the study's name, for reports
	Seed  int64  // the study seed: a run's seed is sweeps.UnitSeed(Seed, key, 0)
	// Points are the runs, variant by variant and depth by depth: Axis is
	// the variant, Value the depth.
	Points []study.Point
}

// PlanDepth plans a depth study from s: every axis of s is a variant, whose settings are
// those of its deepest point (Normalize clears a residual switch on a
// network too shallow for a skip connection), trained at every depth with
// hidden layers of width width (0: the width of that point's first hidden
// layer).
func PlanDepth(s *study.Study, depths []int, width int) (*DepthPlan, error) {
	if len(depths) == 0 {
		return nil, fmt.Errorf("depth study: no depths")
	}
	for _, d := range depths {
		if d < 1 {
			return nil, fmt.Errorf("depth study: depth %d (want ≥ 1 hidden layer)", d)
		}
	}
	p := &DepthPlan{Study: s.Name, Seed: s.Seed}
	for _, axis := range s.Axes() {
		var deepest study.Point
		for _, pt := range s.Points {
			if pt.Axis == axis && (deepest.Axis == "" || len(pt.Params.Hidden()) > len(deepest.Params.Hidden())) {
				deepest = pt
			}
		}
		w := width
		if w == 0 {
			if len(deepest.Params.Hidden()) == 0 {
				return nil, fmt.Errorf("depth study: variant %s has no hidden layer to take the width from", axis)
			}
			w = deepest.Params.Hidden()[0]
		}
		for _, d := range depths {
			cfg := deepest.Params.Config(0)
			cfg.Hidden = slices.Repeat([]int{w}, d)
			params, err := study.NewParams(cfg)
			if err != nil {
				return nil, fmt.Errorf("depth study: variant %s at depth %d: %w", axis, d, err)
			}
			p.Points = append(p.Points, study.Point{Axis: axis, Value: strconv.Itoa(d), Params: params})
		}
	}
	if len(p.Points) == 0 {
		return nil, fmt.Errorf("depth study %s has no variants (axes)", s.Name)
	}
	return p, nil
}

// Run is the run of pt: its variant, depth and config with its unit seed.
func (p *DepthPlan) Run(pt study.Point) DepthRun {
	return DepthRun{Variant: pt.Axis, Depth: len(pt.Params.Hidden()), Params: pt.Params,
		Config: pt.Params.Config(sweeps.UnitSeed(p.Seed, pt.Params.Key(), 0))}
}

// Header is the study's record in the store. Its name is the study's with
// "-holdout" appended, apart from a cross-validated sweep of the same
// preset in the same directory; a run is fold 0 of data's split.
func (p *DepthPlan) Header(data DepthData) sweeps.Header {
	h := sweeps.Header{Name: p.Study + "-holdout", Folds: 1, Seed: p.Seed,
		Split: data.Split, Data: data.Describe, DataSHA: data.SHA, Engine: sweeps.EngineID(),
		Schedule: sweeps.Schedule{Rows: data.trainRows(), Features: data.Features, Classes: data.Classes}}
	for _, pt := range p.Points {
		h.Epochs = max(h.Epochs, pt.Params.Epochs())
	}
	return h
}

// Schedule is the plan the scheduler runs: the distinct configurations,
// deepest first (the longest runs start first), each trained by data's
// train-and-score function on a model of the plan's own, reused.
func (p *DepthPlan) Schedule(data DepthData) scheduler.Plan {
	h := p.Header(data)
	units := sweeps.Plan(h, p.Points)
	slices.SortStableFunc(units, func(a, b sweeps.Unit) int {
		return cmp.Compare(len(b.Point.Params.Hidden()), len(a.Point.Params.Hidden()))
	})
	rows := data.trainRows()
	models := &modelPool{}
	train := func(ctx context.Context, kc *kernels.Context, u sweeps.Unit, onEpoch func(engine.EpochStats)) (sweeps.UnitResult, error) {
		return data.train(ctx, kc, models, u, onEpoch)
	}
	return scheduler.Plan{Header: h, Points: p.Points, Units: units, Train: train,
		EpochRows: func(sweeps.Unit) int { return rows },
		EpochWork: func(u sweeps.Unit) int64 {
			return scheduler.EpochFLOPs(u.Point.Params.Hidden(), data.Features, data.Classes, rows)
		},
	}
}

// DepthResult is one run of a depth study. Its JSON form is DepthSummary
// (json.Marshal would see only the embedded UnitResult's MarshalJSON).
type DepthResult struct {
	DepthRun
	// UnitResult is the stored unit: Accuracy is held-out after the last
	// epoch (of the model as it stopped, if it diverged), each epoch carries
	// its Diagnostics, Extra holds the fields below.
	sweeps.UnitResult
	Trainable int                // trainable parameters
	Init      engine.Diagnostics // on the diagnostic batch before training
	// TrainAccuracy is the final model's accuracy on the first
	// depthTrainRows training rows, in inference mode like Accuracy, so
	// that their difference measures overfitting (Keras's epoch accuracy
	// is a running mean over a changing model, in training mode).
	TrainAccuracy float64
}

// record is a depth run's own part of its unit, UnitResult.Extra.
type record struct {
	Params        int                `json:"params"`
	Init          engine.Diagnostics `json:"init"`
	TrainAccuracy engine.JSONFloat   `json:"train_accuracy"`
}

// Result is the result of pt from its unit u.
func (p *DepthPlan) Result(pt study.Point, u sweeps.UnitResult) (DepthResult, error) {
	r := DepthResult{DepthRun: p.Run(pt), UnitResult: u}
	if len(u.Extra) == 0 {
		return r, nil
	}
	var rec record
	if err := json.Unmarshal(u.Extra, &rec); err != nil {
		return r, fmt.Errorf("depth study: %s depth %d: stored record: %w", r.Variant, r.Depth, err)
	}
	r.Trainable, r.Init, r.TrainAccuracy = rec.Params, rec.Init, float64(rec.TrainAccuracy)
	return r, nil
}

// DepthData is what a depth study trains and scores on.
type DepthData struct {
	Train, Val        engine.Data
	Features, Classes int
	Describe          string // for the report, e.g. "MNIST, 60000 training rows, scored on the 10000 test images"
	Split             string // names the held-out split in sweeps.UnitID.Split, e.g. "holdout mnist-test"
	SHA               string // covers the training and the held-out data (sweeps.UnitID.Data)
}

// DepthStudyResult is a finished depth study.
type DepthStudyResult struct {
	Study     string
	Data      string
	TrainRows int // training rows per epoch
	Classes   int
	Epochs    int
	Variants  []string      // in study order
	Depths    []int         // ascending
	Runs      []DepthResult // variant by variant, depth by depth
	Seconds   float64       // wall time, summed over the invocations that ran it

	dataOnly bool // plots as data without PNGs (the page of mlpsweep serve draws them)
}

// RunDepth trains every unit of plan on data that the store (opt.Store,
// or the SQLite database in opt.Dir) does not already hold, opt.Workers at
// a time, deepest first, and returns the study assembled from the store,
// where it is a study like a sweep's (see Header). Each run diagnoses the first B
// training rows (B = its batch size) at initialization and after every
// epoch, and scores data.Val after every epoch. A diverged run keeps the
// epochs it completed. A cancelled ctx returns an error wrapping
// scheduler.ErrInterrupted; finished runs stay stored.
func RunDepth(ctx context.Context, plan *DepthPlan, data DepthData, opt scheduler.Options) (*DepthStudyResult, error) {
	if opt.Store == nil {
		st, err := store.Open(ctx, opt.Dir)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		opt.Store = st
	}
	sp := plan.Schedule(data)
	if _, err := scheduler.Run(ctx, sp, opt); err != nil {
		return nil, err
	}
	return plan.Load(ctx, opt.Store, data)
}

// Load assembles the study from the units stored in st; a run without a
// stored result is an error.
func (p *DepthPlan) Load(ctx context.Context, st store.Store, data DepthData) (*DepthStudyResult, error) {
	h := p.Header(data)
	if stored, _, err := st.Study(ctx, h.Name); err == nil {
		h.WallSeconds = stored.WallSeconds
	}
	units := map[sweeps.UnitID]sweeps.UnitResult{}
	for _, u := range sweeps.Plan(h, p.Points) {
		res, state, err := st.Unit(u.ID)
		if err != nil {
			return nil, err
		}
		if state != "" {
			units[u.ID] = res
		}
	}
	stored := sweeps.Assemble(h, p.Points, units, nil)
	r := &DepthStudyResult{Study: p.Study, Data: data.Describe, Classes: data.Classes, Epochs: h.Epochs,
		TrainRows: data.trainRows(), Seconds: h.WallSeconds}
	for i, c := range stored.Configs {
		pt := p.Points[i]
		if len(c.Units) != 1 {
			return nil, fmt.Errorf("depth study: %s depth %s has no stored result in %s", pt.Axis, pt.Value, st.Name())
		}
		run, err := p.Result(pt, c.Units[0])
		if err != nil {
			return nil, err
		}
		r.Runs = append(r.Runs, run)
		if !slices.Contains(r.Variants, run.Variant) {
			r.Variants = append(r.Variants, run.Variant)
		}
		if !slices.Contains(r.Depths, run.Depth) {
			r.Depths = append(r.Depths, run.Depth)
		}
	}
	slices.Sort(r.Depths)
	return r, nil
}

// modelPool holds a depth study's models that no run is using. A run
// takes one and resets it to its configuration (Model.Reset: the model New
// would give, for the same bits), and gives it back at its end: a reset to
// the same or a smaller shape allocates nothing, and the deepest runs come
// first. A fresh model for every run left its buffers (most of them the
// evaluation chunk's, E×Σ H_l floats) to the garbage collector instead,
// and the heap grew by several runs' worth between collections.
type modelPool struct {
	mu   sync.Mutex
	free []*engine.Model
}

// get returns a model for cfg on in inputs and out classes, running on kc:
// a free one reset to cfg, or a new one.
func (p *modelPool) get(cfg engine.Normalized, in, out int, kc *kernels.Context) (*engine.Model, error) {
	p.mu.Lock()
	var m *engine.Model
	if n := len(p.free); n > 0 {
		m, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if m == nil || m.Inputs() != in || m.Outputs() != out {
		return engine.NewNormalized(cfg, in, out, kc)
	}
	if err := m.ResetNormalized(cfg); err != nil {
		p.put(m)
		return nil, err
	}
	m.SetContext(kc)
	return m, nil
}

// put gives m back for another run.
func (p *modelPool) put(m *engine.Model) {
	p.mu.Lock()
	p.free = append(p.free, m)
	p.mu.Unlock()
}

// train is the depth study's scheduler.TrainFunc, on a model from models:
// it trains u on d.Train, diagnosing the first B training rows (B = the
// batch size) at initialization and after every epoch, and scores d.Val
// after every epoch.
func (d DepthData) train(ctx context.Context, kc *kernels.Context, models *modelPool, u sweeps.Unit, onEpoch func(engine.EpochStats)) (res sweeps.UnitResult, err error) {
	start := time.Now()
	res.Epochs = []engine.EpochStats{}
	var rec record
	defer func() {
		res.Seconds = time.Since(start).Seconds()
		if err == nil {
			res.Extra, err = json.Marshal(rec)
		}
	}()
	cfg := u.Config()
	m, err := models.get(u.Normalized(), d.Features, d.Classes, kc)
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	defer models.put(m)
	if err := m.CheckData(d.Train); err != nil {
		res.Error = err.Error()
		return res, nil
	}
	rec.Params = m.Params()

	// The diagnostic batch: the first B training rows, the same for every
	// run, read where the data holds them (an image's pixels).
	rows := d.Train.Head(cfg.Batch, d.Features).Rows
	t := make([]float32, len(rows)*d.Classes) // [B×Classes] their targets
	d.Train.Targets(rows, t, d.Classes)
	diag, err := m.Diagnose(d.Train, rows, t)
	if err == nil {
		err = m.SetDiagnosticBatch(d.Train, rows, t)
	}
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	rec.Init = diag.Clone()

	h, err := m.Fit(ctx, d.Train, &d.Val, onEpoch)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if h.Epochs != nil {
		res.Epochs = h.Epochs
	}
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	res.Diverged, res.Error = h.Diverged, h.Divergence
	res.Samples = int64(d.trainRows()) * int64(len(h.Epochs))
	if last := len(h.Epochs) - 1; last >= 0 && !h.Diverged {
		res.ValLoss, res.Accuracy = h.Epochs[last].ValLoss, h.Epochs[last].ValAccuracy
	} else {
		res.ValLoss, res.Accuracy = m.Evaluate(d.Val)
	}
	_, acc := m.Evaluate(d.Train.Head(depthTrainRows, d.Features))
	rec.TrainAccuracy = engine.JSONFloat(acc)
	return res, nil
}

// depthTrainRows is how many training rows (the first ones) score a
// depth run's final training accuracy.
const depthTrainRows = 10000

// trainRows is the number of training rows.
func (d DepthData) trainRows() int {
	n, _ := d.Train.Size(d.Features, d.Classes)
	return n
}

// Run returns the result of variant at depth, or nil.
func (r *DepthStudyResult) Run(variant string, depth int) *DepthResult {
	for i := range r.Runs {
		if r.Runs[i].Variant == variant && r.Runs[i].Depth == depth {
			return &r.Runs[i]
		}
	}
	return nil
}
