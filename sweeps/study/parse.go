package study

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/internal/spell"

	"github.com/mlpsweep/mlpsweep/internal/safename"
)

// Defaults of the top-level keys: the seed study's cross-validation
// (scikit-learn KFold, 4 folds, shuffled with random_state 42).
const (
	defaultFolds = 4
	defaultSeed  = 42
)

// parser reads a study file's nodes into a spec, collecting every problem.
type parser struct {
	dir  string // relative data paths are taken from here
	spec spec
	errs []error
}

// parse reads a study file into a spec, or returns every problem found
// (*StudyError each).
func parse(src []byte, file string) (*spec, []error) {
	root, err := parseYAML(src, file)
	if err != nil {
		return nil, []error{err}
	}
	if root == nil || root.kind != mapNode {
		line := 1
		if root != nil {
			line = root.line
		}
		return nil, []error{&StudyError{file, line, "study", "want a mapping of keys (name, base, axes, …)"}}
	}
	p := &parser{dir: filepath.Dir(file), spec: spec{file: file, folds: defaultFolds, seed: defaultSeed, metric: "accuracy", fuse: true, baseLine: 1}}
	p.spec.data.Kind = "mnist"
	p.parse(root)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	if p.spec.name == "" {
		p.spec.name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		if err := safename.Check(p.spec.name); err != nil {
			return nil, []error{&StudyError{file, 1, "name", fmt.Sprintf("the study is named after its file, but %v: give a name: key", err)}}
		}
	}
	return &p.spec, nil
}

func (p *parser) errorf(line int, key, format string, a ...any) {
	p.errs = appendError(p.errs, &StudyError{p.spec.file, line, key, fmt.Sprintf(format, a...)})
}

// maxErrors bounds the problems reported for one file: a hostile one
// could otherwise have one per value, each with its message.
const maxErrors = 50

// appendError appends e to errs, or, past maxErrors problems, one last
// error saying that more were not shown.
func appendError(errs []error, e *StudyError) []error {
	switch {
	case len(errs) < maxErrors:
		return append(errs, e)
	case len(errs) == maxErrors:
		return append(errs, &StudyError{e.File, e.Line, e.Key, fmt.Sprintf("more problems after the first %d are not shown", maxErrors)})
	}
	return errs
}

// pairs returns the entries of mapping n, checking that no key repeats;
// ok is false (and an error recorded) when n is not a mapping.
func (p *parser) pairs(n *node, path string) (out []pair, ok bool) {
	if n.kind != mapNode {
		p.errorf(n.line, path, "want a mapping (key: value lines), got %s", n.describe())
		return nil, false
	}
	seen := map[string]bool{}
	for _, kv := range n.pairs {
		if seen[kv.key.text] {
			p.errorf(kv.key.line, keyPath(path, kv.key.text), "key given twice")
			continue
		}
		seen[kv.key.text] = true
		out = append(out, kv)
	}
	return out, true
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *parser) parse(root *node) {
	s := &p.spec
	var epochs, baseEpochs *node
	randomSeed, samplerSeed := int64(-1), int64(-1)
	var sections []*node // the keys of axes, grid, random and sampler: a study has one of them
	entries, _ := p.pairs(root, "")
	for _, kv := range entries {
		k, v := kv.key.text, kv.value
		switch k {
		case "name":
			s.name = p.text(v, k)
			if err := safename.Check(s.name); s.name != "" && err != nil {
				p.errorf(v.line, k, "%v: the name becomes the output folder out/NAME, so it must be one plain folder name", err)
			}
		case "description":
			p.text(v, k)
		case "data":
			p.parseData(v)
		case "base":
			s.baseLine = v.line
			s.base = p.settings(v, "base")
			for _, kv := range v.pairs {
				if kv.key.text == "epochs" {
					baseEpochs = kv.key
				}
			}
		case "axes":
			sections = append(sections, kv.key)
			p.parseAxes(v)
		case "grid":
			sections = append(sections, kv.key)
			s.gridLine = v.line
			p.parseGrid(v)
		case "random":
			sections = append(sections, kv.key)
			s.random, randomSeed = p.parseRandom(v)
		case "sampler":
			sections = append(sections, kv.key)
			s.sampler, samplerSeed = p.parseSampler(v)
		case "folds":
			s.folds = p.intIn(v, k, 2, MaxFolds)
		case "epochs":
			epochs = v
			s.epochs = p.intIn(v, k, 1, MaxEpochs)
		case "seed":
			s.seed = int64(p.intIn(v, k, 0, 1<<32-1))
		case "metric":
			if m := p.text(v, k); m != "" && m != "accuracy" {
				p.errorf(v.line, k, "unknown metric %q (want accuracy)", m)
			}
		case "refit":
			if v.kind != scalarNode || v.tag != "bool" {
				p.errorf(v.line, k, "want true or false, got %s", v.describe())
			} else {
				s.refit = v.text[0] == 't' || v.text[0] == 'T'
			}
		case "pruner":
			s.pruner = p.parsePruner(v)
		case "fuse":
			if v.kind != scalarNode || v.tag != "bool" {
				p.errorf(v.line, k, "want true or false, got %s", v.describe())
			} else {
				s.fuse = valueOf(v).x.(bool)
			}
		default:
			p.errorf(kv.key.line, k, "%s", unknownKey("key", k, []string{"name", "description", "data", "base", "axes", "grid", "random", "sampler", "folds", "epochs", "seed", "metric", "refit", "fuse", "pruner"}))
		}
	}
	if epochs != nil && baseEpochs != nil {
		p.errorf(baseEpochs.line, "base.epochs", "epochs is also set at the top level (line %d); keep one", epochs.line)
	}
	if len(sections) > 1 {
		first := sections[0]
		for _, k := range sections[1:] {
			p.errorf(k.line, k.text, "a study has axes, grid, random or sampler, not several (%s is at line %d): make one study file for each", first.text, first.line)
		}
	}
	if s.random != nil {
		s.random.seed = randomSeed
		if randomSeed < 0 {
			s.random.seed = s.seed
		}
	}
	if s.sampler != nil {
		s.sampler.seed = samplerSeed
		if samplerSeed < 0 {
			s.sampler.seed = s.seed
		}
	}
}

