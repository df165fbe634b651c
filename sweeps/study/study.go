package study

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mlpsweep/mlpsweep/engine"
)

// Study is a parsed and expanded study file: the data, the cross-validation
// and every configuration to train, in order.
type Study struct {
	Name   string
	Data   DataSpec
	Folds  int    // k of the KFold split (≥ 2)
	Seed   int64  // KFold random_state and root of every unit seed, in [0, 2³²)
	Metric string // "accuracy"
	Base   Params
	Points []Point // axis by axis, value by value; then grid, then random samples
}

// Point is one configuration of a study and where it comes from.
type Point struct {
	Axis   string // axis name; "grid", "random", or "base" for a study with no axes
	Value  string // the axis value as written ("1e-3", "[128, 64]", "lr=0.01, batch=64")
	Params Params // the configuration
}

// DataSpec says where a study's training data comes from.
type DataSpec struct {
	Kind   string // "mnist" (Path: IDX directory, "" = the pinned GoMNIST data), "idx" or "csv"
	Path   string // csv: the file; idx: the images file
	Labels string // idx: the labels file
	Label  string // csv: the label column (name or 0-based index; "" = the last)
	Scale  string // csv: feature scaling (datasets.CSVOptions.Scale)
}

// StudyError is a problem in a study file, at a line, under a key path such
// as "axes[2].values" or "base.lr".
type StudyError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *StudyError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// Defaults of the top-level keys: the reference notebook's cross-validation.
const (
	defaultFolds = 4
	defaultSeed  = 42
)

// ReadStudy reads and expands the study file at path. Relative data paths
// in it are taken from the file's directory.
func ReadStudy(path string) (*Study, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseStudy(src, path)
}

// ParseStudy parses and expands a study. file names it in error messages;
// relative data paths are resolved against its directory. Every problem
// found is reported (errors.Join of *StudyError), each with line and key.
func ParseStudy(src []byte, file string) (*Study, error) {
	p := &parser{file: file, dir: filepath.Dir(file)}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		line := 1
		if len(doc.Content) > 0 {
			line = doc.Content[0].Line
		}
		return nil, &StudyError{file, line, "study", "want a mapping of keys (name, base, axes, …)"}
	}
	p.parse(doc.Content[0])
	if len(p.errs) == 0 {
		p.expand()
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	if p.study.Name == "" {
		p.study.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	return &p.study, nil
}

// parser collects a study and the errors found on the way.
type parser struct {
	file, dir string
	study     Study
	errs      []error

	base       []pair // base config keys, in order
	baseNode   *yaml.Node
	epochs     *yaml.Node // top-level epochs
	seedSet    bool
	axes       []axisSpec
	grid       []pair // key → list of values
	gridNode   *yaml.Node
	random     *randomSpec
	randomNode *yaml.Node
}

// pair is one key: value of a YAML mapping.
type pair struct{ key, value *yaml.Node }

type axisSpec struct {
	node   *yaml.Node
	path   string // "axes[i]"
	name   string
	keys   []string
	values []*yaml.Node
	set    []pair
}

func (p *parser) errorf(n *yaml.Node, key, format string, a ...any) {
	p.errs = append(p.errs, &StudyError{p.file, n.Line, key, fmt.Sprintf(format, a...)})
}

// pairs returns the entries of mapping n (or records an error), checking
// that no key repeats.
func (p *parser) pairs(n *yaml.Node, path string) []pair {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "want a mapping (key: value lines), got %s", describeNode(n))
		return nil
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			p.errorf(k, keyPath(path, k.Value), "key given twice")
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k, v})
	}
	return out
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *parser) parse(root *yaml.Node) {
	for _, kv := range p.pairs(root, "") {
		k, v := kv.key.Value, kv.value
		switch k {
		case "name":
			p.study.Name = p.text(v, k)
		case "description":
			p.text(v, k)
		case "data":
			p.parseData(v)
		case "base":
			p.baseNode = v
			p.base = p.configPairs(v, "base")
		case "axes":
			p.parseAxes(v)
		case "grid":
			p.gridNode = v
			p.grid = p.valueLists(v, "grid")
		case "random":
			p.randomNode = v
			p.random = p.parseRandom(v)
		case "folds":
			p.study.Folds = p.intIn(v, k, 2, 1<<20)
		case "epochs":
			p.epochs = v
			p.intIn(v, k, 1, 1<<30)
		case "seed":
			p.study.Seed = int64(p.intIn(v, k, 0, 1<<32-1))
			p.seedSet = true
		case "metric":
			if m := p.text(v, k); m != "" && m != "accuracy" {
				p.errorf(v, k, "unknown metric %q (want accuracy)", m)
			}
		default:
			p.errorf(kv.key, k, "unknown key (want name, description, data, base, axes, grid, random, folds, epochs, seed, metric)")
		}
	}
	if p.study.Folds == 0 {
		p.study.Folds = defaultFolds
	}
	if !p.seedSet {
		p.study.Seed = defaultSeed
	}
	p.study.Metric = "accuracy"
	if p.study.Data.Kind == "" {
		p.study.Data.Kind = "mnist"
	}
}

