package study

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/words"
)

// sampleDigits is the precision of sampled real values: 0.0012345678 is
// drawn as 0.001235, which reads well and still almost never repeats.
const sampleDigits = 4

// expander builds a study's points from its spec, collecting the
// configurations that do not normalize.
type expander struct {
	spec  *spec
	study *Study
	errs  []error
}

// expand turns a spec into a study: the base, then one point per axis value,
// grid combination or random sample, or the Search a sampler proposes the
// points of (a study has one of these; without any, its one point is the
// base).
func expand(s *spec) (*Study, []error) {
	e := &expander{spec: s, study: &Study{Name: s.name, Data: s.data, Folds: s.folds, Seed: s.seed, Metric: s.metric, Refit: s.refit, Fuse: s.fuse}}
	var base engine.Config
	e.setAll(&base, s.base)
	if s.epochs != 0 {
		base.Epochs = s.epochs
	}
	normalized, err := NewParams(base)
	if err != nil {
		e.errorf(s.baseLine, "base", "%v", err)
		return nil, e.errs
	}
	e.study.Base = normalized
	if !e.checkCount() {
		return nil, e.errs
	}

	for i, a := range s.axes {
		first := map[string]int{} // configuration key → the first value of this axis that gives it
		for j, v := range a.values {
			cfg := base
			e.setAll(&cfg, a.set)
			for _, key := range a.keys {
				e.set(&cfg, setting{key, v})
			}
			path := fmt.Sprintf("axes[%d].values[%d]", i, j)
			if n, ok := e.add(a.name, v.text, cfg, v.line, path); ok {
				why := ""
				for _, key := range a.keys {
					why = cmp.Or(why, noEffect(key, cfg, n))
				}
				k, dup := first[n.Key()]
				switch {
				case why != "": // the more precise message
					e.errorf(v.line, path, "%s = %s: %s", a.name, v.text, why)
				case dup:
					e.errorf(v.line, path, "%s = %s: %s", a.name, v.text, sameAs(a.name+" = "+a.values[k].text))
				default:
					first[n.Key()] = j
				}
			}
		}
	}
	e.expandGrid(base)
	e.expandRandom(base)
	e.expandSampler(base)
	if len(s.axes) == 0 && len(s.grid) == 0 && s.random == nil && s.sampler == nil {
		e.add("base", "base", base, s.baseLine, "base")
	}
	e.checkBaseSwitches(base)
	if s.pruner != nil && len(e.errs) == 0 {
		e.checkPruner(s.pruner)
	}
	if len(e.errs) > 0 {
		return nil, e.errs
	}
	if n := distinctConfigurations(e.study.Points); n*s.folds > MaxUnits {
		e.errorf(s.baseLine, "folds", "%d configurations × %d folds = %d trainings, over the limit of %d", n, s.folds, n*s.folds, MaxUnits)
		return nil, e.errs
	}
	return e.study, nil
}

// distinctConfigurations counts the configurations of points, each once
// however many axes show it.
func distinctConfigurations(points []Point) int {
	keys := map[string]bool{}
	for _, pt := range points {
		keys[pt.Params.Key()] = true
	}
	return len(keys)
}

// checkCount refuses, before anything is expanded, a study whose axes,
// grid or random search would make over MaxConfigurations points: a
// grid's product is computed without overflow, stopping at the limit.
func (e *expander) checkCount() bool {
	s := e.spec
	values := 0
	for _, a := range s.axes {
		values += len(a.values)
	}
	if values > MaxConfigurations {
		e.errorf(s.baseLine, "axes", "the axes list %d values, over the limit of %d configurations", values, MaxConfigurations)
	}
	product := 1
	for _, g := range s.grid {
		product *= len(g.values) // ≤ MaxConfigurations × len(values): no overflow
		if product > MaxConfigurations {
			e.errorf(s.gridLine, "grid", "the grid has over %d combinations (the limit): vary fewer keys or fewer values, or sample with random", MaxConfigurations)
			break
		}
	}
	if s.random != nil && s.random.n > MaxConfigurations {
		e.errorf(s.random.nLine, "random.n", "%d samples, over the limit of %d configurations", s.random.n, MaxConfigurations)
	}
	return len(e.errs) == 0
}

func (e *expander) errorf(line int, key, format string, a ...any) {
	e.errs = appendError(e.errs, &StudyError{e.spec.file, line, key, fmt.Sprintf(format, a...)})
}

// set applies one setting to cfg; the parser checked the value against its
// key, so a failure is a bug, reported like any problem.
func (e *expander) set(cfg *engine.Config, s setting) {
	if err := setField(cfg, s.key, s.value); err != nil {
		e.errorf(s.value.line, s.key, "%v", err)
	}
}

func (e *expander) setAll(cfg *engine.Config, settings []setting) {
	for _, s := range settings {
		e.set(cfg, s)
	}
}