// text reads a non-empty string.
func (p *parser) text(n *node, key string) string {
	if n.kind != scalarNode || n.tag != "str" || n.text == "" {
		p.errorf(n.line, key, "want text, got %s", n.describe())
		return ""
	}
	return n.text
}

// intIn reads an integer in [lo, hi].
func (p *parser) intIn(n *node, key string, lo, hi int) int {
	v, err := parseInt(n.text)
	if n.kind != scalarNode || n.tag != "int" || err != nil {
		p.errorf(n.line, key, "want an integer, got %s", n.describe())
		return 0
	}
	if v < int64(lo) || v > int64(hi) {
		p.errorf(n.line, key, "%d is out of range [%d, %d]", v, lo, hi)
		return 0
	}
	return int(v)
}

// parseData reads `data: mnist`, `{mnist: DIR}` or `{idx: DIR}` (the MNIST
// IDX files in DIR), `{images: FILE, labels: FILE}` (one IDX pair) or
// `{csv: FILE, label: COLUMN, scale: standardize|minmax|none, test: FILE}`
// (label and scale optional: the last column, standardized; test, the
// held-out CSV file a refit is scored on, optional).
func (p *parser) parseData(n *node) {
	d := &p.spec.data
	if n.kind == scalarNode {
		if n.text != "mnist" {
			p.errorf(n.line, "data", "unknown data set %s (want mnist, or a mapping: {idx: DIR}, {images: FILE, labels: FILE}, {csv: FILE, label: COLUMN})", n.describe())
		}
		return
	}
	errs := len(p.errs)
	got := map[string]string{}
	entries, _ := p.pairs(n, "data")
	for _, kv := range entries {
		k := kv.key.text
		switch k {
		case "label": // a column name or 0-based index
			if v := kv.value; v.kind == scalarNode && v.tag == "int" {
				got[k] = v.text
			} else {
				got[k] = p.text(v, keyPath("data", k))
			}
		case "scale": // checked here, so the message names this line, not the CSV file
			got[k] = p.text(kv.value, keyPath("data", k))
			if s := got[k]; s != "" && !slices.Contains(datasets.Scalings(), s) {
				p.errorf(kv.value.line, keyPath("data", k), "unknown scaling %q (want %s)", s, strings.Join(datasets.Scalings(), ", "))
			}
		case "mnist", "idx", "images", "labels", "csv", "test":
			got[k] = p.text(kv.value, keyPath("data", k))
		default:
			p.errorf(kv.key.line, keyPath("data", k), "%s", unknownKey("key", k, []string{"mnist", "idx", "images", "labels", "csv", "label", "scale", "test"}))
		}
	}
	if len(p.errs) > errs { // the entries' own messages say what is wrong
		return
	}
	path := func(s string) string {
		if s == "" || filepath.IsAbs(s) {
			return s
		}
		return filepath.Join(p.dir, s)
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := got[k]; !ok {
				return false
			}
		}
		return len(got) == len(keys)
	}
	switch {
	case has("mnist"):
		*d = DataSpec{Kind: "mnist", Path: path(got["mnist"])}
	case has("idx"):
		*d = DataSpec{Kind: "mnist", Path: path(got["idx"])}
	case has("images", "labels"):
		*d = DataSpec{Kind: "idx", Path: path(got["images"]), Labels: path(got["labels"])}
	case got["csv"] != "" && !hasAny(got, "mnist", "idx", "images", "labels"):
		*d = DataSpec{Kind: "csv", Path: path(got["csv"]), Label: got["label"], Scale: got["scale"], Test: path(got["test"])}
	default:
		var given []string // in the order of the forms below
		for _, k := range []string{"mnist", "idx", "images", "labels", "csv", "label", "scale", "test"} {
			if _, ok := got[k]; ok {
				given = append(given, k)
			}
		}
		p.errorf(n.line, "data", "got %s: want one of {mnist: DIR}, {idx: DIR}, {images: FILE, labels: FILE}, {csv: FILE, label: COLUMN, scale: SCALING, test: FILE}", strings.Join(given, ", "))
	}
}

