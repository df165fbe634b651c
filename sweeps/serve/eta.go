package serve

import (
	"context"
	"slices"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// A study's ETA and GFLOP/s on the list (StudyInfo) count training work,
// as sweep's and the queue's do (sweeps.ETA), not units: units differ
// many times in cost (architectures), a pruned study's units stop at its
// rungs and a fused group finishes many units at once.
//
// An epoch of a unit weighs its training rows × its configuration's
// training FLOPs per row (scheduler.TrainingFLOPsPerRow: the one weight
// of work of the CLI, the queue and this page), from the data's shape the
// store records with the study (sweeps.Schedule), not from its
// description for people, and its held-out rows' scoring as the CLI
// counts it (scheduler.ScoredWork): after each epoch where the study
// scores each (sweeps.Schedule.EachEpoch), else once at a unit's end
// (counted done when it finished in the window). The work done is the
// epochs the store's per-epoch rows say were written in the window: the
// last Window, from the study's latest invocation's start when that is
// later (its earlier runs' pace is not this one's), and from its first
// unit's start in it when that is later still. The rate is that work
// over the window; the GFLOP/s is that of its training work alone.
//
// The percent of peak is that training work over the core-seconds it
// took: each of the window's epochs' training seconds (engine.EpochStats:
// a fused member's share of its group's, so a group of any size counts
// once) × the GEMM threads its unit runs with (recorded with its running
// mark), against one core's peak (kernels.MachinePeak, of the machine
// serving the page). It counts what computes, not units marked running;
// it leaves out a unit's scoring and loading, which the CLI's summary
// (sweeps.NewRate: wall × workers) counts. A store that did not record a
// unit's threads (an older mlpsweep marked it) states no percent.
//
// The work left is each unfinished unit's epochs to go (a running unit's
// epochs of its run so far count as done) and none for a unit done,
// failed or pruned. How far a unit of a pruned study goes is its
// configuration's outlook (prune.Run.Outlook), as the CLI and the queue's
// coordinator count it: the study's pruner, which the store records with
// it (sweeps.Schedule), replayed over the held-out scores the store holds
// (prune.Scores) with the decisions stored (prune.Run.Resume). That is
// exact for sha and hyperband whose configurations in the running are of
// one size (their rungs fix how many go on, not which: an expectation
// otherwise, prune.Outlook.OfWork), an expectation for asha, and the most for
// the median rule (whose stops nothing predicts; the CLI shows a range).
// A sampled study's configurations not proposed yet count at the mean
// work of those proposed (prune.Future). A study stored before its
// schedule was recorded (sweeps.Header.Started 0), or whose decisions do
// not fit its scores, counts each live unit to its last epoch: the most
// it can take.
//
// A unit marked running before its study's latest invocation started,
// with no epoch written since, is stale: the invocation that marked it
// was stopped, and the new one trains it again. It is not in flight (the
// list's running and machines leave it out) and has its
// every epoch left. A unit still training on a queue worker across a
// coordinator's restart is such a mark only until its next epoch.

// Forecasts say how a study's eta_seconds is known (StudyInfo.ETAForecast).
const (
	ForecastExact    = "exact"    // every configuration trains every epoch, or sha's and hyperband's rung schedule fixes the epochs left (and the configurations still in the running are of one size)
	ForecastExpected = "expected" // asha's expectation, sha's and hyperband's when configurations of different sizes are in the running, or a sampler's configurations not proposed yet: the CLI's "~"
	ForecastAtMost   = "at_most"  // an upper bound: the median rule's, or a study whose pruner the store did not record
)

// studyPace is a study's work in its window and left, for the list.
type studyPace struct {
	eta      time.Duration
	forecast string  // Forecast*; "" without an ETA
	gflops   float64 // the window's training FLOPs per second / 1e9; 0 when the work's FLOPs are unknown
	perCore  float64 // the window's training FLOPs per core-second of its epochs' steps / 1e9; 0 when a unit's threads are unknown
}

// window is study h's window at time now: its start (unix nanoseconds),
// the later of now − Window and its latest invocation's start.
func window(h sweeps.Header, now time.Time) int64 {
	return max(now.Add(-Window).UnixNano(), h.Started)
}

// stale reports whether u is a running mark left by an invocation of
// study h stopped before its latest started (epochs: store.ReadEpochs
// since its window).
func stale(h sweeps.Header, u store.StudyUnit, epochs map[sweeps.UnitID]store.UnitEpochs) bool {
	return u.State == "running" && u.Started < h.Started && epochs[u.ID].Recent == 0
}

// pace is study h's ETA and rate at time now: plan is its units
// (sweeps.Plan), units its stored units as store.ReadStudy reads them,
// epochs their per-epoch rows (store.ReadEpochs since window(h, now)),
// o the outlook of its pruner (replay; nil: none known).
func pace(h sweeps.Header, points []study.Point, plan []sweeps.Unit, units []store.StudyUnit, epochs map[sweeps.UnitID]store.UnitEpochs, o *outlook, now time.Time) studyPace {
	since := window(h, now)
	start := now.UnixNano() // the first start of a unit running or finished in the window
	stored := map[sweeps.UnitID]store.StudyUnit{}
	for _, u := range units {
		stored[u.ID] = u
		if (u.State == "running" && !stale(h, u, epochs) || u.Finished >= since) && u.Started > 0 {
			start = min(start, u.Started)
		}
	}
	start = max(start, since)
	perRow, known := workPerRow(h, points, units)
	rows, rowsKnown := trainRows(h)
	scored := scoring(h)
	var done, flops float64 // work of the window: as weighed, and of the configurations whose FLOPs are known
	var cores float64       // the core-seconds the steps of those FLOPs' epochs took
	threads := true         // every unit of those epochs recorded its threads
	var left [3]float64     // least, expected, most
	perConfig := map[string]float64{}
	finals := map[string]float64{} // a configuration's final scorings, its folds together
	for _, pu := range plan {
		train := rows(pu.ID.Fold) * perRow[pu.ID.Key] // an epoch's training
		eval, final := scored(pu)
		w := train + eval // an epoch's
		perConfig[pu.ID.Key] += w
		finals[pu.ID.Key] += final
		e := epochs[pu.ID]
		done += float64(e.Recent) * w
		if known[pu.ID.Key] && rowsKnown && e.Recent > 0 {
			flops += float64(e.Recent) * train
			cores += e.Seconds * float64(e.Threads)
			threads = threads && e.Threads > 0
		}
		u, ok := stored[pu.ID]
		if ok && u.State == "done" && u.Finished >= since {
			done += final // scored at its end in the window
		}
		if ok && u.State != "running" {
			continue // done, failed or pruned
		}
		trained := float64(e.Trained)
		if ok && stale(h, u, epochs) {
			trained = 0
		}
		to := o.epochs(pu)
		for i := range left {
			left[i] += max(0, to[i]-trained)*w + final
		}
	}
	p := studyPace{forecast: ForecastExact}
	var f prune.Forecast
	if o != nil {
		work := make([]float64, len(o.Expect)) // an epoch of each configuration, its folds together
		for k, c := range o.config {
			work[c] = perConfig[k]
		}
		f = o.OfWork(work)
	}
	switch {
	case o == nil && (h.Started == 0 || h.Schedule.Pruner != nil): // stored before its pruner was, or not replayed
		p.forecast = ForecastAtMost
	case o != nil && f == prune.Bounded:
		p.forecast = ForecastAtMost
	case o != nil && f == prune.Expected:
		p.forecast = ForecastExpected
	}
	if s := h.Schedule; s.Trials > len(points) && len(perConfig) > 0 {
		mean, final := 0.0, 0.0 // a configuration's epoch and final scorings, its folds together
		for k, w := range perConfig {
			mean, final = mean+w, final+finals[k]
		}
		mean /= float64(len(perConfig))
		final /= float64(len(perConfig))
		future := prune.Future(s.Pruner, h.Epochs, s.Trials-len(points), s.Batch)
		for i := range left {
			left[i] += future[i]*mean + float64(s.Trials-len(points))*final
		}
		if p.forecast == ForecastExact {
			p.forecast = ForecastExpected
		}
	}
	elapsed := time.Duration(now.UnixNano() - start)
	w := left[1]
	if p.forecast == ForecastAtMost {
		w = left[2]
	}
	if p.eta = sweeps.ETA(w, done, elapsed); p.eta == 0 {
		p.forecast = ""
	}
	if elapsed > 0 {
		p.gflops = flops / elapsed.Seconds() / 1e9
	}
	if threads && cores > 0 {
		p.perCore = flops / cores / 1e9
	}
	return p
}

// workPerRow is each configuration's training FLOPs per row: as its
// stored units recorded it (UnitResult.GFLOP over Samples), else by the
// data's shape the store recorded (sweeps.Schedule), else the mean of the
// configurations known (1 when none is: the ETA then weighs epochs × rows
// alone); known says which are FLOPs (for the rate), not the mean's
// stand-in.
func workPerRow(h sweeps.Header, points []study.Point, units []store.StudyUnit) (perRow map[string]float64, known map[string]bool) {
	m := map[string]float64{}
	if s := h.Schedule; s.Features > 0 && s.Classes > 0 {
		for _, pt := range points {
			m[pt.Params.Key()] = scheduler.TrainingFLOPsPerRow(pt.Params.Hidden(), s.Features, s.Classes)
		}
	}
	for _, u := range units {
		if r := u.Result; r.GFLOP > 0 && r.Samples > 0 {
			m[u.ID.Key] = r.GFLOP * 1e9 / float64(r.Samples)
		}
	}
	known = map[string]bool{}
	sum := 0.0
	for k, f := range m {
		sum += f
		known[k] = true
	}
	mean := 1.0
	if len(m) > 0 {
		mean = sum / float64(len(m))
	}
	for _, pt := range points {
		if _, ok := m[pt.Params.Key()]; !ok {
			m[pt.Params.Key()] = mean
		}
	}
	return m, known
}

// scoring is the held-out scoring work of a unit of study h
// (scheduler.ScoredWork, as the CLI counts it): after each of its epochs
// where the study scores each (sweeps.Schedule.EachEpoch), else once at
// its end (final). 0 when the store did not record the data's shape, or
// for a held-out split (a depth study), whose held-out rows it does not
// record.
func scoring(h sweeps.Header) func(pu sweeps.Unit) (perEpoch, final float64) {
	s := h.Schedule
	if s.Features <= 0 || s.Classes <= 0 || s.Rows < h.Folds || h.Folds < 2 || h.Split != sweeps.KFoldSplit(h.Folds, h.Seed) {
		return func(sweeps.Unit) (float64, float64) { return 0, 0 }
	}
	return func(pu sweeps.Unit) (float64, float64) {
		held := datasets.FoldSize(s.Rows, h.Folds, pu.ID.Fold)
		w, final := scheduler.ScoredWork(pu.Point.Params.Hidden(), s.Features, s.Classes, s.Rows-held, held, s.EachEpoch())
		return w.Eval, final
	}
}

// trainRows is the training rows of a unit of each fold of study h, from
// the rows its store recorded (sweeps.Schedule): scikit-learn's KFold
// sizes of a k-fold study, every row of a held-out split's (a depth
// study). Without them (a store written before), 1 for every fold, and ok
// false: the ETA then weighs units by their FLOPs per row alone, and the
// rate is not FLOPs.
func trainRows(h sweeps.Header) (rows func(fold int) float64, ok bool) {
	n := h.Schedule.Rows
	switch {
	case n >= h.Folds && h.Folds >= 2 && h.Split == sweeps.KFoldSplit(h.Folds, h.Seed):
		return func(fold int) float64 { return float64(n - datasets.FoldSize(n, h.Folds, fold)) }, true
	case n > 0 && h.Folds == 1:
		return func(int) float64 { return float64(n) }, true
	}
	return func(int) float64 { return 1 }, false
}

// outlook is a pruned study's outlook by configuration key.
type outlook struct {
	prune.Outlook
	config map[string]int // key → its index in Outlook
}

// epochs is how far unit pu trains when it stops (least, expected, most):
// its configuration's outlook, or its every epoch without one (o nil).
func (o *outlook) epochs(pu sweeps.Unit) [3]float64 {
	if o == nil {
		e := float64(pu.Point.Params.Epochs())
		return [3]float64{e, e, e}
	}
	c := o.config[pu.ID.Key]
	return [3]float64{float64(o.Least[c]), o.Expect[c], float64(o.Most[c])}
}

// replay replays study h's pruner, as its store records it, over the
// held-out scores of its units the store holds (the coordinator's
// report), takes back its decisions (prune.Run.Resume), as the queue's
// coordinator does on a restart, and decides the rungs those scores
// complete (but asha's, which depend on the order configurations
// arrived), as the run will; it returns the outlook, or nil when the
// store did not record a pruner, or its decisions do not fit the scores
// and units (a unit trained again since, or stored pruned where no
// decision stopped it): the ETA then counts each live unit to its last
// epoch. A sampled study's configurations are in batches
// of its Schedule's size, in the order proposed, each judged apart.
func replay(ctx context.Context, st store.Store, h sweeps.Header, points []study.Point, plan []sweeps.Unit, units []store.StudyUnit) (*outlook, error) {
	p := h.Schedule.Pruner
	if p == nil {
		return nil, nil
	}
	state := map[sweeps.UnitID]string{}
	for _, u := range units {
		state[u.ID] = u.State
	}
	o := &outlook{config: map[string]int{}}
	var keys []string
	byKey := map[string][]sweeps.Unit{}
	for _, pu := range plan {
		k := pu.ID.Key
		if _, ok := o.config[k]; !ok {
			o.config[k] = len(keys)
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], pu)
	}
	var batch map[string]int // a sampler's batch of each configuration: its first proposal's
	if b := h.Schedule.Batch; h.Schedule.Trials > 0 && b > 0 {
		batch = map[string]int{}
		for i, pt := range points {
			if _, ok := batch[pt.Params.Key()]; !ok {
				batch[pt.Params.Key()] = i / b
			}
		}
	}
	run, err := prune.New(*p, h.Epochs, keys, prune.Batches(keys, batch))
	if err != nil {
		return nil, nil
	}
	scores, err := st.EpochScores(ctx, h.Name)
	if err != nil {
		return nil, err
	}
	acc := prune.Accuracies(scores)
	for c, k := range keys {
		var curves [][]float64
		var stopped []bool
		for _, pu := range byKey[k] {
			a := acc[prune.FoldKey{Key: k, Fold: pu.ID.Fold}]
			s := state[pu.ID]
			curves, stopped = append(curves, a), append(stopped, (s == "done" || s == "failed") && len(a) < h.Epochs)
		}
		run.Report(c, prune.Scores(curves, stopped, h.Epochs))
	}
	ds, err := st.Decisions(ctx, h.Name)
	if err != nil {
		return nil, err
	}
	if run.Resume(ds) != nil {
		return nil, nil
	}
	if p.Kind != "asha" {
		run.Decide() // a rung complete but not decided yet, as the run will decide it (asha's depend on the order of arrival)
	}
	for c, k := range keys {
		if s, _ := run.State(c); s != prune.Pruned && slices.ContainsFunc(byKey[k], func(pu sweeps.Unit) bool { return state[pu.ID] == "pruned" }) {
			return nil, nil // stored pruned, yet the decisions go on: they do not fit
		}
	}
	o.Outlook = run.Outlook()
	return o, nil
}