// text reads a non-empty string.
func (p *parser) text(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" || n.Value == "" {
		p.errorf(n, key, "want text, got %s", describeNode(n))
		return ""
	}
	return n.Value
}

// intIn reads an integer in [lo, hi].
func (p *parser) intIn(n *yaml.Node, key string, lo, hi int) int {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.errorf(n, key, "want an integer, got %s", describeNode(n))
		return 0
	}
	if v < lo || v > hi {
		p.errorf(n, key, "%d is out of range [%d, %d]", v, lo, hi)
		return 0
	}
	return v
}

// parseData reads `data: mnist`, `{mnist: DIR}` or `{idx: DIR}` (the MNIST
// IDX files in DIR), `{images: FILE, labels: FILE}` (one IDX pair) or
// `{csv: FILE, label: COLUMN, scale: standardize|minmax|none}` (label and
// scale optional: the last column, standardized).
func (p *parser) parseData(n *yaml.Node) {
	d := &p.study.Data
	if n.Kind == yaml.ScalarNode {
		if n.Value != "mnist" {
			p.errorf(n, "data", "unknown data set %s (want mnist, or a mapping: {idx: DIR}, {images: FILE, labels: FILE}, {csv: FILE, label: COLUMN})", describeNode(n))
		}
		d.Kind = "mnist"
		return
	}
	got := map[string]string{}
	for _, kv := range p.pairs(n, "data") {
		k := kv.key.Value
		switch k {
		case "label": // a column name or 0-based index
			if v := kv.value; v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
				got[k] = v.Value
			} else {
				got[k] = p.text(v, keyPath("data", k))
			}
		case "mnist", "idx", "images", "labels", "csv", "scale":
			got[k] = p.text(kv.value, keyPath("data", k))
		default:
			p.errorf(kv.key, keyPath("data", k), "unknown key (want mnist, idx, images and labels, or csv, label and scale)")
		}
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
	case has("csv"), has("csv", "label"), has("csv", "scale"), has("csv", "label", "scale"):
		*d = DataSpec{Kind: "csv", Path: path(got["csv"]), Label: got["label"], Scale: got["scale"]}
	default:
		p.errorf(n, "data", "want one of {mnist: DIR}, {idx: DIR}, {images: FILE, labels: FILE}, {csv: FILE, label: COLUMN, scale: SCALING}")
	}
}

// configPairs reads a mapping of config keys, checking each key and value
// type on a scratch config.
func (p *parser) configPairs(n *yaml.Node, path string) []pair {
	kvs := p.pairs(n, path)
	var scratch engine.Config
	for _, kv := range kvs {
		if err := setConfigField(&scratch, kv.key.Value, kv.value); err != nil {
			p.errorf(kv.value, keyPath(path, kv.key.Value), "%v", err)
		}
	}
	return kvs
}

// valueLists reads a mapping of config key → non-empty list of values.
func (p *parser) valueLists(n *yaml.Node, path string) []pair {
	kvs := p.pairs(n, path)
	for _, kv := range kvs {
		p.checkValues(kv.value, keyPath(path, kv.key.Value), []string{kv.key.Value})
	}
	return kvs
}

// checkValues checks that n is a non-empty list of values each of the keys accepts.
func (p *parser) checkValues(n *yaml.Node, path string, keys []string) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "want a list of values, got %s", describeNode(n))
		return
	}
	if len(n.Content) == 0 {
		p.errorf(n, path, "empty list of values")
		return
	}
	var scratch engine.Config
	for i, v := range n.Content {
		for _, key := range keys {
			if err := setConfigField(&scratch, key, v); err != nil {
				p.errorf(v, fmt.Sprintf("%s[%d]", path, i), "%s: %v", key, err)
			}
		}
	}
}

