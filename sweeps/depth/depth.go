package depth

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// A depth study (the depth preset, `mlpsweep depth`) trains each variant
// of a study (an axis: activation, initializer, batch norm, skip
// connections) at several depths (numbers of hidden layers of one width)
// on one held-out split, and records engine.Diagnostics on a fixed batch at
// initialization and after every epoch: how much gradient reaches each
// layer, and what the units do.

// DepthRun is one configuration of a depth study.
type DepthRun struct {
	Variant string        // the study axis it comes from
	Depth   int           // hidden layers
	Config  engine.Config // normalized; Seed is the run's unit seed
}

// PlanDepth lists the runs of a depth study from s: every axis of s (or
// only those named in variants; s keeps only those) is a variant, whose
// settings are those of its deepest point (Normalize clears a residual
// switch on a network too shallow for a skip connection), trained at every
// depth with hidden layers of width width (0: the width of that point's
// first hidden layer). Each run's seed is sweeps.UnitSeed(s.Seed, key, 0), as
// fold 0 of a sweep of the same config.
func PlanDepth(s *study.Study, variants []string, depths []int, width int) ([]DepthRun, error) {
	if len(variants) > 0 {
		if err := s.KeepAxes(variants); err != nil {
			return nil, err
		}
	}
	if len(depths) == 0 {
		return nil, fmt.Errorf("depth study: no depths")
	}
	for _, d := range depths {
		if d < 1 {
			return nil, fmt.Errorf("depth study: depth %d (want ≥ 1 hidden layer)", d)
		}
	}
	var runs []DepthRun
	for _, axis := range s.Axes() {
		var deepest study.Point
		for _, p := range s.Points {
			if p.Axis == axis && (deepest.Axis == "" || len(p.Params.Hidden()) > len(deepest.Params.Hidden())) {
				deepest = p
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
			cfg = params.Config(sweeps.UnitSeed(s.Seed, params.Key(), 0))
			runs = append(runs, DepthRun{Variant: axis, Depth: d, Config: cfg})
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("depth study %s has no variants (axes)", s.Name)
	}
	return runs, nil
}

// DepthData is what a depth study trains and scores on.
type DepthData struct {
	Train, Val        engine.Data
	Features, Classes int
	Describe          string // for the report, e.g. "MNIST: 60000 training rows, scored on the 10000 test images"
}

// DepthResult is one run of a depth study.
type DepthResult struct {
	DepthRun
	Params   int                // trainable parameters
	Init     engine.Diagnostics // on the diagnostic batch before training
	Epochs   []engine.EpochStats
	Accuracy float64 // held-out accuracy after the last epoch (of the model as it stopped, if it diverged)
	ValLoss  float64
	// TrainAccuracy is the final model's accuracy on the first
	// depthTrainRows training rows, in inference mode like Accuracy, so
	// that their difference measures overfitting (Keras's epoch accuracy
	// is a running mean over a changing model, in training mode).
	TrainAccuracy float64
	Diverged      bool
	Error         string  // divergence message or failure
	Seconds       float64 // wall time of the run
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
	Seconds   float64       // wall time
}

// DepthOptions control RunDepth.
type DepthOptions struct {
	Workers  int                 // runs trained at once (one core each); 0: runtime.NumCPU()
	Progress func(r DepthResult) // called as each run finishes, one call at a time
}

// RunDepth trains every run on data, workers at a time, deepest first (the
// longest runs start first). Each run diagnoses the first B training rows
// (B = its batch size) at initialization and after every epoch, and scores
// data.Val after every epoch. A diverged run keeps the epochs it completed.
// A cancelled ctx returns ctx.Err().
func RunDepth(ctx context.Context, name string, runs []DepthRun, data DepthData, opt DepthOptions) (*DepthStudyResult, error) {
	started := time.Now()
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	r := &DepthStudyResult{Study: name, Data: data.Describe, Classes: data.Classes, Runs: make([]DepthResult, len(runs))}
	if data.Features > 0 {
		r.TrainRows = trainRows(data.Train, data.Features)
	}
	for _, run := range runs {
		if !slices.Contains(r.Variants, run.Variant) {
			r.Variants = append(r.Variants, run.Variant)
		}
		if !slices.Contains(r.Depths, run.Depth) {
			r.Depths = append(r.Depths, run.Depth)
		}
		r.Epochs = max(r.Epochs, run.Config.Epochs)
	}
	slices.Sort(r.Depths)
	order := make([]int, len(runs)) // indices into runs, deepest first
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(runs[b].Depth, runs[a].Depth) })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex // guards next and Progress calls
	next := 0
	var wg sync.WaitGroup
	for range min(workers, len(runs)) {
		wg.Go(func() {
			kc := kernels.NewContext(1)
			for {
				mu.Lock()
				if next == len(order) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := order[next]
				next++
				mu.Unlock()
				res, err := trainDepth(ctx, kc, runs[i], data)
				if err != nil {
					return // cancelled
				}
				mu.Lock()
				r.Runs[i] = res
				if opt.Progress != nil {
					opt.Progress(res)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Seconds = time.Since(started).Seconds()
	return r, nil
}

// trainDepth trains one run. Bad data or a config the engine rejects is a
// result with Error set; the only error is ctx's.
func trainDepth(ctx context.Context, kc *kernels.Context, run DepthRun, data DepthData) (res DepthResult, err error) {
	start := time.Now()
	res.DepthRun = run
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	m, err := engine.New(run.Config, data.Features, data.Classes, kc)
	if err == nil {
		err = m.CheckData(data.Train)
	}
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	res.Params = m.Params()

	// The diagnostic batch: the first B training rows, the same for every run.
	rows := allRows(data.Train, data.Features)
	rows = rows[:min(len(rows), run.Config.Batch)]
	x, t := make([]float32, 0, len(rows)*data.Features), make([]float32, 0, len(rows)*data.Classes)
	for _, i := range rows {
		x = append(x, data.Train.X[i*data.Features:(i+1)*data.Features]...)
		t = append(t, data.Train.Y[i*data.Classes:(i+1)*data.Classes]...)
	}
	d, err := m.Diagnose(x, t, len(rows))
	if err == nil {
		err = m.SetDiagnosticBatch(x, t, len(rows))
	}
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	res.Init = d.Clone()

	h, err := m.Fit(ctx, data.Train, &data.Val, nil)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	res.Epochs = h.Epochs
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	res.Diverged, res.Error = h.Diverged, h.Divergence
	if last := len(h.Epochs) - 1; last >= 0 && !h.Diverged {
		res.ValLoss, res.Accuracy = h.Epochs[last].ValLoss, h.Epochs[last].ValAccuracy
	} else {
		res.ValLoss, res.Accuracy = m.Evaluate(data.Val)
	}
	held := data.Train
	held.Rows = allRows(held, data.Features)[:min(trainRows(held, data.Features), depthTrainRows)]
	_, res.TrainAccuracy = m.Evaluate(held)
	return res, nil
}

// depthTrainRows is how many training rows (the first ones) score a
// depth run's final training accuracy.
const depthTrainRows = 10000

// trainRows is the number of rows d uses.
func trainRows(d engine.Data, features int) int {
	if d.Rows != nil {
		return len(d.Rows)
	}
	return len(d.X) / features
}

// allRows is d.Rows, or 0 … N−1 when d uses all its rows in order.
func allRows(d engine.Data, features int) []int {
	if d.Rows != nil {
		return d.Rows
	}
	rows := make([]int, trainRows(d, features))
	for i := range rows {
		rows[i] = i
	}
	return rows
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
