package study

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// samplerExample is what a sampler section looks like, for messages.
const samplerExample = "sampler: {kind: tpe, n: 64, params: {lr: {log_uniform: [1e-4, 0.1]}, batch: {choice: [32, 128]}}}"

// samplerSpec is the sampler: section: n configurations proposed by a
// model-based sampler (kind tpe) over the same per-key ranges as random:
// (its seed: sampler.seed, or the study seed), batch at a time (0: not
// given).
type samplerSpec struct {
	kind             string
	batch, batchLine int
	randomSpec
}

// Search is a study whose configurations a sampler proposes one batch at
// a time from the results so far (sampler: in the study file), instead of
// points listed in advance: its Study has no Points. Space says what the
// sampler draws; Point turns a draw into a configuration.
type Search struct {
	Sampler string // "tpe"
	N       int    // configurations (trials) to train
	Seed    int64  // the sampler's seed: sampler.seed, or the study seed
	// Batch is how many configurations are proposed at a time, each batch
	// from the results of those before (sampler.batch; with a pruner,
	// default η², each batch a successive-halving study of its own); 0:
	// the caller's choice (a local sweep's --workers).
	Batch int
	Space []tpe.Param // a parameter per sampled key, in file order; Choice values are indices into the key's choices

	params []randomParam
	base   engine.Config
}

// parseSampler reads sampler: {kind, n, seed, params}; seed is -1 when
// not given. A bare `sampler: tpe` lacks the trials and ranges: an error.
func (p *parser) parseSampler(n *node) (*samplerSpec, int64) {
	if n.kind == scalarNode {
		if n.text == "tpe" {
			p.errorf(n.line, "sampler", "tpe alone does not say how many configurations to train nor where to search: write %s", samplerExample)
		} else {
			p.errorf(n.line, "sampler", "unknown sampler %s (want a mapping such as %s)", n.describe(), samplerExample)
		}
		return nil, -1
	}
	var kind string
	kindGiven := false
	batch, batchLine := 0, n.line
	r, seed, ok := p.parseDraws(n, "sampler", func(kv pair) bool {
		if kv.key.text == "batch" {
			batch, batchLine = p.intIn(kv.value, keyPath("sampler", "batch"), 1, 1<<20), kv.value.line
			return true
		}
		if kv.key.text != "kind" {
			return false
		}
		kindGiven = true
		path := keyPath("sampler", "kind")
		if kind = p.text(kv.value, path); kind != "" && kind != "tpe" {
			p.errorf(kv.value.line, path, "unknown sampler kind %q (want tpe; for configurations sampled at random use random:)", kind)
		}
		return true
	})
	if ok && !kindGiven {
		p.errorf(n.line, "sampler", "missing kind (want tpe)")
	}
	return &samplerSpec{kind: kind, batch: batch, batchLine: batchLine, randomSpec: *r}, seed
}

// expandSampler makes the study's Search from the sampler section.
func (e *expander) expandSampler(base engine.Config) {
	sp := e.spec.sampler
	if sp == nil {
		return
	}
	s := &Search{Sampler: sp.kind, N: sp.n, Seed: sp.seed, Batch: sp.batch, params: sp.params, base: base}
	for _, rp := range sp.params {
		p := tpe.Param{Name: rp.key, Low: rp.lo, High: rp.hi}
		switch rp.dist {
		case "choice":
			p.Kind, p.Choices = tpe.Choice, len(rp.choices)
		case "uniform":
			p.Kind = tpe.Uniform
		case "log_uniform":
			p.Kind = tpe.LogUniform
		case "int":
			p.Kind = tpe.Int
		}
		s.Space = append(s.Space, p)
	}
	e.study.Search = s
}

// Point is the configuration the sampler's draw x (a value per Space
// parameter) stands for, labelled "lr=0.001234, batch=64" on axis "tpe",
// and x as the configuration has it: reals kept to 4 significant digits,
// as random: draws them, within their range. An error says the draw does
// not make a valid configuration (a key's value out of its range).
func (s *Search) Point(x []float64) (Point, []float64, error) {
	if len(x) != len(s.Space) {
		return Point{}, nil, fmt.Errorf("search: %d values for %d parameters", len(x), len(s.Space))
	}
	cfg := s.base
	cfg.Hidden = append([]int(nil), cfg.Hidden...)
	kept := make([]float64, len(x))
	parts := make([]string, len(x))
	for d, rp := range s.params {
		p := s.Space[d]
		v := x[d]
		if p.Kind == tpe.Choice {
			i := int(v)
			if v != math.Trunc(v) || i < 0 || i >= len(rp.choices) {
				return Point{}, nil, fmt.Errorf("search: %s: no choice %v", rp.key, v)
			}
			if err := setField(&cfg, rp.key, rp.choices[i]); err != nil {
				return Point{}, nil, fmt.Errorf("search: %s: %w", rp.key, err)
			}
			kept[d], parts[d] = v, rp.key+"="+rp.choices[i].text
			continue
		}
		if p.Kind != tpe.Int {
			v = roundSample(v)
		}
		v = min(max(v, p.Low), p.High)
		if err := setConfigNumber(&cfg, rp.key, v); err != nil {
			return Point{}, nil, fmt.Errorf("search: %s: %w", rp.key, err)
		}
		kept[d], parts[d] = v, rp.key+"="+strconv.FormatFloat(v, 'g', -1, 64)
	}
	value := strings.Join(parts, ", ")
	n, err := NewParams(cfg)
	if err != nil {
		return Point{}, nil, fmt.Errorf("search: %s: %w", value, err)
	}
	return Point{Axis: "tpe", Value: value, Params: n}, kept, nil
}

// X is the inverse of Point: the values of the Space parameters in pt's
// configuration; false when pt is not a configuration of this search (a
// key outside its range, a value none of its choices, another base).
func (s *Search) X(pt Point) ([]float64, bool) {
	cfg := pt.Params.Config(0)
	x := make([]float64, len(s.Space))
	for d, rp := range s.params {
		f, err := configField(&cfg, rp.key)
		if err != nil {
			return nil, false
		}
		if s.Space[d].Kind == tpe.Choice {
			x[d] = -1
			for j, v := range rp.choices {
				var c engine.Config
				if setField(&c, rp.key, v) != nil {
					return nil, false
				}
				if g, _ := configField(&c, rp.key); reflect.DeepEqual(g.Interface(), f.Interface()) {
					x[d] = float64(j)
					break
				}
			}
			if x[d] < 0 {
				return nil, false
			}
			continue
		}
		switch f.Kind() {
		case reflect.Float64:
			x[d] = f.Float()
		case reflect.Int, reflect.Int64:
			x[d] = float64(f.Int())
		default:
			return nil, false
		}
		if x[d] < s.Space[d].Low || x[d] > s.Space[d].High {
			return nil, false
		}
	}
	back, _, err := s.Point(x)
	return x, err == nil && back.Params.Key() == pt.Params.Key()
}