// unknownKey is the message for a key that is none of known: "unknown
// key", then the key meant when the key is another library's name for it
// (Keras's learning_rate is lr) or a misspelling of it, then the keys.
func unknownKey(what, key string, known []string) string {
	msg := "unknown " + what
	if k, ok := otherNames[key]; ok && slices.Contains(known, k) {
		msg += fmt.Sprintf(": %s is called %s here", key, k)
	} else if k := spell.Closest(key, known); k != "" {
		msg += fmt.Sprintf(": did you mean %s?", k)
	}
	return msg + " (want " + strings.Join(known, ", ") + ")"
}

// otherNames are the names Keras, scikit-learn (KFold, MLPClassifier,
// RandomizedSearchCV), Optuna and pandas give study keys (config keys,
// top-level, data:, random: and sampler: keys, distributions).
var otherNames = map[string]string{
	"learning_rate": "lr", "learning_rate_init": "lr", "batch_size": "batch", "units": "hidden",
	"hidden_layer_sizes": "hidden", "layers": "hidden", "kernel_initializer": "init", "initializer": "init",
	"batch_normalization": "batch_norm", "batchnorm": "batch_norm", "max_iter": "epochs", "n_epochs": "epochs",
	"solver": "optimizer", "rate": "dropout", "dropout_rate": "dropout",
	"n_splits": "folds", "cv": "folds", "k": "folds", "random_state": "seed",
	"target": "label", "label_column": "label", "y": "label", "scaler": "scale", "scaling": "scale",
	// random: and sampler: keys, and distributions, under scikit-learn's
	// (RandomizedSearchCV, scipy.stats), Optuna's and Hyperopt's names
	"n_iter": "n", "n_trials": "n", "param_distributions": "params", "search_space": "params",
	"loguniform": "log_uniform", "reciprocal": "log_uniform", "randint": "int", "categorical": "choice",
}

// hasAny reports whether got has any of keys.
func hasAny(got map[string]string, keys ...string) bool {
	for _, k := range keys {
		if _, ok := got[k]; ok {
			return true
		}
	}
	return false
}

// settings reads a mapping of config keys to values.
func (p *parser) settings(n *node, path string) []setting {
	entries, _ := p.pairs(n, path)
	var out []setting
	for _, kv := range entries {
		if err := checkValue(kv.key.text, kv.value); err != nil {
			p.errorf(kv.value.line, keyPath(path, kv.key.text), "%v", err)
			continue
		}
		out = append(out, setting{kv.key.text, valueOf(kv.value)})
	}
	return out
}

