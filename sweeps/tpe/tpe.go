// Package tpe is the Tree-structured Parzen Estimator sampler (Bergstra et
// al. 2011; Watanabe 2023) with Optuna's semantics: the first
// n_startup_trials (10) points are drawn at random; after that the
// finished trials are split into the best γ(n) = min(⌈0.1·n⌉, 25) ("below")
// and the rest ("above"), a Parzen estimator l is fitted to each (below)
// and g (above), 24 candidates are drawn from l, and the one with the
// largest log l(x) − log g(x) is proposed. The estimator is multivariate
// (one mixture of product kernels over all parameters, Optuna 5's default)
// unless Options.Independent.
//
// The kernels are Optuna 5's (choices, ints, log scales, the prior, the
// neighbour-gap bandwidths, the magic clip) with one default changed: the
// prior weight (Optuna's prior_weight) is 3, not 1; PriorWeight: 1 is
// Optuna 5 exactly. The prior weight p is also what each choice kernel
// gives every other choice (p/M beside the observed choice's 1, M
// kernels). With p = 1, a kernel of l after 100 trials gives another of 4
// choices 0.067, and as a multivariate candidate's choice comes with its
// kernel's reals, the search rarely leaves the choices of its first good
// trials: on a mixed choice/real test function Optuna 5's median regret
// is 8.5 times Optuna 3.1's. With p = 3 it is at most 0.8 times Optuna
// 3.1's there and on four other test functions (bench/NOTES.md, "TPE
// against Optuna 3.1: the default", has the figures and what else was
// tried).
//
// Trials that are still running count as pending with the worst value
// (the constant liar, on by default from Optuna 5): they go into "above",
// so workers that propose while others train do not all pick the same
// point. Pruned trials inform the sampler at the highest step (rung) they
// reached: after the complete trials, the deepest pruned ones fill "below".
//
// Proposals are deterministic: the proposal numbered t (the t-th trial of
// the study, counting from 0) draws from a PCG seeded by (Options.Seed, t)
// and depends only on the trials before it, so Propose(trials, k) equals k
// calls proposing one point each, each point added as running before the
// next.
package tpe

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Kind is the distribution a parameter is drawn from.
type Kind int

// The parameter kinds, as the study language's random: block names them.
const (
	Choice     Kind = iota // one of Choices values; a point holds the index
	Uniform                // a real in [Low, High]
	LogUniform             // a real in [Low, High], 0 < Low, uniform in log space
	Int                    // an integer in [Low, High]
)

