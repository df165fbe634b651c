package prune

import (
	"math"
	"strconv"

	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Forecast says how well an Outlook knows the epochs left.
type Forecast int

const (
	// Schedule: every configuration trains every epoch (no pruner), or
	// sha's and hyperband's rung schedule fixes how many configurations
	// reach each rung (⌊n/η⌋ of n, at least one), so the epochs of all
	// configurations together are known (but for divergences); which
	// ones go on is not, so each live configuration's Expect is the mean.
	Schedule Forecast = iota
	// Expected: ASHA promotes as configurations arrive, so how many go on
	// depends on the order they arrive in; Expect is the expectation when
	// every order is equally likely (the i-th arrival at a rung goes on
	// with probability max(1, ⌊i/η⌋)/i), given the decisions so far.
	Expected
	// Bounded: the median rule stops a configuration when its score falls
	// below the startup configurations' median, which nothing predicts;
	// only Least and Most are known, and Expect is Most.
	Bounded
)

// Outlook is how far each configuration of a Run will have trained when
// it stops (its epochs so far included), as far as the pruner's rules and
// the decisions so far tell: the work a study has left, for its ETA.
type Outlook struct {
	Forecast    Forecast
	Expect      []float64 // [n] expected epochs (see Forecast)
	Least, Most []int     // [n] bounds: it stops at its next rung at the earliest, at the study's epochs at the latest
}

// OfWork is how o knows the work left when an epoch of configuration c
// weighs work[c]: Schedule fixes how many configurations go on at each
// rung, not which, so when configurations still in the running (Least <
// Most) differ in work, the work left at Expect is an expectation (each
// at the mean of their sizes), Expected, not Schedule: a run whose small
// networks go on trains less than a start's forecast said.
func (o Outlook) OfWork(work []float64) Forecast {
	if o.Forecast != Schedule {
		return o.Forecast
	}
	live := -1
	for c := range o.Expect {
		if o.Least[c] == o.Most[c] {
			continue
		}
		if live >= 0 && work[c] != work[live] {
			return Expected
		}
		live = c
	}
	return Schedule
}

// Outlook returns the run's outlook after the decisions made so far.
func (r *Run) Outlook() Outlook {
	n := len(r.keys)
	o := Outlook{Expect: make([]float64, n), Least: make([]int, n), Most: make([]int, n)}
	switch r.p.Kind {
	case "asha":
		o.Forecast = Expected
	case "median":
		o.Forecast = Bounded
	}
	// The decisions so far, per batch, bracket and rung epoch.
	type rung struct{ batch, bracket, epoch int }
	index := make(map[string]int, n)
	for c, k := range r.keys {
		index[k] = c
	}
	judged, promoted := map[rung]int{}, map[rung]int{}
	decided := map[[2]int]bool{} // configuration, epoch
	for _, d := range r.decisions {
		c := index[d.Key]
		at := rung{r.batch[c], r.bracket[c], d.Epoch}
		judged[at]++
		if d.Promoted {
			promoted[at]++
		}
		decided[[2]int{c, d.Epoch}] = true
	}
	// go on [batch, bracket][k]: the chance that a configuration not yet
	// judged at rung k goes on. Every configuration of a bracket reaches
	// its first rung; of those that reach rung k, P_k go on: ⌊N_k/η⌋ (at
	// least one) for sha and hyperband, the expected promotions of the
	// arrivals still to come for ASHA.
	goOn := map[[2]int][]float64{}
	if o.Forecast != Bounded {
		size := map[[2]int]int{}
		for c := range n {
			size[[2]int{r.batch[c], r.bracket[c]}]++
		}
		eta := float64(r.p.Eta)
		for gb, m := range size {
			rungs := r.rungs[gb[1]]
			q := make([]float64, len(rungs))
			arrive := float64(m) // N_k
			for k, e := range rungs {
				at := rung{gb[0], gb[1], e}
				judgedSoFar, goneOn := float64(judged[at]), float64(promoted[at])
				var p float64 // P_k
				switch {
				case o.Forecast == Expected:
					p = goneOn + ashaPromotions(eta, judgedSoFar, arrive)
				case judged[at] > 0: // decided (a synchronous rung decides all at once)
					p = goneOn
				case arrive >= 1:
					p = max(1, math.Floor(arrive/eta))
				}
				switch {
				case arrive-judgedSoFar > 0:
					q[k] = (p - goneOn) / (arrive - judgedSoFar)
				case o.Forecast == Expected: // more arrived than expected: the next one's chance
					q[k] = ashaChance(eta, judgedSoFar+1)
				}
				arrive = p
			}
			goOn[gb] = q
		}
	}
	for c := range n {
		reached := r.reached[c]
		if r.state[c] != Live {
			o.Expect[c], o.Least[c], o.Most[c] = float64(reached), reached, reached
			continue
		}
		o.Most[c] = max(reached, r.epochs)
		if r.startup(c) {
			o.Expect[c], o.Least[c] = float64(o.Most[c]), o.Most[c]
			continue
		}
		// Its next rung (k of rungs), the first without its decision.
		rungs := r.rungs[r.bracket[c]]
		k := 0
		for k < len(rungs) && decided[[2]int{c, rungs[k]}] {
			k++
		}
		if k == len(rungs) {
			o.Expect[c], o.Least[c] = float64(o.Most[c]), o.Most[c]
			continue
		}
		o.Least[c] = max(reached, rungs[k])
		if o.Forecast == Bounded {
			o.Expect[c] = float64(o.Most[c])
			continue
		}
		// It reaches rung k, then each next one with the chances of
		// going on at the rungs before.
		q := goOn[[2]int{r.batch[c], r.bracket[c]}]
		x, p := float64(rungs[k]), 1.0
		for j := k; j < len(rungs); j++ {
			next := r.epochs
			if j+1 < len(rungs) {
				next = rungs[j+1]
			}
			p *= q[j]
			x += p * float64(next-rungs[j])
		}
		o.Expect[c] = max(x, float64(reached))
	}
	return o
}

// ashaChance is the probability that the i-th configuration (from 1) to
// reach a rung of ASHA with reduction factor eta goes on, when every
// arrival order is equally likely: it must rank among the best
// max(1, ⌊i/η⌋) of the first i (decideArrivals).
func ashaChance(eta, i float64) float64 {
	return max(1, math.Floor(i/eta)) / i
}

// ashaPromotions is the expected number of promotions among the arrivals
// after the first from (those already judged) up to to (a mean: the last
// one counts in part).
func ashaPromotions(eta, from, to float64) float64 {
	sum := 0.0
	for i := from + 1; i < to+1; i++ {
		sum += ashaChance(eta, i) * min(1, to-i+1)
	}
	return sum
}

// Future is how many epochs (least, expected, most; summed) the left
// configurations of a sampled study of epochs epochs that its sampler has
// not proposed yet will train: proposed batch at a time, each batch
// judged apart by pruner p as a Run of its own of which nothing is known
// yet (its Outlook); every epoch without a pruner (p nil).
func Future(p *study.Pruner, epochs, left, batch int) [3]float64 {
	var e [3]float64
	if p != nil {
		if _, err := New(*p, epochs, nil, nil); err != nil {
			p = nil // checked with the study: without it, every epoch
		}
	}
	if p == nil {
		for i := range e {
			e[i] = float64(left * epochs)
		}
		return e
	}
	batch = max(batch, 1)
	for left > 0 {
		n := min(left, batch)
		left -= n
		keys := make([]string, n)
		for i := range keys {
			keys[i] = strconv.Itoa(i)
		}
		run, _ := New(*p, epochs, keys, nil)
		o := run.Outlook()
		for c := range n {
			e[0], e[1], e[2] = e[0]+float64(o.Least[c]), e[1]+o.Expect[c], e[2]+float64(o.Most[c])
		}
	}
	return e
}