// values reads a non-empty list of values each of keys accepts.
func (p *parser) values(n *node, path string, keys []string) []value {
	if n.kind != listNode {
		p.errorf(n.line, path, "want a list of values, got %s", n.describe())
		return nil
	}
	if len(n.items) == 0 {
		p.errorf(n.line, path, "empty list of values")
		return nil
	}
	out := make([]value, len(n.items))
	for i, v := range n.items {
		for _, key := range keys {
			if err := checkValue(key, v); err != nil {
				p.errorf(v.line, fmt.Sprintf("%s[%d]", path, i), "%s: %v", key, err)
			}
		}
		out[i] = valueOf(v)
	}
	return out
}

func (p *parser) parseAxes(n *node) {
	if n.kind == listNode && len(n.items) == 0 || n.kind == scalarNode && n.tag == "null" {
		p.errorf(n.line, "axes", "no axes: list at least one, or leave axes out to train the base alone")
		return
	}
	if n.kind != listNode {
		p.errorf(n.line, "axes", "want a list of axes, got %s", n.describe())
		return
	}
	names := map[string]bool{"grid": true, "random": true, "base": true}
	for i, an := range n.items {
		path := fmt.Sprintf("axes[%d]", i)
		var a axisSpec
		var keyNode, valuesNode *node
		keyEntries := 0 // key and keys given
		entries, ok := p.pairs(an, path)
		for _, kv := range entries {
			k, v, at := kv.key.text, kv.value, keyPath(path, kv.key.text)
			switch k {
			case "name":
				a.name = p.text(v, at)
				if a.name != "" && names[a.name] {
					p.errorf(v.line, at, "axis name %q is used twice or reserved (grid, random, base)", a.name)
				}
				names[a.name] = true
			case "key":
				keyNode = v
				keyEntries++
				if key := p.text(v, at); key != "" {
					a.keys = append(a.keys, key)
				}
			case "keys":
				keyNode = v
				keyEntries++
				if v.kind != listNode || len(v.items) == 0 {
					p.errorf(v.line, at, "want a non-empty list of config keys, got %s", v.describe())
					continue
				}
				for _, kn := range v.items {
					if key := p.text(kn, at); key != "" {
						a.keys = append(a.keys, key)
					}
				}
			case "values":
				valuesNode = v
			case "set":
				a.set = p.settings(v, at)
			default:
				p.errorf(kv.key.line, at, "%s", unknownKey("key", k, []string{"name", "key", "keys", "values", "set"}))
			}
		}
		if !ok {
			continue
		}
		switch {
		case a.name == "":
			p.errorf(an.line, path, "axis has no name")
		case keyNode == nil:
			p.errorf(an.line, path, "axis %q has neither key nor keys", a.name)
		case valuesNode == nil:
			p.errorf(an.line, path, "axis %q has no values", a.name)
		}
		if keyEntries > 1 {
			p.errorf(keyNode.line, path, "give key or keys, not both")
		}
		for _, key := range a.keys {
			if err := checkConfigKey(key); err != nil {
				p.errorf(keyNode.line, keyPath(path, "key"), "%s: %v", key, err)
				a.keys = nil
			}
		}
		if valuesNode != nil && len(a.keys) > 0 {
			a.values = p.values(valuesNode, keyPath(path, "values"), a.keys)
		}
		p.spec.axes = append(p.spec.axes, a)
	}
}

// parseGrid reads grid: config key → list of values.
func (p *parser) parseGrid(n *node) {
	if n.kind == mapNode && len(n.pairs) == 0 || n.kind == scalarNode && n.tag == "null" {
		p.errorf(n.line, "grid", "no keys to vary: give key: [values] lines, or leave grid out to train the base alone")
		return
	}
	entries, _ := p.pairs(n, "grid")
	for _, kv := range entries {
		k := kv.key.text
		p.spec.grid = append(p.spec.grid, gridKey{k, p.values(kv.value, keyPath("grid", k), []string{k})})
	}
}

// parseRandom reads random: {n, seed, params}; seed is -1 when not given.
func (p *parser) parseRandom(n *node) (*randomSpec, int64) {
	r, seed, _ := p.parseDraws(n, "random", nil)
	return r, seed
}

