package study

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Pruner says how a study stops configurations early: the study file's
// `pruner: {kind: sha, eta: 3, min_epochs: 1}` (or `pruner: sha` with the
// defaults). The study's epochs are the most any configuration trains.
// A configuration's score at an epoch is its held-out accuracy's mean over
// its folds (sweeps/prune decides; sweeps/scheduler trains). Its JSON, with
// the file's keys, is how a store records it (sweeps.Schedule).
type Pruner struct {
	// Kind is "sha" (synchronous successive halving: a rung decides when
	// every configuration reached it; the same decisions for any worker
	// count), "asha" (asynchronous: a configuration goes on as soon as it
	// is in the top 1/η of those that reached its rung so far),
	// "hyperband" (brackets of successive halving with different first
	// rungs) or "median" (stop a configuration whose score falls below the
	// median of the fully trained ones at the same epoch).
	Kind string `json:"kind"`
	// Eta is the reduction factor η ≥ 2: rung k ends at MinEpochs·η^k
	// epochs and keeps the top 1/η of the configurations (sha, asha,
	// hyperband). Default 3.
	Eta int `json:"eta"`
	// MinEpochs is the first rung's epochs (sha, asha; hyperband's most
	// aggressive bracket), or the median pruner's warm-up: the epochs
	// before it judges. Default 1.
	MinEpochs int `json:"min_epochs"`
	// Brackets is hyperband's number of brackets (default every one:
	// ⌊log_η(epochs/MinEpochs)⌋ + 1); configurations are dealt to them in
	// study order.
	Brackets int `json:"brackets,omitempty"`
	// Startup is the median pruner's number of configurations (the first
	// in study order) trained fully before it judges the others. Default 5.
	Startup int `json:"startup,omitempty"`
}

// PrunerKinds are the pruners a study file may name.
var PrunerKinds = []string{"sha", "asha", "hyperband", "median"}

// Defaults of a pruner's keys.
const (
	DefaultEta       = 3
	DefaultMinEpochs = 1
	DefaultStartup   = 5
)

// prunerSpec is the pruner: section as read, with its lines.
type prunerSpec struct {
	Pruner
	line, etaLine, minLine int
}

// parsePruner reads `pruner: KIND` or `pruner: {kind, eta, min_epochs,
// brackets, startup}`.
func (p *parser) parsePruner(n *node) *prunerSpec {
	ps := &prunerSpec{Pruner: Pruner{Eta: DefaultEta, MinEpochs: DefaultMinEpochs, Startup: DefaultStartup}, line: n.line, etaLine: n.line, minLine: n.line}
	kind := func(v *node) {
		k := p.text(v, "pruner.kind")
		if k != "" && !slices.Contains(PrunerKinds, k) {
			p.errorf(v.line, "pruner.kind", "unknown pruner %q (want %s)", k, strings.Join(PrunerKinds, ", "))
		}
		ps.Kind = k
	}
	if n.kind == scalarNode {
		kind(n)
		return ps
	}
	entries, ok := p.pairs(n, "pruner")
	for _, kv := range entries {
		k, v, path := kv.key.text, kv.value, keyPath("pruner", kv.key.text)
		switch k {
		case "kind":
			kind(v)
		case "eta":
			// Below 2 is refused when the study is checked, with its reason.
			ps.Eta, ps.etaLine = p.intIn(v, path, math.MinInt32, math.MaxInt32), v.line
		case "min_epochs":
			ps.MinEpochs, ps.minLine = p.intIn(v, path, 1, 1<<30), v.line
		case "brackets":
			ps.Brackets = p.intIn(v, path, 1, 64)
		case "startup":
			ps.Startup = p.intIn(v, path, 1, 1<<20)
		default:
			p.errorf(kv.key.line, path, "%s", unknownKey("key", k, []string{"kind", "eta", "min_epochs", "brackets", "startup"}))
		}
	}
	if ok && ps.Kind == "" {
		p.errorf(n.line, "pruner", "missing kind (want %s)", strings.Join(PrunerKinds, ", "))
	}
	return ps
}

// checkPruner checks a pruner against the expanded study: a search over
// configurations that all train the study's epochs.
func (e *expander) checkPruner(ps *prunerSpec) {
	s := e.study
	epochs := s.Base.Epochs()
	switch {
	case ps.Eta < 2:
		e.errorf(ps.etaLine, "pruner.eta", "η = %d: the reduction factor must be at least 2 (each rung keeps the top 1/η)", ps.Eta)
	case ps.MinEpochs > epochs:
		e.errorf(ps.minLine, "pruner.min_epochs", "%d is above the study's %d epochs: the first rung must end within them", ps.MinEpochs, epochs)
	case e.spec.sampler != nil && ps.Kind != "sha" && ps.Kind != "hyperband":
		e.errorf(ps.line, "pruner", "a sampler proposes batches of configurations, each pruned as a study of its own by synchronous successive halving: use kind sha or hyperband (%s judges across the whole study, which a batch does not see)", ps.Kind)
	case e.spec.sampler != nil:
		e.checkSampledPruner(ps)
	case len(e.spec.axes) > 0:
		e.errorf(ps.line, "pruner", "a pruner compares the configurations of one search space (grid or random); an axes study shows every value of each axis, so none may stop early: use grid or random")
	case s.Configurations() < 2:
		e.errorf(ps.line, "pruner", "the study has one configuration: nothing to compare it with (add grid or random)")
	}
	for _, pt := range s.Points {
		if pt.Params.Epochs() != epochs {
			e.errorf(ps.line, "pruner", "configuration %s trains %d epochs, the study %d: with a pruner every configuration trains the study's epochs (its maximum resource); set epochs at the top level only", pt.Value, pt.Params.Epochs(), epochs)
			break
		}
	}
	p := ps.Pruner
	s.Pruner = &p
}

// checkSampledPruner checks a pruner beside a sampler and sets the
// sampler's batch: η² by default (a first rung of η² configurations keeps
// η, the next one), at least 2 (one configuration has nothing to be
// compared with), and at most the trials.
func (e *expander) checkSampledPruner(ps *prunerSpec) {
	sp, s := e.spec.sampler, e.study.Search
	if sp.batch == 0 {
		s.Batch = min(ps.Eta*ps.Eta, s.N)
	}
	switch {
	case s.N < 2:
		e.errorf(sp.nLine, "sampler.n", "one configuration has nothing to be compared with: a pruner needs n ≥ 2")
	case s.Batch < 2:
		e.errorf(sp.batchLine, "sampler.batch", "a batch of one configuration has nothing to be compared with: with a pruner a batch is at least 2 (default η² = %d)", ps.Eta*ps.Eta)
	}
}

// CheckPruner checks the study's pruner after its epochs changed
// (SetEpochs: the command line's --epochs).
func (s *Study) CheckPruner() error {
	if s.Pruner == nil {
		return nil
	}
	if e := s.Base.Epochs(); s.Pruner.MinEpochs > e {
		return fmt.Errorf("study %s: pruner.min_epochs %d is above the study's %d epochs: the first rung must end within them (train at least %d epochs, or lower min_epochs)", s.Name, s.Pruner.MinEpochs, e, s.Pruner.MinEpochs)
	}
	return nil
}
