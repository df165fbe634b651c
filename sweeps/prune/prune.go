// Package prune decides which configurations of a study stop early: the
// pruners of the study language (study.Pruner): synchronous successive
// halving, its asynchronous form (ASHA), hyperband and the median rule
// (Li et al., "A System for Massively Parallel Hyperparameter Tuning",
// MLSys 2020; Optuna's SuccessiveHalvingPruner, HyperbandPruner and
// MedianPruner). It only decides; sweeps/scheduler trains.
//
// A Run works in stages. Targets says how far each configuration trains
// next; the caller trains them there and Reports each configuration's
// score at the epochs reached (the mean over its folds of the held-out
// accuracy); Decide then judges every configuration whose rung is
// complete, and the next stage begins. Synchronous successive halving and
// hyperband decide a rung only when every configuration of it has reached
// it, in study order, so the decisions do not depend on how many workers
// trained them or in which order they finished. A sampled study's
// configurations come in batches (New's batch): each batch is a study of
// its own for sha and hyperband, its rungs judging only its own
// configurations, so a batch's decisions never change when later batches
// join. ASHA judges each
// configuration against those that reached its rung before it (Report
// order), and the median rule against the configurations trained fully.
package prune

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Rungs returns the epochs at which successive halving with reduction
// factor eta and first rung first decides, below epochs: first,
// first·η, first·η², … (the configurations left train to epochs then).
func Rungs(eta, first, epochs int) []int {
	var rungs []int
	for r := first; r < epochs; r *= eta {
		rungs = append(rungs, r)
	}
	return rungs
}

// Brackets is hyperband's default number of brackets for a study of
// epochs epochs: one for each first rung first·η^s ≤ epochs.
func Brackets(eta, first, epochs int) int {
	b := 0
	for r := first; r <= epochs; r *= eta {
		b++
	}
	return b
}

// State is where a configuration stands.
type State int

const (
	Live   State = iota // training, or waiting for its rung's decision
	Pruned              // stopped at a rung
	Done                // trained every epoch
)

// Run is one study's pruning: its configurations (by index, in study
// order), how far each trained and the decisions made.
type Run struct {
	p       study.Pruner
	epochs  int      // the study's: the most a configuration trains
	keys    []string // [n] the configurations' keys
	batch   []int    // [n] the batch of each (a sampler's proposals); all 0 without
	bracket []int    // [n] hyperband's bracket of each within its batch; 0 for the others
	rungs   [][]int  // [brackets] the rung epochs of each bracket
	state   []State  // [n]
	reached []int    // [n] epochs whose scores are reported (the configuration trained that far)
	scores  [][]float64
	arrived [][]int // ASHA: per rung, the configurations that reached it, in Report order

	decisions []sweeps.Decision
}