// parseDraws reads the keys random: and sampler: share, n, seed and
// params, from the mapping n under section; seed is -1 when not given.
// Another key goes to other (nil: none), which reports whether it knew it.
func (p *parser) parseDraws(n *node, section string, other func(kv pair) bool) (*randomSpec, int64, bool) {
	r := &randomSpec{nLine: n.line, paramsLine: n.line}
	seed := int64(-1)
	entries, ok := p.pairs(n, section)
	want := []string{"n", "seed", "params"}
	if other != nil {
		want = append([]string{"kind", "batch"}, want...)
	}
	var nGiven, paramsGiven bool
	for _, kv := range entries {
		k, v, path := kv.key.text, kv.value, keyPath(section, kv.key.text)
		switch k {
		case "n":
			nGiven = true
			r.n, r.nLine = p.intIn(v, path, 1, 1<<20), v.line
		case "seed":
			seed = int64(p.intIn(v, path, 0, math.MaxInt32))
		case "params":
			paramsGiven = true
			r.paramsLine = v.line
			r.params = p.parseParams(v, path)
		default:
			if other == nil || !other(kv) {
				p.errorf(kv.key.line, path, "%s", unknownKey("key", k, want))
			}
		}
	}
	if ok && !nGiven {
		p.errorf(n.line, section, "missing n, the number of configurations to train")
	}
	if ok && !paramsGiven {
		p.errorf(n.line, section, "missing params, the keys to sample and their ranges, e.g. params: {lr: {log_uniform: [1e-4, 0.1]}, batch: {choice: [32, 128]}}")
	}
	return r, seed, ok
}

// parseParams reads the params: of random: or sampler:, a mapping of
// config keys to ranges; an empty one is an error.
func (p *parser) parseParams(n *node, path string) []randomParam {
	var out []randomParam
	params, ok := p.pairs(n, path)
	for _, pv := range params {
		if rp, ok := p.parseParam(pv, keyPath(path, pv.key.text)); ok {
			out = append(out, rp)
		}
	}
	if ok && len(params) == 0 {
		p.errorf(n.line, path, "no parameters to sample: give key: {choice | uniform | log_uniform | int: …} lines")
	}
	return out
}

func (p *parser) parseParam(kv pair, path string) (randomParam, bool) {
	rp := randomParam{key: kv.key.text}
	if err := checkConfigKey(rp.key); err != nil {
		p.errorf(kv.key.line, path, "%v", err)
		return rp, false
	}
	spec, ok := p.pairs(kv.value, path)
	if !ok {
		return rp, false
	}
	if len(spec) != 1 {
		p.errorf(kv.value.line, path, "want exactly one of choice, uniform, log_uniform, int")
		return rp, false
	}
	rp.dist = spec[0].key.text
	args, at := spec[0].value, keyPath(path, rp.dist)
	errs := len(p.errs)
	switch rp.dist {
	case "choice":
		rp.choices = p.values(args, at, []string{rp.key})
	case "uniform", "log_uniform", "int":
		integer := rp.dist == "int"
		if integer && !isIntField(rp.key) || !integer && !isFloatField(rp.key) {
			p.errorf(spec[0].key.line, at, "%s cannot be sampled from %s (use choice)", rp.key, rp.dist)
			return rp, false
		}
		var okLo, okHi bool
		if args.kind == listNode && len(args.items) == 2 {
			rp.lo, okLo = args.items[0].number()
			rp.hi, okHi = args.items[1].number()
		}
		if !okLo || !okHi {
			p.errorf(args.line, at, "want [low, high], got %s", args.describe())
			return rp, false
		}
		switch {
		case math.IsNaN(rp.lo) || math.IsNaN(rp.hi) || math.IsInf(rp.lo, 0) || math.IsInf(rp.hi, 0):
			p.errorf(args.line, at, "bounds must be finite")
		case integer && (rp.lo != math.Trunc(rp.lo) || rp.hi != math.Trunc(rp.hi)):
			p.errorf(args.line, at, "int bounds must be integers")
		case rp.lo > rp.hi || !integer && rp.lo == rp.hi:
			p.errorf(args.line, at, "low %v must be below high %v", rp.lo, rp.hi)
		case rp.dist == "log_uniform" && rp.lo <= 0:
			p.errorf(args.line, at, "log_uniform needs low > 0")
		case integer && rp.lo < 1:
			p.errorf(args.line, at, "low %s is below 1: %s is an integer ≥ 1", args.items[0].text, rp.key)
		case integer && rp.hi > MaxEpochs:
			p.errorf(args.line, at, "high %v is over the limit of %d", args.items[1].text, MaxEpochs)
		}
	default:
		p.errorf(spec[0].key.line, keyPath(path, rp.dist), "%s", unknownKey("distribution", rp.dist, []string{"choice", "uniform", "log_uniform", "int"}))
	}
	return rp, len(p.errs) == errs
}