// add appends cfg as a point, or records why it does not normalize.
func (e *expander) add(axis, value string, cfg engine.Config, line int, path string) (Params, bool) {
	n, err := NewParams(cfg)
	if err != nil {
		e.errorf(line, path, "%s = %s: %v", axis, value, err)
		return Params{}, false
	}
	e.study.Points = append(e.study.Points, Point{Axis: axis, Value: value, Params: n})
	return n, true
}

// switches are the keys that may be set and change nothing (noEffect).
var switches = []string{"residual", "batch_norm", "nesterov", "activity_undivided"}

// noEffect says why switch key, set on cfg, changes nothing in its
// normalized form n, or "": residual and batch_norm, which
// engine.Config.Normalize clears so that equal networks are equal
// configurations, and the switches it keeps but n does not use
// (engine.Normalized.Idle: nesterov with momentum 0). A study that sets
// such a switch would show residual=true beside residual=false, with the
// same numbers, as if skip connections made no difference.
func noEffect(key string, cfg engine.Config, n Params) string {
	for _, i := range n.cfg.Idle(func(k string) string { return k }) {
		if i.Key == key {
			return key + ": true " + i.Why
		}
	}
	c := n.Config(0)
	switch {
	case key == "residual" && cfg.Residual && !c.Residual:
		return fmt.Sprintf("residual: true changes nothing for hidden [%s]: a skip connection joins two hidden layers of equal width in a row (e.g. [128, 128]); give such widths, or leave residual out", words.Ints(c.Hidden, ", "))
	case key == "batch_norm" && cfg.BatchNorm && !c.BatchNorm:
		return "batch_norm: true changes nothing without a hidden layer; give hidden widths, or leave batch_norm out"
	}
	return ""
}

// checkBaseSwitches refuses a switch the base sets that no configuration
// keeps (every one clears it, see noEffect), unless the axes, grid or
// sampled keys vary it themselves. Of nesterov and activity_undivided,
// which Keras takes without effect too and which are part of every
// stored configuration's key (a study changed to drop them would not
// find its stored units), it makes a note instead.
func (e *expander) checkBaseSwitches(base engine.Config) {
	varied := map[string]bool{}
	for _, a := range e.spec.axes {
		for _, k := range a.keys {
			varied[k] = true
		}
		for _, st := range a.set {
			varied[st.key] = true
		}
	}
	for _, g := range e.spec.grid {
		varied[g.key] = true
	}
	if r := e.spec.random; r != nil { // a sampler's study has no points: not checked
		for _, rp := range r.params {
			varied[rp.key] = true
		}
	}
	for _, key := range switches {
		if varied[key] || len(e.study.Points) == 0 {
			continue
		}
		why := ""
		for _, pt := range e.study.Points {
			if why = noEffect(key, base, pt.Params); why == "" {
				break
			}
		}
		switch {
		case why != "" && (key == "residual" || key == "batch_norm"):
			e.errorf(e.spec.baseLine, "base."+key, "%s", why)
		case why != "":
			e.study.Notes = append(e.study.Notes, (&StudyError{e.spec.file, e.spec.baseLine, "base." + key, why}).Error())
		}
	}
}

// expandGrid adds the cartesian product of the grid's lists, in file order
// with the last key varying fastest. A problem that many combinations share
// (a value out of range fails every combination with it) is reported once,
// at the line of the value it names, with how many more combinations it
// fails.
func (e *expander) expandGrid(base engine.Config) {
	grid := e.spec.grid
	if len(grid) == 0 {
		return
	}
	// each grid value that sets a switch (switches): whether
	// a combination with it kept it, and why it did not
	type switchValue struct {
		kept bool
		why  string
	}
	switched := map[[2]int]*switchValue{}
	type problem struct {
		line       int
		path, what string
		more       int // further combinations with the same problem
	}
	var problems []*problem
	seen := map[string]*problem{} // by the engine's message
	var keys []string             // each combination's configuration key, "" when it failed, in order
	index := make([]int, len(grid))
	for more := true; more; {
		cfg := base
		parts := make([]string, len(grid))
		for i, g := range grid {
			v := g.values[index[i]]
			e.set(&cfg, setting{g.key, v})
			parts[i] = g.key + "=" + v.text
		}
		value := strings.Join(parts, ", ")
		n, err := NewParams(cfg)
		keys = append(keys, n.Key())
		switch {
		case err == nil:
			e.study.Points = append(e.study.Points, Point{Axis: "grid", Value: value, Params: n})
			for i, g := range grid {
				if slices.Contains(switches, g.key) {
					sw := switched[[2]int{i, index[i]}]
					if sw == nil {
						sw = &switchValue{}
						switched[[2]int{i, index[i]}] = sw
					}
					why := noEffect(g.key, cfg, n)
					sw.kept = sw.kept || why == ""
					sw.why = cmp.Or(sw.why, why)
				}
			}
		case seen[err.Error()] != nil:
			seen[err.Error()].more++
		default:
			p := &problem{line: e.spec.gridLine, path: "grid", what: fmt.Sprintf("grid = %s: %v", value, err)}
			for i, g := range grid { // the engine's message names its field first: "lr: -1 is not …"
				if strings.HasPrefix(err.Error(), g.key+":") {
					p.line, p.path = g.values[index[i]].line, fmt.Sprintf("grid.%s[%d]", g.key, index[i])
				}
			}
			seen[err.Error()] = p
			problems = append(problems, p)
		}
		more = false
		for i := len(index) - 1; i >= 0 && !more; i-- {
			if index[i]++; index[i] < len(grid[i].values) {
				more = true
			} else {
				index[i] = 0
			}
		}
	}
	e.sameGridValues(keys)
	for i, g := range grid {
		for j, v := range g.values {
			if sw := switched[[2]int{i, j}]; sw != nil && !sw.kept && sw.why != "" {
				e.errorf(v.line, fmt.Sprintf("grid.%s[%d]", g.key, j), "%s in every combination", sw.why)
			}
		}
	}
	for _, p := range problems {
		switch {
		case p.more == 1:
			p.what += " (and 1 more combination with it)"
		case p.more > 1:
			p.what += fmt.Sprintf(" (and %d more combinations with it)", p.more)
		}
		e.errorf(p.line, p.path, "%s", p.what)
	}
}

