package scheduler

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// groupFit trains the units of a job together on a worker's workspace,
// calling onEpoch(i, s) after each epoch of units[i] and onDone(i, r) once
// for each unit as it finishes (the pool stores it then). Its only errors
// are ctx's (the units not done are abandoned) and onDone's.
type groupFit func(ctx context.Context, ws *workspace, units []sweeps.Unit,
	onEpoch func(i int, s engine.EpochStats), onDone func(i int, r sweeps.UnitResult) error) error

// workspace is what a worker keeps from job to job: its kernels Context,
// and the models and group it resets for each job (engine.Model.Reset,
// engine.Group.Reset), so that a sweep allocates (and page-faults) a
// model's buffers once per worker and member slot, not once per unit.
type workspace struct {
	kc      *kernels.Context
	models  []*engine.Model // slot k: the k-th member of the jobs run so far
	group   *engine.Group
	members []*engine.Model // this job's models, in member order
	unit    []int           // this job's member k trains units[unit[k]]

	// onPart, if set, is told partway through an epoch that the units
	// units[i], i in is, train it (pool.part), at most once per partEvery.
	onPart    func(is []int, p engine.EpochPart)
	partEvery time.Duration
	partUnits []int // onPart's is, reused
}

// partHook is the progress hook (engine.Group.SetProgress) that reports
// to ws.onPart the members k still training in an epoch (live(k, epoch));
// nil without onPart, which clears the hook of a model or group reused
// from an earlier job.
func (ws *workspace) partHook(live func(k, epoch int) bool) func(engine.EpochPart) {
	if ws.onPart == nil {
		return nil
	}
	return func(p engine.EpochPart) {
		ws.partUnits = ws.partUnits[:0]
		for k, i := range ws.unit {
			if live(k, p.Epoch) {
				ws.partUnits = append(ws.partUnits, i)
			}
		}
		ws.onPart(ws.partUnits, p)
	}
}

// model returns slot k's model reset for cfg (made on first use, or when
// the slot's model has other inputs or outputs). A configuration the
// engine rejects is an error; the slot is then unchanged.
func (ws *workspace) model(k int, cfg engine.Normalized, features, classes int) (*engine.Model, error) {
	if k < len(ws.models) {
		if m := ws.models[k]; m.Inputs() == features && m.Outputs() == classes {
			return m, m.ResetNormalized(cfg)
		}
	}
	m, err := engine.NewNormalized(cfg, features, classes, ws.kc)
	if err != nil {
		return nil, err
	}
	if k < len(ws.models) {
		ws.models[k] = m
	} else {
		ws.models = append(ws.models, m)
	}
	return m, nil
}

// foldFit trains a cross-validation's units: each on its fold's training
// rows, in the batch order of sweeps.ShuffleSeed(seed, fold), scored on the
// fold's held-out rows (after every epoch too when curves is set). With
// fuse, the units of one fold that share the batch size and the epoch
// count train as one engine.Group (jobs plans the groups); without, each
// alone. Both give the same numbers, bit for bit.
type foldFit struct {
	data   *datasets.Dataset
	folds  []datasets.Fold
	seed   int64 // the study seed
	curves bool
	fuse   bool
	// maxColumns caps a fused group's first layer: the sum of its
	// members' first hidden widths (output widths for members without a
	// hidden layer); 0: jobs takes the table's or measures it,
	// MeasureGroupColumns: jobs measures it (see chooseWidth).
	maxColumns int
	widthFrom  string // how maxColumns was chosen (Status.GroupWidth)
}

// columns is the width of the first layer of u's configuration.
func (f *foldFit) columns(u sweeps.Unit) int {
	if h := u.Point.Params.Hidden(); len(h) > 0 {
		return h[0]
	}
	return f.data.Classes
}

// work weighs u for balancing jobs across workers: epochs × EpochFLOPs.
func (f *foldFit) work(u sweeps.Unit) int64 {
	return int64(u.Point.Params.Epochs()) * EpochFLOPs(u.Point.Params.Hidden(), f.data.Features, f.data.Classes, len(f.folds[u.ID.Fold].Train))
}