// String is the study language's name of the kind.
func (k Kind) String() string {
	switch k {
	case Choice:
		return "choice"
	case Uniform:
		return "uniform"
	case LogUniform:
		return "log_uniform"
	case Int:
		return "int"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Param is one dimension of the search space.
type Param struct {
	Name      string
	Kind      Kind
	Low, High float64 // Uniform, LogUniform, Int: the inclusive range
	Choices   int     // Choice: how many values (≥ 1)
}

func (p Param) check() error {
	switch p.Kind {
	case Choice:
		if p.Choices < 1 {
			return fmt.Errorf("param %s: choice needs at least one value", p.Name)
		}
		return nil
	case Uniform, LogUniform, Int:
	default:
		return fmt.Errorf("param %s: unknown kind %d", p.Name, int(p.Kind))
	}
	switch {
	case math.IsNaN(p.Low) || math.IsNaN(p.High) || math.IsInf(p.Low, 0) || math.IsInf(p.High, 0):
		return fmt.Errorf("param %s: bounds must be finite", p.Name)
	case p.Low > p.High || p.Kind != Int && p.Low == p.High:
		return fmt.Errorf("param %s: low %v must be below high %v", p.Name, p.Low, p.High)
	case p.Kind == LogUniform && p.Low <= 0:
		return fmt.Errorf("param %s: log_uniform needs low > 0", p.Name)
	case p.Kind == Int && (p.Low != math.Trunc(p.Low) || p.High != math.Trunc(p.High)):
		return fmt.Errorf("param %s: int bounds must be integers", p.Name)
	}
	return nil
}

// contains reports whether x is a value of p.
func (p Param) contains(x float64) bool {
	switch p.Kind {
	case Choice:
		return x == math.Trunc(x) && x >= 0 && x < float64(p.Choices)
	case Int:
		return x == math.Trunc(x) && x >= p.Low && x <= p.High
	}
	return x >= p.Low && x <= p.High
}

// State is where a trial stands.
type State int

// The trial states; Failed trials are ignored (they carry no value).
const (
	Complete State = iota // trained to the end: Value is final
	Pruned                // stopped early: Value is its score at Step
	Running               // proposed, not finished: counted as pending with the worst value
	Failed
)

// Trial is a proposed point and what became of it.
type Trial struct {
	X     []float64 // [D] a value per Param (Choice: the index)
	Value float64   // Complete: the objective; Pruned: the objective at Step; NaN counts as the worst
	Step  int       // Pruned: the highest step (rung, in epochs) it reached
	State State
}

// Options tune the sampler; the zero value is Optuna 5's default TPE with
// prior weight 3 (see the package comment), minimizing, seeded with 0.
type Options struct {
	Seed     uint64
	Maximize bool // the objective is better higher (accuracy)

	StartupTrials int // random points before the TPE takes over; 0 means 10
	EICandidates  int // candidates drawn from l per proposal; 0 means 24
	// PriorWeight is the prior kernel's weight beside each observation's
	// (1), and the choice kernels' smoothing; 0 means 3 (Optuna's
	// default, and Optuna 5 exactly, is 1; see the package comment).
	PriorWeight float64

	Independent       bool // one estimator per parameter (Optuna ≤ 4's default) instead of one over all
	Bandwidth         Bandwidth
	ConsiderEndpoints bool // the range's ends count as neighbours for the outermost kernels' σ
	NoMagicClip       bool // do not keep σ ≥ range/min(100, 1+kernels)
	NoConstantLiar    bool // ignore running trials
}

// Bandwidth is the rule for the real and int kernels' widths.
type Bandwidth int

const (
	// Neighbours: each kernel's σ is the larger gap to its sorted
	// neighbours (Optuna 5, and Optuna's independent TPE since 1.x).
	Neighbours Bandwidth = iota
	// Scott: every observation's kernel has σ = 0.2 · N^(−1/(D+4)) · range
	// (Scott's rule as BOHB uses it; Optuna 3.5 to 4.9's
	// multivariate=True), clipped as Neighbours' are. Wider than the
	// gaps once observations cluster, so it keeps exploring: on a mixed
	// choice/real space it finds the best choice far more often, on the
	// 6-d Hartmann less closely (bench/NOTES.md, "TPE against Optuna").
	Scott
)

// Sampler proposes points of a search space.
type Sampler struct {
	space []Param
	opt   Options
}

// New checks the space and fills in the defaults.
func New(space []Param, opt Options) (*Sampler, error) {
	if len(space) == 0 {
		return nil, errors.New("tpe: empty search space")
	}
	for _, p := range space {
		if err := p.check(); err != nil {
			return nil, fmt.Errorf("tpe: %w", err)
		}
	}
	if opt.StartupTrials == 0 {
		opt.StartupTrials = 10
	}
	if opt.EICandidates == 0 {
		opt.EICandidates = 24
	}
	if opt.PriorWeight == 0 {
		opt.PriorWeight = 3
	}
	if opt.StartupTrials < 0 || opt.EICandidates < 0 || opt.PriorWeight < 0 || math.IsNaN(opt.PriorWeight) {
		return nil, errors.New("tpe: negative option")
	}
	if opt.Bandwidth != Neighbours && opt.Bandwidth != Scott {
		return nil, fmt.Errorf("tpe: unknown bandwidth rule %d", int(opt.Bandwidth))
	}
	return &Sampler{space: slices.Clone(space), opt: opt}, nil
}

// gamma is how many of n finished trials form "below": min(⌈0.1·n⌉, 25).
func gamma(n int) int { return min((n+9)/10, 25) }

// weights are the observations' weights for n trials in trial order:
// equal up to 25, else a ramp from 1/n up for all but the last 25.
func weights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	if n > 25 { // numpy's linspace(1/n, 1, n-25)
		m := n - 25
		for i := range m {
			if m == 1 {
				w[i] = 1 / float64(n)
				continue
			}
			w[i] = 1/float64(n) + (1-1/float64(n))*float64(i)/float64(m-1)
		}
	}
	return w
}

// Propose returns k new points (each [D]) after trials, the study's trials
// in order. Point j is the study's trial len(trials)+j and is proposed as
// though points 0..j-1 were running, so a batch proposed for k workers is
// the same as proposing one point at a time while the earlier ones run.
func (s *Sampler) Propose(trials []Trial, k int) ([][]float64, error) {
	if k < 0 {
		return nil, fmt.Errorf("tpe: %d points asked for", k)
	}
	if err := s.checkTrials(trials); err != nil {
		return nil, err
	}
	all := slices.Clone(trials)
	out := make([][]float64, 0, k)
	for range k {
		x := s.proposeOne(all)
		out = append(out, x)
		all = append(all, Trial{X: x, State: Running})
	}
	return out, nil
}

func (s *Sampler) checkTrials(trials []Trial) error {
	for t, tr := range trials {
		if tr.State < Complete || tr.State > Failed {
			return fmt.Errorf("tpe: trial %d: unknown state %d", t, tr.State)
		}
		if tr.State == Failed {
			continue
		}
		if len(tr.X) != len(s.space) {
			return fmt.Errorf("tpe: trial %d has %d values for %d parameters", t, len(tr.X), len(s.space))
		}
		for d, x := range tr.X {
			if !s.space[d].contains(x) {
				return fmt.Errorf("tpe: trial %d: %v is not a value of %s %s", t, x, s.space[d].Kind, s.space[d].Name)
			}
		}
	}
	return nil
}

// rngFor is trial t's random stream.
func (s *Sampler) rngFor(t int) *rand.Rand {
	return rand.New(rand.NewPCG(s.opt.Seed, uint64(t)*0x9e3779b97f4a7c15^0x7470652d73616d70)) // "tpe-samp"
}

// proposeOne proposes trial len(trials).
func (s *Sampler) proposeOne(trials []Trial) []float64 {
	rng := s.rngFor(len(trials))
	finished := 0
	for _, t := range trials {
		if t.State == Complete || t.State == Pruned {
			finished++
		}
	}
	x := make([]float64, len(s.space))
	if finished < s.opt.StartupTrials {
		for d, p := range s.space {
			x[d] = randomValue(p, rng)
		}
		return x
	}
	below, above := s.split(trials, gamma(finished))
	if s.opt.Independent {
		for d := range s.space {
			x[d] = s.choose(rng, []int{d}, below, above)[0]
		}
		return x
	}
	dims := make([]int, len(s.space))
	for d := range dims {
		dims[d] = d
	}
	return s.choose(rng, dims, below, above)
}

// randomValue draws uniformly from p's range (log-uniformly for LogUniform).
func randomValue(p Param, rng *rand.Rand) float64 {
	switch p.Kind {
	case Choice:
		return float64(rng.IntN(p.Choices))
	case Int:
		return p.Low + float64(rng.Int64N(int64(p.High-p.Low)+1))
	case LogUniform:
		lo, hi := math.Log(p.Low), math.Log(p.High)
		return min(max(math.Exp(lo+(hi-lo)*rng.Float64()), p.Low), p.High)
	}
	return p.Low + (p.High-p.Low)*rng.Float64()
}

// choose fits l and g over the parameters dims, draws the candidates from
// l and returns the one (values of dims) with the largest log l − log g;
// the first of equals.
func (s *Sampler) choose(rng *rand.Rand, dims []int, below, above []Trial) []float64 {
	params := make([]Param, len(dims))
	for i, d := range dims {
		params[i] = s.space[d]
	}
	l := newParzen(params, observations(below, params, dims), weights(len(below)), &s.opt)
	g := newParzen(params, observations(above, params, dims), weights(len(above)), &s.opt)
	var best []float64
	bestScore := math.Inf(-1)
	for range s.opt.EICandidates {
		x := make([]float64, len(dims))
		l.sample(rng, x)
		if score := l.logPDF(x) - g.logPDF(x); best == nil || score > bestScore {
			best, bestScore = x, score
		}
	}
	if best == nil { // no candidates asked for: a draw from l
		best = make([]float64, len(dims))
		l.sample(rng, best)
	}
	return best
}

// observations are the trials' values of dims in internal space ([N][len(dims)]).
func observations(trials []Trial, params []Param, dims []int) [][]float64 {
	obs := make([][]float64, len(trials))
	for i, t := range trials {
		obs[i] = make([]float64, len(dims))
		for j, d := range dims {
			obs[i][j] = params[j].internal(t.X[d])
		}
	}
	return obs
}

// loss is a trial's value to minimize: NaN is the worst.
func (s *Sampler) loss(t Trial) float64 {
	v := t.Value
	if s.opt.Maximize {
		v = -v
	}
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}

// split puts the nBelow best finished trials in below and the others, with
// the running ones (the constant liar), in above, each in trial order.
// Complete trials rank by value; pruned ones come after them, the deepest
// first and by value at that step among equals.
func (s *Sampler) split(trials []Trial, nBelow int) (below, above []Trial) {
	var complete, pruned []int
	isBelow := make([]bool, len(trials))
	for i, t := range trials {
		switch t.State {
		case Complete:
			complete = append(complete, i)
		case Pruned:
			pruned = append(pruned, i)
		}
	}
	slices.SortStableFunc(complete, func(a, b int) int { return cmp.Compare(s.loss(trials[a]), s.loss(trials[b])) })
	slices.SortStableFunc(pruned, func(a, b int) int {
		if sa, sb := trials[a].Step, trials[b].Step; sa != sb {
			return sb - sa
		}
		return cmp.Compare(s.loss(trials[a]), s.loss(trials[b]))
	})
	for _, i := range append(complete, pruned...) {
		if nBelow == 0 {
			break
		}
		isBelow[i] = true
		nBelow--
	}
	for i, t := range trials {
		switch {
		case isBelow[i]:
			below = append(below, t)
		case t.State == Complete || t.State == Pruned || t.State == Running && !s.opt.NoConstantLiar:
			above = append(above, t)
		}
	}
	return below, above
}
