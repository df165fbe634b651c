package study

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mlpsweep/mlpsweep/engine"
)

// randomSpec is a study's `random:` section: n distinct configurations
// sampled from per-key distributions.
type randomSpec struct {
	n      int
	nNode  *yaml.Node
	seed   int64
	params []randomParam
}

// randomParam is one sampled key: {choice: [...]}, {uniform: [lo, hi]},
// {log_uniform: [lo, hi]} or {int: [lo, hi]}.
type randomParam struct {
	key     string
	dist    string
	choices []*yaml.Node
	lo, hi  float64
}

// sampleDigits is the precision of sampled real values: 0.0012345678 is
// drawn as 0.001235, which reads well and still almost never repeats.
const sampleDigits = 4

func (p *parser) parseRandom(n *yaml.Node) *randomSpec {
	r := &randomSpec{seed: -1}
	for _, kv := range p.pairs(n, "random") {
		k, v, path := kv.key.Value, kv.value, keyPath("random", kv.key.Value)
		switch k {
		case "n":
			r.n, r.nNode = p.intIn(v, path, 1, 1<<20), v
		case "seed":
			r.seed = int64(p.intIn(v, path, 0, math.MaxInt32))
		case "params":
			for _, pv := range p.pairs(v, path) {
				if rp, ok := p.parseParam(pv, keyPath(path, pv.key.Value)); ok {
					r.params = append(r.params, rp)
				}
			}
			if len(v.Content) == 0 {
				p.errorf(v, path, "no parameters to sample")
			}
		default:
			p.errorf(kv.key, path, "unknown key (want n, seed, params)")
		}
	}
	if r.n == 0 {
		p.errorf(n, "random", "missing n, the number of configurations to sample")
	}
	return r
}

func (p *parser) parseParam(kv pair, path string) (randomParam, bool) {
	rp := randomParam{key: kv.key.Value}
	if err := checkConfigKey(rp.key); err != nil {
		p.errorf(kv.key, path, "%v", err)
		return rp, false
	}
	spec := p.pairs(kv.value, path)
	if len(spec) != 1 {
		if kv.value.Kind == yaml.MappingNode {
			p.errorf(kv.value, path, "want exactly one of choice, uniform, log_uniform, int")
		}
		return rp, false
	}
	rp.dist = spec[0].key.Value
	args, at := spec[0].value, keyPath(path, rp.dist)
	errs := len(p.errs)
	switch rp.dist {
	case "choice":
		p.checkValues(args, at, []string{rp.key})
		rp.choices = args.Content
	case "uniform", "log_uniform", "int":
		integer := rp.dist == "int"
		if integer && !isIntField(rp.key) || !integer && !isFloatField(rp.key) {
			p.errorf(spec[0].key, at, "%s cannot be sampled from %s (use choice)", rp.key, rp.dist)
			return rp, false
		}
		if args.Kind != yaml.SequenceNode || len(args.Content) != 2 ||
			args.Content[0].Decode(&rp.lo) != nil || args.Content[1].Decode(&rp.hi) != nil {
			p.errorf(args, at, "want [low, high], got %s", describeNode(args))
			return rp, false
		}
		switch {
		case math.IsNaN(rp.lo) || math.IsNaN(rp.hi) || math.IsInf(rp.lo, 0) || math.IsInf(rp.hi, 0):
			p.errorf(args, at, "bounds must be finite")
		case integer && (rp.lo != math.Trunc(rp.lo) || rp.hi != math.Trunc(rp.hi)):
			p.errorf(args, at, "int bounds must be integers")
		case rp.lo > rp.hi || !integer && rp.lo == rp.hi:
			p.errorf(args, at, "low %v must be below high %v", rp.lo, rp.hi)
		case rp.dist == "log_uniform" && rp.lo <= 0:
			p.errorf(args, at, "log_uniform needs low > 0")
		}
	default:
		p.errorf(spec[0].key, path, "unknown distribution %q (want choice, uniform, log_uniform, int)", rp.dist)
	}
	return rp, len(p.errs) == errs
}