// New starts the pruning of the configurations keys (distinct, in study
// order) of a study of epochs epochs with pruner p (checked by the study
// language: η ≥ 2, MinEpochs ≤ epochs). batch, when not nil, is the batch
// of each configuration (non-decreasing from 0: a sampler's proposals),
// each judged apart by sha and hyperband; asha and median judge across
// the whole study and take no batches.
func New(p study.Pruner, epochs int, keys []string, batch []int) (*Run, error) {
	if p.Eta < 2 || p.MinEpochs < 1 || p.MinEpochs > epochs {
		return nil, fmt.Errorf("pruner %s: η = %d, min_epochs %d of %d epochs: want η ≥ 2 and 1 ≤ min_epochs ≤ epochs", p.Kind, p.Eta, p.MinEpochs, epochs)
	}
	n := len(keys)
	if batch == nil {
		batch = make([]int, n)
	}
	switch {
	case len(batch) != n:
		return nil, fmt.Errorf("pruner %s: %d batch numbers for %d configurations", p.Kind, len(batch), n)
	case n > 0 && (batch[0] != 0 || !slices.IsSorted(batch)):
		return nil, fmt.Errorf("pruner %s: batches must number the configurations in order from 0", p.Kind)
	case n > 0 && batch[n-1] > 0 && p.Kind != "sha" && p.Kind != "hyperband":
		return nil, fmt.Errorf("pruner %s judges across the whole study: it takes no batches (sha or hyperband do)", p.Kind)
	}
	r := &Run{p: p, epochs: epochs, keys: keys, batch: batch, bracket: make([]int, n), state: make([]State, n), reached: make([]int, n), scores: make([][]float64, n)}
	for c := range r.scores {
		r.scores[c] = make([]float64, epochs+1) // [epoch], 1-based
	}
	switch p.Kind {
	case "sha", "asha":
		r.rungs = [][]int{Rungs(p.Eta, p.MinEpochs, epochs)}
	case "hyperband":
		b := p.Brackets
		if all := Brackets(p.Eta, p.MinEpochs, epochs); b == 0 || b > all {
			b = all
		}
		first := p.MinEpochs
		for range b {
			r.rungs = append(r.rungs, Rungs(p.Eta, first, epochs))
			first *= p.Eta
		}
		start := 0 // the first configuration of c's batch
		for c := range n {
			if batch[c] != batch[start] {
				start = c
			}
			r.bracket[c] = (c - start) % b
		}
	case "median":
		var rungs []int // every epoch from the warm-up on
		for e := p.MinEpochs; e < epochs; e++ {
			rungs = append(rungs, e)
		}
		r.rungs = [][]int{rungs}
	default:
		return nil, fmt.Errorf("unknown pruner %q", p.Kind)
	}
	r.arrived = make([][]int, len(r.rungs[0]))
	return r, nil
}

// Batches is New's batch argument for the configurations keys from a
// sampled study's batch of each configuration by key (nil, one batch:
// nil).
func Batches(keys []string, byKey map[string]int) []int {
	if byKey == nil {
		return nil
	}
	batch := make([]int, len(keys))
	for c, k := range keys {
		batch[c] = byKey[k]
	}
	return batch
}

// startup reports whether configuration c is one the median rule trains
// fully before judging the others.
func (r *Run) startup(c int) bool { return r.p.Kind == "median" && c < r.p.Startup }

// Targets returns, for each configuration, the epoch to train it to in
// the next stage, or 0 when it trains no further now (pruned, done, or
// waiting for others); nil when every configuration is decided.
func (r *Run) Targets() []int {
	t := make([]int, len(r.keys))
	train, waiting := false, false
	for c, s := range r.state {
		if s != Live {
			continue
		}
		switch {
		case r.p.Kind == "median" && !r.startup(c) && !r.startupDone():
			waiting = true
			continue // judged against the startup configurations' curves
		case r.startup(c):
			t[c] = r.epochs
		default:
			t[c] = r.next(c)
		}
		if t[c] > r.reached[c] {
			train = true
		} else {
			t[c] = 0
		}
	}
	if !train && !waiting {
		return nil
	}
	return t
}

// next is the epoch live configuration c trains to next: its bracket's
// first rung it has no decision at yet, or the study's epochs.
func (r *Run) next(c int) int {
	for _, e := range r.rungs[r.bracket[c]] {
		if !r.decided(c, e) {
			return e
		}
	}
	return r.epochs
}

// startupDone reports whether the median rule's startup configurations
// are all done (or pruned: they never are).
func (r *Run) startupDone() bool {
	for c := range min(r.p.Startup, len(r.keys)) {
		if r.state[c] == Live {
			return false
		}
	}
	return true
}

// Report records configuration c's score at epochs 1 … len(scores) (the
// mean over its folds of the held-out accuracy; NaN, for a fold that
// diverged or did not score, counts as −Inf): it trained that far.
func (r *Run) Report(c int, scores []float64) {
	for e, s := range scores {
		if math.IsNaN(s) {
			s = math.Inf(-1)
		}
		r.scores[c][e+1] = s
	}
	from := r.reached[c]
	r.reached[c] = max(r.reached[c], len(scores))
	if r.reached[c] >= r.epochs && r.state[c] == Live {
		r.state[c] = Done
	}
	if r.p.Kind == "asha" { // arrivals at each rung passed, in Report order
		for k, e := range r.rungs[0] {
			if from < e && e <= r.reached[c] {
				r.arrived[k] = append(r.arrived[k], c)
			}
		}
	}
}