// sameAs is the message for a value that gives the same configuration as
// another value: the tables would show both, with the same numbers.
func sameAs(other string) string {
	return "the same configuration as " + other + " once defaults and names are filled in (lr 0 is the optimizer's default lr, HeNormal is he_normal, 128 is [128]): drop one"
}

// sameGridValues refuses a grid value that gives, in every combination,
// the configurations an earlier value of its key gives (keys: each
// combination's configuration key in expansion order, "" for one that
// failed).
func (e *expander) sameGridValues(keys []string) {
	grid := e.spec.grid
	stride := 1 // combinations between two values of key i: the last key varies fastest
	for i := len(grid) - 1; i >= 0; i-- {
		n := len(grid[i].values)
		if slices.Contains(switches, grid[i].key) {
			stride *= n // a switch that changes nothing has its own message
			continue
		}
		// a value's signature: the configurations of its combinations, in order
		sigs := make([]strings.Builder, n)
		failed := make([]bool, n)
		for c, key := range keys {
			v := c / stride % n
			sigs[v].WriteString(key)
			failed[v] = failed[v] || key == ""
		}
		first := map[string]int{}
		for v := range n {
			sig := sigs[v].String()
			if k, dup := first[sig]; dup && !failed[v] {
				e.errorf(grid[i].values[v].line, fmt.Sprintf("grid.%s[%d]", grid[i].key, v), "%s=%s: %s, in every combination",
					grid[i].key, grid[i].values[v].text, sameAs(grid[i].key+"="+grid[i].values[k].text))
			} else if !dup {
				first[sig] = v
			}
		}
		stride *= n
	}
}

// expandRandom adds n distinct sampled configurations, drawn in a fixed
// order from a PCG seeded with random.seed (default: the study seed), so the
// same file always yields the same samples.
func (e *expander) expandRandom(base engine.Config) {
	r := e.spec.random
	if r == nil {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(r.seed), 0x6d6c7073776565)) // "mlpswee"
	seen := map[string]bool{}
	for draws, found := 0, 0; found < r.n; draws++ {
		if draws == 100*r.n+1000 {
			e.errorf(r.nLine, "random.n", "found only %d distinct configurations in %d draws (want %d): widen the ranges or lower n", found, draws, r.n)
			return
		}
		cfg := base
		parts := make([]string, len(r.params))
		for i, rp := range r.params {
			parts[i] = rp.key + "=" + e.draw(rp, rng, &cfg)
		}
		value := strings.Join(parts, ", ")
		n, err := NewParams(cfg)
		if err != nil {
			e.errorf(r.paramsLine, "random.params", "sample %s: %v", value, err)
			return
		}
		if !seen[n.Key()] {
			seen[n.Key()] = true
			found++
			e.study.Points = append(e.study.Points, Point{Axis: "random", Value: value, Params: n})
		}
	}
}

// draw sets rp's key of cfg to a sampled value and returns it as text.
func (e *expander) draw(rp randomParam, rng *rand.Rand, cfg *engine.Config) string {
	var x float64
	switch rp.dist {
	case "choice":
		v := rp.choices[rng.IntN(len(rp.choices))]
		e.set(cfg, setting{rp.key, v})
		return v.text
	case "int":
		x = rp.lo + float64(rng.Int64N(int64(rp.hi-rp.lo)+1))
	case "uniform":
		x = roundSample(rp.lo + (rp.hi-rp.lo)*rng.Float64())
	case "log_uniform":
		lo, hi := math.Log(rp.lo), math.Log(rp.hi)
		x = roundSample(math.Exp(lo + (hi-lo)*rng.Float64()))
	}
	if err := setConfigNumber(cfg, rp.key, x); err != nil {
		e.errorf(e.spec.random.paramsLine, "random.params."+rp.key, "%v", err)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// round keeps sampleDigits significant digits.
func roundSample(x float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', sampleDigits, 64), 64)
	return r
}