// jobs plans the units' jobs. Without fuse, a job is one unit. With fuse,
// the units that share the fold, the batch size and the epoch count (so
// the training rows and the batch order) form groups, in plan order, of at
// most maxColumns first-layer columns (a wider unit is a group of its own;
// maxColumns 0 is measured first, see calibrate). While there are fewer groups than workers, the group with the most
// work is split in two: a member's numbers do not depend on its group. The
// jobs come largest first, so that the last to finish are short.
func (f *foldFit) jobs(units []sweeps.Unit, workers int) []job {
	if !f.fuse {
		return singles(units)
	}
	f.chooseWidth(units)
	type key struct{ fold, batch, epochs int }
	open := map[key]int{} // the index in jobs of each key's group being filled
	var jobs []job
	cols := map[int]int{} // first-layer columns of jobs[i]
	for _, u := range units {
		c := f.columns(u)
		k := key{u.ID.Fold, u.Point.Params.Config(0).Batch, u.Point.Params.Epochs()}
		i, ok := open[k]
		if !ok || cols[i]+c > f.maxColumns {
			i = len(jobs)
			jobs = append(jobs, nil)
			open[k] = i
		}
		jobs[i] = append(jobs[i], u)
		cols[i] += c
	}
	jobWork := func(j job) int64 {
		var w int64
		for _, u := range j {
			w += f.work(u)
		}
		return w
	}
	for len(jobs) < workers {
		big := -1
		for i, j := range jobs {
			if len(j) > 1 && (big < 0 || jobWork(j) > jobWork(jobs[big])) {
				big = i
			}
		}
		if big < 0 {
			break // every job is one unit
		}
		j := jobs[big]
		half := len(j) / 2
		jobs[big] = j[:half:half]
		jobs = append(jobs, j[half:])
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return cmp.Compare(jobWork(b), jobWork(a)) })
	return jobs
}

// fit is foldFit's groupFit: units share the fold, and with more than one
// unit also the batch size and the epoch count (jobs sees to it). Its
// steps: the members (members), then training alone or fused (fused), the
// results (results), each unit stored in turn.
func (f *foldFit) fit(ctx context.Context, ws *workspace, units []sweeps.Unit,
	onEpoch func(int, engine.EpochStats), onDone func(int, sweeps.UnitResult) error) error {
	start := time.Now()
	fold := units[0].ID.Fold
	train, test := f.split(fold)
	shuffle := sweeps.ShuffleSeed(f.seed, fold)
	if err := f.members(ws, units, onDone); err != nil || len(ws.members) == 0 {
		return err
	}
	if !f.fuse {
		for k, m := range ws.members {
			m.SetProgress(ws.partEvery, ws.partHook(func(j, _ int) bool { return j == k }))
			if err := f.alone(ctx, m, shuffle, train, test, func(s engine.EpochStats) { onEpoch(ws.unit[k], s) },
				func(r sweeps.UnitResult) error { return onDone(ws.unit[k], r) }); err != nil {
				return err
			}
		}
		return nil
	}
	shares := f.shares(units, ws.unit, 0)
	var val *engine.Data
	if f.curves {
		val = &test
	}
	hists, err := fused(ctx, ws, shuffle, train, val, 0, 0, shares, onEpoch)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	results := f.results(ws.group, hists, err, len(train.Rows), test, shares, start)
	// Each unit in its own transaction, one after the other: a kill between
	// two loses only the units not yet stored.
	for k := range results {
		if err := onDone(ws.unit[k], results[k]); err != nil {
			return err
		}
	}
	return nil
}

// split is fold's training and held-out rows.
func (f *foldFit) split(fold int) (train, test engine.Data) {
	return engine.DataOf(f.data, f.folds[fold].Train), engine.DataOf(f.data, f.folds[fold].Test)
}

// members resets the workspace's models for units: ws.members, and
// ws.unit[k], the index in units of member k. A configuration the engine
// rejects is a result, stored at once (onDone).
func (f *foldFit) members(ws *workspace, units []sweeps.Unit, onDone func(int, sweeps.UnitResult) error) error {
	ws.members, ws.unit = ws.members[:0], ws.unit[:0]
	for i, u := range units {
		m, err := ws.model(len(ws.members), u.Normalized(), f.data.Features, f.data.Classes)
		if err != nil {
			if err := onDone(i, sweeps.UnitResult{Epochs: []engine.EpochStats{}, Error: err.Error()}); err != nil {
				return err
			}
			continue
		}
		ws.members = append(ws.members, m)
		ws.unit = append(ws.unit, i)
	}
	return nil
}

// timeShares splits a fused group's training time among its members: each
// member's share of an epoch is its share of the work (training FLOPs per
// row: the members share the rows) of the members still training.
type timeShares struct {
	weight  []float64 // [n] each member's training FLOPs per row
	last    []int     // [n] the last epoch each member reported
	seconds []float64 // [n] each member's share of the training time so far
}