// Decide judges the configurations whose rung the reported scores
// complete, records the decisions and returns them (in the order made).
// A configuration promoted goes on to its next target; one not promoted
// is Pruned at the rung's epoch.
func (r *Run) Decide() []sweeps.Decision {
	start := len(r.decisions)
	switch r.p.Kind {
	case "sha", "hyperband":
		for g := range r.batches() {
			for b, rungs := range r.rungs {
				for k, e := range rungs {
					r.decideRung(g, b, k, e)
				}
			}
		}
	case "asha":
		for k, e := range r.rungs[0] {
			r.decideArrivals(k, e)
		}
	case "median":
		if r.startupDone() {
			for k, e := range r.rungs[0] {
				r.decideMedian(k, e)
			}
		}
	}
	return r.decisions[start:]
}

// decided reports whether configuration c has a decision at epoch e.
func (r *Run) decided(c, e int) bool {
	return slices.ContainsFunc(r.decisions, func(d sweeps.Decision) bool { return d.Key == r.keys[c] && d.Epoch == e })
}

func (r *Run) decide(c, bracket, rung, epoch int, cutoff float64, promoted bool) {
	r.decisions = append(r.decisions, sweeps.Decision{Key: r.keys[c], Bracket: bracket, Rung: rung, Epoch: epoch,
		Score: r.scores[c][epoch], Cutoff: cutoff, Promoted: promoted, Order: len(r.decisions)})
	if !promoted {
		r.state[c] = Pruned
	}
}

// batches is how many batches the configurations come in.
func (r *Run) batches() int {
	if len(r.batch) == 0 {
		return 0
	}
	return r.batch[len(r.batch)-1] + 1
}

// decideRung is synchronous successive halving's rung k (at epoch e) of
// bracket b of batch g: once every configuration of the bracket not
// pruned reached it, the top ⌊n/η⌋ (at least one) go on, ties to the
// first in study order. Configurations trained past e already (found in
// the store) are judged at e like the others.
func (r *Run) decideRung(g, b, k, e int) {
	var at []int
	for c := range r.keys {
		if r.batch[c] != g || r.bracket[c] != b || r.state[c] == Pruned || r.decided(c, e) {
			continue
		}
		if r.reached[c] < e {
			return // the rung is not complete
		}
		at = append(at, c)
	}
	if len(at) == 0 {
		return
	}
	ranked := slices.Clone(at)
	slices.SortStableFunc(ranked, func(x, y int) int { return cmp.Compare(r.scores[y][e], r.scores[x][e]) })
	keep := max(1, len(at)/r.p.Eta)
	cutoff := r.scores[ranked[keep-1]][e]
	promoted := map[int]bool{}
	for _, c := range ranked[:keep] {
		promoted[c] = true
	}
	for _, c := range at {
		r.decide(c, b, k, e, cutoff, promoted[c])
	}
}

// decideArrivals is ASHA at rung k (epoch e): each configuration, in the
// order it arrived, goes on when its score is at least the ⌊m/η⌋-th best
// (at least the best) of the m that reached the rung up to it, as
// Optuna's SuccessiveHalvingPruner does.
func (r *Run) decideArrivals(k, e int) {
	for i, c := range r.arrived[k] {
		if r.decided(c, e) || r.state[c] == Pruned {
			continue
		}
		so := make([]float64, 0, i+1)
		for _, d := range r.arrived[k][:i+1] {
			so = append(so, r.scores[d][e])
		}
		slices.SortFunc(so, func(x, y float64) int { return cmp.Compare(y, x) })
		cutoff := so[max(1, len(so)/r.p.Eta)-1]
		r.decide(c, 0, k, e, cutoff, r.scores[c][e] >= cutoff)
	}
}