func (p *parser) parseAxes(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "axes", "want a list of axes, got %s", describeNode(n))
		return
	}
	names := map[string]bool{"grid": true, "random": true, "base": true}
	for i, an := range n.Content {
		a := axisSpec{node: an, path: fmt.Sprintf("axes[%d]", i)}
		var valuesNode *yaml.Node
		var keyNode *yaml.Node
		for _, kv := range p.pairs(an, a.path) {
			k, v, path := kv.key.Value, kv.value, keyPath(a.path, kv.key.Value)
			switch k {
			case "name":
				a.name = p.text(v, path)
				if a.name != "" && names[a.name] {
					p.errorf(v, path, "axis name %q is used twice or reserved (grid, random, base)", a.name)
				}
				names[a.name] = true
			case "key":
				keyNode = v
				if key := p.text(v, path); key != "" {
					a.keys = append(a.keys, key)
				}
			case "keys":
				keyNode = v
				if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
					p.errorf(v, path, "want a non-empty list of config keys, got %s", describeNode(v))
					continue
				}
				for _, kn := range v.Content {
					if key := p.text(kn, path); key != "" {
						a.keys = append(a.keys, key)
					}
				}
			case "values":
				valuesNode = v
			case "set":
				a.set = p.configPairs(v, path)
			default:
				p.errorf(kv.key, path, "unknown key (want name, key or keys, values, set)")
			}
		}
		switch {
		case an.Kind != yaml.MappingNode:
			continue
		case a.name == "":
			p.errorf(an, a.path, "axis has no name")
		case keyNode == nil:
			p.errorf(an, a.path, "axis %q has neither key nor keys", a.name)
		case valuesNode == nil:
			p.errorf(an, a.path, "axis %q has no values", a.name)
		}
		if keyNode != nil && countKeys(an) > 1 {
			p.errorf(keyNode, a.path, "give key or keys, not both")
		}
		for _, key := range a.keys {
			if err := checkConfigKey(key); err != nil {
				p.errorf(keyNode, keyPath(a.path, "key"), "%s: %v", key, err)
				a.keys = nil
			}
		}
		if valuesNode != nil && len(a.keys) > 0 {
			p.checkValues(valuesNode, keyPath(a.path, "values"), a.keys)
			a.values = valuesNode.Content
		}
		p.axes = append(p.axes, a)
	}
}

// countKeys counts the key and keys entries of an axis mapping.
func countKeys(an *yaml.Node) int {
	c := 0
	for i := 0; i+1 < len(an.Content); i += 2 {
		if v := an.Content[i].Value; v == "key" || v == "keys" {
			c++
		}
	}
	return c
}

// Axes returns the study's axis names in order of first appearance.
func (s *Study) Axes() []string {
	var names []string
	for _, pt := range s.Points {
		if !slices.Contains(names, pt.Axis) {
			names = append(names, pt.Axis)
		}
	}
	return names
}

// KeepAxes drops every point whose axis is not in names; an unknown name
// is an error listing the study's axes.
func (s *Study) KeepAxes(names []string) error {
	axes := s.Axes()
	for _, n := range names {
		if !slices.Contains(axes, n) {
			return fmt.Errorf("study %s has no axis %q (its axes: %s)", s.Name, n, strings.Join(axes, ", "))
		}
	}
	s.Points = slices.DeleteFunc(s.Points, func(pt Point) bool { return !slices.Contains(names, pt.Axis) })
	return nil
}

// SetEpochs makes every configuration train for epochs epochs (≥ 1).
func (s *Study) SetEpochs(epochs int) {
	s.Base = s.Base.withEpochs(epochs)
	for i := range s.Points {
		s.Points[i].Params = s.Points[i].Params.withEpochs(epochs)
	}
}

// Configurations counts the study's distinct configurations: a
// configuration shown on several axes counts once.
func (s *Study) Configurations() int {
	keys := map[string]bool{}
	for _, pt := range s.Points {
		keys[pt.Params.Key()] = true
	}
	return len(keys)
}