// shares are the time shares of the members units[unit[k]], which start
// after epoch from.
func (f *foldFit) shares(units []sweeps.Unit, unit []int, from int) *timeShares {
	n := len(unit)
	t := &timeShares{weight: make([]float64, n), last: make([]int, n), seconds: make([]float64, n)}
	for k, i := range unit {
		t.weight[k] = TrainingFLOPsPerRow(units[i].Point.Params.Hidden(), f.data.Features, f.data.Classes)
		t.last[k] = from
	}
	return t
}

// epoch gives member k its share of the group's epoch s: its Seconds and
// SamplesPerSecond become the member's.
func (t *timeShares) epoch(k int, s *engine.EpochStats) {
	live := 0.0
	for j, w := range t.weight {
		if t.last[j] >= s.Epoch-1 {
			live += w
		}
	}
	part := t.weight[k] / live
	s.Seconds *= part
	s.SamplesPerSecond /= part
	t.seconds[k] += s.Seconds
	t.last[k] = s.Epoch
}

// part is member k's share of work done by all members together.
func (t *timeShares) part(k int) float64 {
	total := 0.0
	for _, w := range t.weight {
		total += w
	}
	return t.weight[k] / total
}

// fused trains ws.members as ws.group in the batch order of shuffle: on
// from a fresh group, after epoch from (Seek: the members trained that far
// elsewhere), to epoch to (0: the last), scoring val after every epoch
// when set, and reports each member's epochs with its time share.
func fused(ctx context.Context, ws *workspace, shuffle int64, train engine.Data, val *engine.Data, from, to int,
	shares *timeShares, onEpoch func(int, engine.EpochStats)) ([]engine.History, error) {
	if ws.group == nil {
		ws.group = &engine.Group{}
	}
	g := ws.group
	if err := g.Reset(ws.members, shuffle); err != nil {
		return nil, err // cannot happen: jobs groups members by batch size and epochs, and the inputs and outputs are the data's
	}
	if err := g.Seek(train, from); err != nil {
		return nil, err
	}
	each := func(k int, s engine.EpochStats) {
		shares.epoch(k, &s)
		onEpoch(ws.unit[k], s)
	}
	// The members still training reported the epoch before (a diverged
	// one stops reporting).
	g.SetProgress(ws.partEvery, ws.partHook(func(k, epoch int) bool { return shares.last[k] == epoch-1 }))
	if to == 0 {
		return g.Fit(ctx, train, val, each)
	}
	return g.FitTo(ctx, train, val, to, each)
}

// results are the members' results from their training histories on
// rows training rows (err: the data was invalid, and every member fails
// alike), scored on test (evaluated now unless every member's last epoch
// scored it), with the seconds of training and evaluation by time share.
func (f *foldFit) results(g *engine.Group, hists []engine.History, err error, rows int, test engine.Data, shares *timeShares, start time.Time) []sweeps.UnitResult {
	fitted := time.Now()
	var loss, acc []float64
	if err == nil {
		needEval := !f.curves
		for _, h := range hists {
			needEval = needEval || h.Diverged || len(h.Epochs) == 0
		}
		if needEval {
			loss, acc = g.Evaluate(test)
		}
	}
	evalSeconds := time.Since(fitted).Seconds()
	results := make([]sweeps.UnitResult, len(shares.weight))
	for k := range results {
		r := &results[k]
		r.Epochs = []engine.EpochStats{}
		if err != nil {
			r.Error = err.Error()
			r.Seconds = time.Since(start).Seconds() * shares.part(k)
			continue
		}
		score(r, hists[k], rows, f.curves, func() (float64, float64) { return loss[k], acc[k] })
		r.Seconds = shares.seconds[k] + evalSeconds*shares.part(k)
	}
	return results
}

// alone trains m by itself (Model.Fit) in the batch order of shuffle and
// scores it on test, as TrainAndScore does.
func (f *foldFit) alone(ctx context.Context, m *engine.Model, shuffle int64, train, test engine.Data,
	onEpoch func(engine.EpochStats), onDone func(sweeps.UnitResult) error) error {
	m.SetShuffleSeed(shuffle)
	r, err := FitAndScore(ctx, m, train, test, f.curves, onEpoch)
	if err != nil {
		return err
	}
	return onDone(r)
}