// decideMedian is the median rule at epoch e: a configuration (not a
// startup one) whose score is below the median of the startup
// configurations' scores there stops.
func (r *Run) decideMedian(k, e int) {
	var ref []float64
	for c := range min(r.p.Startup, len(r.keys)) {
		if r.reached[c] >= e {
			ref = append(ref, r.scores[c][e])
		}
	}
	if len(ref) == 0 {
		return
	}
	slices.Sort(ref)
	median := ref[len(ref)/2]
	if len(ref)%2 == 0 {
		median = (ref[len(ref)/2-1] + ref[len(ref)/2]) / 2
	}
	for c := range r.keys {
		if r.startup(c) || r.state[c] == Pruned || r.reached[c] < e || r.decided(c, e) {
			continue
		}
		r.decide(c, 0, k, e, median, r.scores[c][e] >= median)
	}
}

// Resume takes ds, the decisions an earlier Run of the same study made
// (its Decisions, read back from the store), as this Run's, in their
// order, instead of deciding those rungs again: ASHA's decisions depend
// on the order in which configurations reached a rung, which a process
// started again does not know, and a configuration it stopped may have
// lost its training state since. Call it after Reporting what the store
// holds and before the first Decide; every decision's configuration must
// have been reported to its epoch. The configurations that reached an
// ASHA rung without a decision there (arrived while no process decided)
// are judged by the next Decide after all those decided, as they came
// later. Its error says the decisions do not fit the study and what to
// do (the caller names the study): the local scheduler's ASHA and the
// queue's coordinator both take decisions back through it.
func (r *Run) Resume(ds []sweeps.Decision) error {
	if err := r.resume(ds); err != nil {
		return fmt.Errorf("the store's decisions do not fit the study (changed since they were made? run it under another name): %w", err)
	}
	return nil
}

func (r *Run) resume(ds []sweeps.Decision) error {
	if len(r.decisions) > 0 {
		return fmt.Errorf("pruner %s: resuming after deciding", r.p.Kind)
	}
	index := make(map[string]int, len(r.keys))
	for c, k := range r.keys {
		index[k] = c
	}
	rung := map[int]int{} // ASHA: epoch → rung
	for k, e := range r.rungs[0] {
		rung[e] = k
	}
	var decided [][]int // ASHA: per rung, the configurations decided there, in order
	if r.p.Kind == "asha" {
		decided = make([][]int, len(r.arrived))
	}
	for i, d := range ds {
		c, ok := index[d.Key]
		switch {
		case !ok:
			return fmt.Errorf("pruner %s: decision %d is on configuration %s, not one of the study's", r.p.Kind, i, d.Key)
		case r.reached[c] < d.Epoch:
			return fmt.Errorf("pruner %s: decision %d is on configuration %s at epoch %d, which has scores to epoch %d only", r.p.Kind, i, d.Key, d.Epoch, r.reached[c])
		case r.state[c] == Pruned || r.decided(c, d.Epoch):
			return fmt.Errorf("pruner %s: decision %d on configuration %s at epoch %d comes after its last", r.p.Kind, i, d.Key, d.Epoch)
		}
		d.Order = len(r.decisions)
		r.decisions = append(r.decisions, d)
		if !d.Promoted {
			r.state[c] = Pruned
		}
		if decided != nil {
			k, ok := rung[d.Epoch]
			if !ok {
				return fmt.Errorf("pruner asha: decision %d on configuration %s at epoch %d, not a rung's (%v)", i, d.Key, d.Epoch, r.rungs[0])
			}
			decided[k] = append(decided[k], c)
		}
	}
	for k, cs := range decided { // decided first, in order; the others after, in theirs
		rest := slices.DeleteFunc(slices.Clone(r.arrived[k]), func(c int) bool { return slices.Contains(cs, c) })
		r.arrived[k] = append(cs, rest...)
	}
	return nil
}

// State returns configuration c's state and the epochs it trained.
func (r *Run) State(c int) (State, int) { return r.state[c], r.reached[c] }

// Decisions returns every decision made so far, in order.
func (r *Run) Decisions() []sweeps.Decision { return r.decisions }