// expand builds every configuration of the study from the parsed sections.
func (p *parser) expand() {
	var base engine.Config
	for _, kv := range p.base {
		setConfigField(&base, kv.key.Value, kv.value) // checked by configPairs
	}
	if p.epochs != nil {
		for _, kv := range p.base {
			if kv.key.Value == "epochs" {
				p.errorf(kv.key, "base.epochs", "epochs is also set at the top level (line %d); keep one", p.epochs.Line)
			}
		}
		p.epochs.Decode(&base.Epochs)
	}
	normalized, err := NewParams(base)
	if err != nil {
		at := p.baseNode
		if at == nil {
			at = &yaml.Node{Line: 1}
		}
		p.errorf(at, "base", "%v", err)
		return
	}
	p.study.Base = normalized

	for _, a := range p.axes {
		for i, v := range a.values {
			cfg := base
			for _, kv := range a.set {
				setConfigField(&cfg, kv.key.Value, kv.value)
			}
			for _, key := range a.keys {
				setConfigField(&cfg, key, v)
			}
			p.add(a.name, valueText(v), cfg, v, fmt.Sprintf("%s.values[%d]", a.path, i))
		}
	}
	p.expandGrid(base)
	p.expandRandom(base)
	if len(p.study.Points) == 0 && len(p.errs) == 0 {
		p.add("base", "base", base, p.baseNode, "base")
	}
}

// add appends cfg as a point, or records why it does not normalize.
func (p *parser) add(axis, value string, cfg engine.Config, at *yaml.Node, path string) {
	n, err := NewParams(cfg)
	if err != nil {
		if at == nil {
			at = &yaml.Node{Line: 1}
		}
		p.errorf(at, path, "%s = %s: %v", axis, value, err)
		return
	}
	p.study.Points = append(p.study.Points, Point{Axis: axis, Value: value, Params: n})
}

// expandGrid adds the cartesian product of the grid's lists, in file order
// with the last key varying fastest.
func (p *parser) expandGrid(base engine.Config) {
	if len(p.grid) == 0 {
		return
	}
	index := make([]int, len(p.grid))
	for {
		cfg := base
		parts := make([]string, len(p.grid))
		for i, kv := range p.grid {
			v := kv.value.Content[index[i]]
			setConfigField(&cfg, kv.key.Value, v)
			parts[i] = kv.key.Value + "=" + valueText(v)
		}
		p.add("grid", strings.Join(parts, ", "), cfg, p.gridNode, "grid")
		i := len(index) - 1
		for ; i >= 0; i-- {
			if index[i]++; index[i] < len(p.grid[i].value.Content) {
				break
			}
			index[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

// expandRandom adds n distinct sampled configurations, drawn in a fixed
// order from a PCG seeded with random.seed (default: the study seed), so the
// same file always yields the same samples.
func (p *parser) expandRandom(base engine.Config) {
	r := p.random
	if r == nil {
		return
	}
	seed := r.seed
	if seed < 0 {
		seed = p.study.Seed
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d6c7073776565)) // "mlpswee"
	seen := map[string]bool{}
	for _, pt := range p.study.Points {
		if pt.Axis == "random" {
			seen[pt.Params.Key()] = true
		}
	}
	for draws, found := 0, 0; found < r.n; draws++ {
		if draws == 100*r.n+1000 {
			p.errorf(r.nNode, "random.n", "found only %d distinct configurations in %d draws (want %d): widen the ranges or lower n", found, draws, r.n)
			return
		}
		cfg := base
		parts := make([]string, len(r.params))
		for i, rp := range r.params {
			parts[i] = rp.key + "=" + rp.draw(rng, &cfg)
		}
		value := strings.Join(parts, ", ")
		n, err := NewParams(cfg)
		if err != nil {
			p.errorf(p.randomNode, "random.params", "sample %s: %v", value, err)
			return
		}
		if !seen[n.Key()] {
			seen[n.Key()] = true
			found++
			p.study.Points = append(p.study.Points, Point{Axis: "random", Value: value, Params: n})
		}
	}
}

// draw sets rp's key of cfg to a sampled value and returns it as text.
func (rp randomParam) draw(rng *rand.Rand, cfg *engine.Config) string {
	var x float64
	switch rp.dist {
	case "choice":
		v := rp.choices[rng.IntN(len(rp.choices))]
		setConfigField(cfg, rp.key, v)
		return valueText(v)
	case "int":
		x = rp.lo + float64(rng.Int64N(int64(rp.hi-rp.lo)+1))
	case "uniform":
		x = roundSample(rp.lo + (rp.hi-rp.lo)*rng.Float64())
	case "log_uniform":
		lo, hi := math.Log(rp.lo), math.Log(rp.hi)
		x = roundSample(math.Exp(lo + (hi-lo)*rng.Float64()))
	}
	setConfigNumber(cfg, rp.key, x)
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// round keeps sampleDigits significant digits.
func roundSample(x float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', sampleDigits, 64), 64)
	return r
}
