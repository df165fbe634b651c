package study

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
)

// studyErrors parses src and returns its *StudyErrors (failing if it parses).
func studyErrors(t *testing.T, src string) []*StudyError {
	t.Helper()
	_, err := ParseStudy([]byte(src), "study.yaml")
	if err == nil {
		t.Fatalf("study parsed without error:\n%s", src)
	}
	var out []*StudyError
	for _, e := range unjoin(err) {
		var se *StudyError
		if !errors.As(e, &se) {
			t.Fatalf("error %v is not a *StudyError", e)
		}
		out = append(out, se)
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestStudyErrorsNameLineAndKey(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		key, msg  string
	}{
		{"unknown top-level key", "name: x\nfoldz: 3\n", 2, "foldz", "unknown key"},
		{"unknown base key", "base:\n  hidden: [8]\n  lrr: 0.1\n", 3, "base.lrr", "unknown config key"},
		// Keras's and scikit-learn's names, and misspellings, name the key meant.
		{"Keras name", "base:\n  learning_rate: 0.1\n", 2, "base.learning_rate", "unknown config key: learning_rate is called lr here (want activation, activity_l1,"},
		{"scikit-learn name", "base:\n  hidden_layer_sizes: [8]\n", 2, "base.hidden_layer_sizes", "hidden_layer_sizes is called hidden here"},
		{"misspelt config key", "base:\n  optimiser: sgd\n", 2, "base.optimiser", "unknown config key: did you mean optimizer?"},
		{"axis on a Keras name", "axes:\n  - {name: b, key: batch_size, values: [8]}\n", 2, "axes[0].key", "batch_size is called batch here"},
		{"KFold name", "n_splits: 5\n", 1, "n_splits", "unknown key: n_splits is called folds here (want name, description, data,"},
		{"misspelt top-level key", "name: x\nepoch: 3\n", 2, "epoch", "unknown key: did you mean epochs?"},
		{"data key", "data: {csv: x.csv, target: y}\n", 1, "data.target", "unknown key: target is called label here (want mnist, idx, images, labels, csv, label, scale, test)"},
		{"axis entry", "axes:\n  - {name: b, key: lr, value: [1]}\n", 2, "axes[0].value", "unknown key: did you mean values?"},
		{"RandomizedSearchCV names", "random:\n  n_iter: 5\n  params: {lr: {uniform: [0.1, 1]}}\n", 2, "random.n_iter", "unknown key: n_iter is called n here (want n, seed, params)"},
		{"Optuna name", "sampler: {kind: tpe, n_trials: 5, params: {lr: {uniform: [0.1, 1]}}}\n", 1, "sampler.n_trials", "n_trials is called n here (want kind, batch, n, seed, params)"},
		{"scipy distribution", "random:\n  n: 2\n  params:\n    lr: {loguniform: [0.001, 0.1]}\n", 4, "random.params.lr.loguniform", "unknown distribution: loguniform is called log_uniform here (want choice, uniform, log_uniform, int)"},
		{"pruner key", "pruner: {kind: sha, min_epoch: 1}\n", 1, "pruner.min_epoch", "unknown key: did you mean min_epochs?"},
		{"seed in base", "base:\n  seed: 3\n", 2, "base.seed", "top-level seed"},
		{"wrong type", "base:\n  lr: fast\n", 2, "base.lr", "want a number"},
		{"wrong type in hidden", "base:\n  hidden: [8, x]\n", 2, "base.hidden", "layer widths"},
		{"number out of range", "base:\n  lr: 1e400\n", 2, "base.lr", "1e400 is out of range"},
		{"float for int", "base:\n  batch: 1.5\n", 2, "base.batch", "want an integer"},
		// engine.Config reads a batch or epoch count of 0 as its default:
		// written in a study, it trained at batch 128 or 10 epochs while the
		// results showed 0.
		{"batch 0 in base", "base:\n  batch: 0\n", 2, "base.batch", "0 (want an integer ≥ 1; leave batch out for its default)"},
		{"epochs 0 in base", "base:\n  epochs: 0\n", 2, "base.epochs", "want an integer ≥ 1"},
		{"batch 0 on an axis", "axes:\n  - name: b\n    key: batch\n    values: [0, 64]\n", 4, "axes[0].values[0]", "want an integer ≥ 1"},
		{"batch 0 in a grid", "grid:\n  lr: [0.1]\n  batch: [64, 0]\n", 3, "grid.batch[1]", "want an integer ≥ 1"},
		{"batch -1 as a choice", "random:\n  n: 2\n  params:\n    batch: {choice: [-1, 8]}\n", 4, "random.params.batch.choice[0]", "want an integer ≥ 1"},
		{"batch over the limit", "base:\n  batch: 2_000_000_000\n", 2, "base.batch", "over the limit"},
		{"int range from 0", "random:\n  n: 2\n  params:\n    batch: {int: [0, 64]}\n", 4, "random.params.batch.int", "low 0 is below 1: batch is an integer ≥ 1"},
		// A range wider than int64 made rand.Int64N panic.
		{"int range too wide", "random: {n: 3, params: {batch: {int: [1, 1e19]}}}\n", 1, "random.params.batch.int", "high 1e19 is over the limit"},
		{"sampled int range too wide", "sampler: {kind: tpe, n: 3, params: {epochs: {int: [1, 1e19]}}}\n", 1, "sampler.params.epochs.int", "high 1e19 is over the limit"},
		{"data scale", "data: {csv: x.csv,\n  scale: zscore}\n", 2, "data.scale", `unknown scaling "zscore" (want standardize, minmax, none)`},
		{"folds range", "folds: 1\n", 1, "folds", "out of range"},
		{"metric", "metric: f1\n", 1, "metric", "unknown metric"},
		{"fuse not a bool", "name: x\nfuse: yes please\n", 2, "fuse", "want true or false"},
		{"empty axis", "axes:\n  - name: lr\n    key: lr\n    values: []\n", 4, "axes[0].values", "empty list"},
		{"axis without key", "axes:\n  - name: lr\n    values: [1]\n", 2, "axes[0]", "neither key nor keys"},
		{"axis key and keys", "axes:\n  - name: lr\n    key: lr\n    keys: [l1]\n    values: [1]\n", 4, "axes[0]", "not both"},
		{"axis unknown key", "axes:\n  - name: a\n    key: lrate\n    values: [1]\n", 3, "axes[0].key", "unknown config key"},
		{"axis bad value type", "axes:\n  - name: a\n    key: batch\n    values: [32, big]\n", 4, "axes[0].values[1]", "want an integer"},
		{"duplicate axis", "axes:\n  - {name: a, key: lr, values: [0.1]}\n  - {name: a, key: l1, values: [0.1]}\n", 3, "axes[1].name", "used twice"},
		{"impossible value", "axes:\n  - name: act\n    key: activation\n    values: [relu,\n      swish]\n", 5, "axes[0].values[1]", `unknown value "swish"`},
		{"impossible dropout", "axes:\n  - name: d\n    key: dropout\n    values: [0.5, 1.0]\n", 4, "axes[0].values[1]", "dropout"},
		{"decay needs sgd", "axes:\n  - name: d\n    key: decay\n    values: [0.01]\n", 4, "axes[0].values[0]", "sgd only"},
		{"bad base", "base:\n  optimizer: adamw\n", 2, "base", "optimizer"},
		{"both epochs", "epochs: 3\nbase:\n  epochs: 2\n", 3, "base.epochs", "also set at the top level"},
		{"grid not a list", "grid:\n  lr: 0.1\n", 2, "grid.lr", "want a list"},
		{"random dist on name", "random:\n  n: 2\n  params:\n    optimizer: {uniform: [0, 1]}\n", 4, "random.params.optimizer.uniform", "cannot be sampled"},
		{"random bad bounds", "random:\n  n: 2\n  params:\n    lr: {log_uniform: [0, 1]}\n", 4, "random.params.lr.log_uniform", "low > 0"},
		{"random too many", "random:\n  n: 5\n  params:\n    batch: {choice: [16, 32]}\n", 2, "random.n", "only 2 distinct"},
		{"data", "data: cifar\n", 1, "data", "unknown data set"},
		{"refit not a bool", "refit: yes please\n", 1, "refit", "want true or false"},
		{"test without csv", "data: {mnist: m, test: t.csv}\n", 1, "data", "got mnist, test: want one of"},
		{"two data sets", "data: {csv: x.csv, label: y, idx: m}\n", 1, "data", "got idx, csv, label: want one of {mnist: DIR}, {idx: DIR}"},
		{"labels without images", "data: {labels: l}\n", 1, "data", "got labels: want one of"},
		{"duplicate key", "name: a\nname: b\n", 2, "name", "given twice"},
		{"sampler: bare tpe", "sampler: tpe\n", 1, "sampler", "tpe alone does not say how many configurations to train nor where to search: write sampler: {kind: tpe, n: 64, params:"},
		{"sampler: unknown scalar", "sampler: bayes\n", 1, "sampler", `unknown sampler "bayes"`},
		{"sampler: no params", "sampler: {kind: tpe, n: 4}\n", 1, "sampler", "missing params, the keys to sample"},
		{"sampler: no n", "sampler:\n  kind: tpe\n  params: {lr: {uniform: [0.1, 1]}}\n", 2, "sampler", "missing n"},
		{"sampler: no kind", "sampler:\n  n: 3\n  params: {lr: {uniform: [0.1, 1]}}\n", 2, "sampler", "missing kind"},
		{"sampler: unknown kind", "sampler:\n  kind: random\n  n: 3\n  params: {lr: {uniform: [0.1, 1]}}\n", 2, "sampler.kind", "unknown sampler kind \"random\""},
		{"sampler: empty params", "sampler:\n  kind: tpe\n  n: 3\n  params: {}\n", 4, "sampler.params", "no parameters to sample"},
		{"sampler: bad range", "sampler:\n  kind: tpe\n  n: 3\n  params: {lr: {log_uniform: [0, 1]}}\n", 4, "sampler.params.lr.log_uniform", "low > 0"},
		{"sampler: unknown key", "sampler:\n  kind: tpe\n  n: 3\n  trials: 3\n  params: {lr: {uniform: [0.1, 1]}}\n", 4, "sampler.trials", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := studyErrors(t, tc.src)
			e := errs[0]
			if e.Line != tc.line || e.Key != tc.key || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %v (line %d, key %q), want line %d, key %q, message containing %q", e, e.Line, e.Key, tc.line, tc.key, tc.msg)
			}
			if !strings.HasPrefix(e.Error(), "study.yaml:") {
				t.Errorf("error %q does not start with the file name", e.Error())
			}
		})
	}
}

func TestStudyReportsEveryError(t *testing.T) {
	errs := studyErrors(t, "foo: 1\nbase:\n  lr: x\n  batch: y\n")
	if len(errs) != 3 {
		t.Fatalf("got %d errors, want 3: %v", len(errs), errs)
	}
}

// Syntax errors are *StudyErrors at the line of the offending token (the
// YAML library used before named the line of the enclosing key).
func TestSyntaxErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"unclosed bracket at the end", "name: x\nbase: [\n", 2, "]"},
		// the ] was due before lr
		{"unclosed bracket", "name: x\nbase:\n  hidden: [128\n  lr: 0.1\nfolds: 4\n", 4, "]"},
		{"indented too far", "name: x\nbase:\n  hidden: [128]\n    lr: 0.1\nfolds: 4\n", 4, ""},
		{"dedented too far", "name: x\nbase:\n    hidden: [128]\n  lr: 0.1\nfolds: 4\n", 4, ""},
		{"key among list items", "name: x\naxes:\n  - name: a\n  key: lr\n", 4, ""},
		{"tab", "name: x\nbase:\n\thidden: [128]\n", 3, "tab"},
		{"unclosed quote", "name: x\ndescription: \"abc\nfolds: 4\n", 2, "quoted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := studyErrors(t, tc.src)
			e := errs[0]
			if len(errs) != 1 || e.Line != tc.line || e.Key != "syntax" || !strings.Contains(e.Msg, tc.msg) || strings.ContainsAny(e.Msg, "\t\n") {
				t.Errorf("got %q, want one syntax error at line %d mentioning %q", errs, tc.line, tc.msg)
			}
		})
	}
}

func TestAxesExpandFromBaseWithSet(t *testing.T) {
	s, err := ParseStudy([]byte(`
name: t
epochs: 3
base: {hidden: [16], optimizer: adam, lr: 0.002, batch: 32}
axes:
  - {name: opt, key: optimizer, values: [sgd, adam], set: {lr: 0}}
  - {name: reg, keys: [l1, l2], values: [1e-3]}
  - {name: arch, key: hidden, values: [8, [8, 4]]}
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		axis, value string
		edit        func(*engine.Config)
	}{
		{"opt", "sgd", func(c *engine.Config) { c.Optimizer, c.LR = "sgd", 0.01 }},
		{"opt", "adam", func(c *engine.Config) { c.LR = 0.001 }},
		{"reg", "1e-3", func(c *engine.Config) { c.L1, c.L2 = 1e-3, 1e-3 }},
		{"arch", "8", func(c *engine.Config) { c.Hidden = []int{8} }},
		{"arch", "[8, 4]", func(c *engine.Config) { c.Hidden = []int{8, 4} }},
	}
	if len(s.Points) != len(want) {
		t.Fatalf("got %d points, want %d", len(s.Points), len(want))
	}
	for i, w := range want {
		c := engine.Config{Hidden: []int{16}, Activation: "relu", Init: "glorot_uniform", Optimizer: "adam", LR: 0.002, Batch: 32, Epochs: 3}
		w.edit(&c)
		pt := s.Points[i]
		if pt.Axis != w.axis || pt.Value != w.value || !configsEqual(pt.Params.Config(0), c) || pt.Params.Key() != configKey(c) {
			t.Errorf("point %d = %s=%s %+v, want %s=%s %+v", i, pt.Axis, pt.Value, pt.Params.Config(0), w.axis, w.value, c)
		}
	}
	if s.Folds != defaultFolds || s.Seed != defaultSeed || s.Data.Kind != "mnist" {
		t.Errorf("defaults: folds %d seed %d data %v", s.Folds, s.Seed, s.Data)
	}
}

func configsEqual(a, b engine.Config) bool {
	return configKey(a) == configKey(b) && slices.Equal(a.Hidden, b.Hidden)
}

func TestGridIsCartesianProductInFileOrder(t *testing.T) {
	s, err := ParseStudy([]byte("grid:\n  lr: [0.1, 0.01]\n  batch: [16, 32, 64]\n"), "g.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pt := range s.Points {
		got = append(got, pt.Value)
		if pt.Axis != "grid" {
			t.Errorf("axis %q, want grid", pt.Axis)
		}
	}
	want := []string{"lr=0.1, batch=16", "lr=0.1, batch=32", "lr=0.1, batch=64", "lr=0.01, batch=16", "lr=0.01, batch=32", "lr=0.01, batch=64"}
	if !slices.Equal(got, want) {
		t.Errorf("grid values %q, want %q", got, want)
	}
	if c := s.Points[5].Params.Config(0); c.LR != 0.01 || c.Batch != 64 {
		t.Errorf("last grid config lr %v batch %d", c.LR, c.Batch)
	}
}

func TestRandomSamplesAreDistinctAndSeeded(t *testing.T) {
	src := func(seed int) string {
		return "random:\n  n: 12\n  seed: " + strconv.Itoa(seed) + `
  params:
    lr: {log_uniform: [1e-4, 1e-1]}
    batch: {int: [16, 20]}
    hidden: {choice: [[8], [16, 8]]}
    dropout: {uniform: [0, 0.5]}
`
	}
	a, err := ParseStudy([]byte(src(1)), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ParseStudy([]byte(src(1)), "r.yaml")
	c, _ := ParseStudy([]byte(src(2)), "r.yaml")
	if len(a.Points) != 12 {
		t.Fatalf("%d samples, want 12", len(a.Points))
	}
	keys := map[string]bool{}
	for i, pt := range a.Points {
		if keys[pt.Params.Key()] {
			t.Errorf("sample %d repeats", i)
		}
		keys[pt.Params.Key()] = true
		cfg := pt.Params.Config(0)
		if cfg.LR < 1e-4 || cfg.LR > 1e-1 || cfg.Batch < 16 || cfg.Batch > 20 || cfg.Dropout < 0 || cfg.Dropout > 0.5 ||
			!(slices.Equal(cfg.Hidden, []int{8}) || slices.Equal(cfg.Hidden, []int{16, 8})) {
			t.Errorf("sample %d out of its ranges: %+v", i, cfg)
		}
		if cfg.LR != roundSample(cfg.LR) {
			t.Errorf("sample %d lr %v not rounded to %d digits", i, cfg.LR, sampleDigits)
		}
		if b.Points[i].Params.Key() != pt.Params.Key() || b.Points[i].Value != pt.Value {
			t.Errorf("sample %d differs between two parses with the same seed", i)
		}
	}
	same := 0
	for i := range c.Points {
		if c.Points[i].Params.Key() == a.Points[i].Params.Key() {
			same++
		}
	}
	if same == len(a.Points) {
		t.Error("seeds 1 and 2 drew the same samples")
	}
}

func TestRandomWithoutRepeatsExhaustsSmallSpace(t *testing.T) {
	s, err := ParseStudy([]byte("random:\n  n: 6\n  params:\n    batch: {int: [1, 3]}\n    optimizer: {choice: [sgd, adam]}\n"), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Configurations(); n != 6 {
		t.Errorf("%d distinct configs, want all 6", n)
	}
}

func TestStudyWithoutAxesTrainsBase(t *testing.T) {
	s, err := ParseStudy([]byte("base: {hidden: [4]}\n"), "dir/b.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 1 || s.Points[0].Axis != "base" || s.Name != "b" {
		t.Errorf("got %+v", s)
	}
}

func TestDataSpecs(t *testing.T) {
	for src, want := range map[string]DataSpec{
		"data: mnist":                                            {Kind: "mnist"},
		"data: {idx: m}":                                         {Kind: "mnist", Path: "dir/m"},
		"data: {images: /a, labels: b}":                          {Kind: "idx", Path: "/a", Labels: "dir/b"},
		"data: {csv: x.csv, label: y}":                           {Kind: "csv", Path: "dir/x.csv", Label: "y"},
		"data: {csv: x.csv, scale: none}":                        {Kind: "csv", Path: "dir/x.csv", Scale: "none"},
		"data: {csv: x.csv, label: 0, scale: minmax}":            {Kind: "csv", Path: "dir/x.csv", Label: "0", Scale: "minmax"},
		"data: {csv: x.csv, test: /t.csv}":                       {Kind: "csv", Path: "dir/x.csv", Test: "/t.csv"},
		"data: {test: t.csv, csv: x.csv, label: y, scale: none}": {Kind: "csv", Path: "dir/x.csv", Label: "y", Scale: "none", Test: "dir/t.csv"},
	} {
		s, err := ParseStudy([]byte(src+"\nbase: {hidden: [4]}\n"), "dir/s.yaml")
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if s.Data != want {
			t.Errorf("%s: got %+v, want %+v", src, s.Data, want)
		}
	}
	errs := studyErrors(t, "data: {csv: x.csv, images: y}\n")
	if errs[0].Key != "data" {
		t.Errorf("got %v", errs[0])
	}
}

func TestRefitKey(t *testing.T) {
	for src, want := range map[string]bool{"": false, "refit: true\n": true, "refit: false\n": false} {
		s, err := ParseStudy([]byte(src+"base: {hidden: [4]}\n"), "s.yaml")
		if err != nil || s.Refit != want {
			t.Errorf("%q: Refit %v, %v", src, s != nil && s.Refit, err)
		}
	}
}

func TestSeedPreset(t *testing.T) {
	s, err := Preset("seed")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "seed" || s.Folds != 4 || s.Seed != 42 || s.Data.Kind != "mnist" || s.Data.Path != "" {
		t.Errorf("header: %+v", s)
	}
	base := engine.Config{Hidden: []int{128}, Activation: "relu", Init: "glorot_uniform", Optimizer: "adam", LR: 0.001, Batch: 128, Epochs: 10}
	if !configsEqual(s.Base.Config(0), base) {
		t.Errorf("base %+v, want %+v", s.Base, base)
	}
	counts := map[string]int{}
	for _, pt := range s.Points {
		counts[pt.Axis]++
	}
	want := map[string]int{"optimizer": 5, "adam_lr": 5, "sgd_decay": 5, "batch": 5, "activation": 5, "init": 5,
		"architecture": 5, "kernel_l1_l2": 5, "activity_l1_l2": 3, "dropout": 4}
	if len(counts) != len(want) {
		t.Errorf("axes %v, want %v", counts, want)
	}
	for a, n := range want {
		if counts[a] != n {
			t.Errorf("axis %s has %d values, want %d", a, counts[a], n)
		}
	}
	// The baseline appears on 6 axes and trains once: 47 points, 42 configs.
	if len(s.Points) != 47 || s.Configurations() != 42 {
		t.Errorf("%d points, %d distinct configs; want 47 and 42", len(s.Points), s.Configurations())
	}
	baseKey := configKey(base)
	var onBase []string
	for _, pt := range s.Points {
		if pt.Params.Key() == baseKey {
			onBase = append(onBase, pt.Axis+"="+pt.Value)
		}
		switch pt.Axis {
		case "optimizer":
			if pt.Params.Config(0).LR != engine.DefaultLR[pt.Value] {
				t.Errorf("optimizer %s has lr %v, want its Keras default", pt.Value, pt.Params.Config(0).LR)
			}
		case "sgd_decay":
			if pt.Params.Config(0).Optimizer != "sgd" || pt.Params.Config(0).LR != 0.01 || pt.Params.Config(0).Decay == 0 {
				t.Errorf("decay point %+v", pt.Params.Config(0))
			}
		case "dropout":
			if !slices.Equal(pt.Params.Config(0).Hidden, []int{256}) || pt.Params.Config(0).Dropout == 0 {
				t.Errorf("dropout point %+v", pt.Params.Config(0))
			}
		case "kernel_l1_l2", "activity_l1_l2":
			if pt.Params.Config(0).L1 != pt.Params.Config(0).L2 || pt.Params.Config(0).ActivityL1 != pt.Params.Config(0).ActivityL2 {
				t.Errorf("L1≠L2 in %+v", pt.Params.Config(0))
			}
		}
	}
	wantBase := []string{"optimizer=adam", "adam_lr=0.001", "batch=128", "activation=relu", "init=glorot_uniform", "architecture=[128]"}
	if !slices.Equal(onBase, wantBase) {
		t.Errorf("baseline appears as %v, want %v", onBase, wantBase)
	}
}

func TestSeedPresetShippedInExamples(t *testing.T) {
	embedded, err := PresetSource("seed")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("../../examples/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(embedded, shipped) {
		t.Error("examples/seed.yaml differs from sweeps/presets/seed.yaml: copy one onto the other")
	}
	if _, err := Preset("nope"); err == nil || !strings.Contains(err.Error(), "seed") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestKeepAxesAndSetEpochs(t *testing.T) {
	s, _ := Preset("seed")
	if err := s.KeepAxes([]string{"batch", "dropout"}); err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 9 || !slices.Equal(s.Axes(), []string{"batch", "dropout"}) {
		t.Errorf("kept %d points on %v", len(s.Points), s.Axes())
	}
	if err := s.KeepAxes([]string{"lr"}); err == nil || !strings.Contains(err.Error(), "batch, dropout") {
		t.Errorf("unknown axis: %v", err)
	}
	old := s.Points[0].Params.Key()
	s.SetEpochs(2)
	if s.Points[0].Params.Config(0).Epochs != 2 || s.Points[0].Params.Key() == old || s.Points[0].Params.Key() != configKey(s.Points[0].Params.Config(0)) {
		t.Errorf("SetEpochs: %+v", s.Points[0])
	}
}

func TestParamsKey(t *testing.T) {
	a := engine.Config{Hidden: []int{128}, Optimizer: "Adam", Init: "GlorotUniform", Seed: 5}
	b := engine.DefaultConfig()
	if configKey(a) != configKey(b) {
		t.Error("equivalent configs (defaults, Keras spellings, seed) have different keys")
	}
	c := b
	c.Batch = 64
	if configKey(c) == configKey(b) {
		t.Error("different configs share a key")
	}
	// Fixed forever: stored units are found by this value.
	if key := configKey(b); key != "77289123a015efb1adf6fe12ce356b1d" {
		t.Errorf("key of DefaultConfig() = %s changed: stored units would not be found", key)
	}
	if _, err := NewParams(engine.Config{Batch: -1}); err == nil {
		t.Error("NewParams accepted batch -1")
	}
	// A model's configuration keys as the config it was built from, seed aside.
	m, err := engine.New(a, 3, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := ParamsOf(m.Normalized()); p.Key() != configKey(b) || p.Config(5).Seed != 5 || p.Normalized(7).Config().Seed != 7 {
		t.Errorf("ParamsOf(a model of a): key %s, want %s", p.Key(), configKey(b))
	}
}

// configKey is the Key of c's Params.
func configKey(c engine.Config) string {
	p, err := NewParams(c)
	if err != nil {
		panic(err)
	}
	return p.Key()
}

// Each problem gives one message, not a second one that contradicts it or
// follows from it.
func TestOneErrorPerProblem(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		key, msg  string
	}{
		{"random n 0", "random:\n  n: 0\n  params:\n    batch: {choice: [16, 32]}\n", 2, "random.n", "0 is out of range [1, "},
		{"random not a mapping", "random: 3\n", 1, "random", "want a mapping"},
		{"random params not a mapping", "random:\n  n: 2\n  params: 3\n", 3, "random.params", "want a mapping"},
		{"random without params", "random:\n  n: 2\n", 2, "random", "missing params"},
		{"random without n", "random:\n  params:\n    batch: {choice: [16, 32]}\n", 2, "random", "missing n"},
		{"unknown data key", "data: {foo: x}\n", 1, "data.foo", "unknown key"},
		{"data list", "data: [1]\n", 1, "data", "want a mapping"},
		// Two values of one axis, or of one grid key in every combination,
		// that give the same configuration were shown as two rows with the
		// same numbers, as if lr 0 trained as well as lr 0.001.
		{"same configuration on an axis", "axes:\n  - name: lr\n    key: lr\n    values: [0,\n      0.001]\n", 5, "axes[0].values[1]",
			"lr = 0.001: the same configuration as lr = 0 once defaults and names are filled in (lr 0 is the optimizer's default lr"},
		{"same name on an axis", "axes:\n  - {name: init, key: init, values: [he_normal, HeNormal]}\n", 2, "axes[0].values[1]", "init = HeNormal: the same configuration as init = he_normal"},
		{"same configuration in a grid", "grid:\n  batch: [32, 64]\n  lr: [0.001, 0]\n", 3, "grid.lr[1]", "lr=0: the same configuration as lr=0.001 once defaults and names are filled in"},
		{"same widths in a grid", "grid:\n  hidden: [[8], 8]\n  lr: [0.1, 0.01]\n", 2, "grid.hidden[1]", "hidden=8: the same configuration as hidden=[8]"},
		// residual: true on a network without two equal hidden widths in a
		// row, or batch_norm: true without a hidden layer, normalizes away:
		// the study showed residual=true beside residual=false with the same
		// numbers, as if skip connections did nothing.
		{"residual on an axis", "base: {hidden: [128]}\naxes:\n  - name: r\n    key: residual\n    values: [false,\n      true]\n", 6, "axes[0].values[1]",
			"r = true: residual: true changes nothing for hidden [128]: a skip connection joins two hidden layers of equal width in a row (e.g. [128, 128])"},
		{"residual in a grid", "base: {hidden: [64, 32]}\ngrid:\n  lr: [0.1, 0.01]\n  residual: [false, true]\n", 4, "grid.residual[1]", "residual: true changes nothing for hidden [64, 32]"},
		{"residual in the base", "base: {hidden: [128], residual: true}\n", 1, "base.residual", "residual: true changes nothing for hidden [128]"},
		{"batch norm in the base", "base: {hidden: [], batch_norm: true}\ngrid: {lr: [0.1, 0.01]}\n", 1, "base.batch_norm", "batch_norm: true changes nothing without a hidden layer"},
		// nesterov without momentum and activity_undivided without
		// activity terms change nothing either (Normalize keeps them: they
		// are in stored keys): nesterov=true beside nesterov=false showed
		// the same numbers.
		{"nesterov on an axis", "base: {optimizer: sgd}\naxes:\n  - {name: nag, key: nesterov, values: [false, true]}\n", 3, "axes[0].values[1]",
			"nag = true: nesterov: true changes nothing with momentum 0 (plain SGD, as Keras trains it): set momentum, e.g. 0.9, or leave nesterov out"},
		{"nesterov in a grid", "base: {optimizer: sgd}\ngrid:\n  lr: [0.1, 0.01]\n  nesterov: [false, true]\n", 4, "grid.nesterov[1]", "nesterov: true changes nothing with momentum 0"},
		{"activity_undivided on an axis", "base: {l2: 0.01}\naxes:\n  - {name: u, key: activity_undivided, values: [false, true]}\n", 3, "axes[0].values[1]",
			"u = true: activity_undivided: true changes nothing without activity_l1 or activity_l2 (there are no activity terms to divide): set one, or leave activity_undivided out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := studyErrors(t, tc.src)
			if e := errs[0]; len(errs) != 1 || e.Line != tc.line || e.Key != tc.key || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %q, want one error at line %d, key %q, containing %q", errs, tc.line, tc.key, tc.msg)
			}
		})
	}
}

// An empty axes or grid section is refused: it used to train the base
// alone, silently.
func TestEmptyAxesOrGridIsAnError(t *testing.T) {
	for _, tc := range []struct{ src, key, msg string }{
		{"axes: []\n", "axes", "no axes"},
		{"axes:\n", "axes", "no axes"},
		{"axes:\n  # to do\n", "axes", "no axes"},
		{"grid: {}\n", "grid", "no keys to vary"},
		{"grid:\n", "grid", "no keys to vary"},
	} {
		errs := studyErrors(t, "base: {hidden: [4]}\n"+tc.src)
		if e := errs[0]; len(errs) != 1 || e.Line != 2 || e.Key != tc.key || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%q: got %q, want one error at line 2, key %s, containing %q", tc.src, errs, tc.key, tc.msg)
		}
	}
}

// A study varies its base one way (the README: either axes, grid, random
// or sampler): two of them together are refused at the second.
func TestAxesGridAndRandomExcludeEachOther(t *testing.T) {
	const (
		axes    = "axes:\n  - {name: a, key: lr, values: [0.1]}\n"
		grid    = "grid:\n  batch: [16, 32]\n"
		random  = "random:\n  n: 1\n  params:\n    batch: {int: [16, 32]}\n"
		sampler = "sampler:\n  kind: tpe\n  n: 1\n  params:\n    batch: {int: [16, 32]}\n"
	)
	for _, tc := range []struct {
		src, key string
		line     int
	}{
		{axes + grid, "grid", 3},
		{grid + axes, "axes", 3},
		{axes + random, "random", 3},
		{grid + random, "random", 3},
		{random + sampler, "sampler", 5},
	} {
		errs := studyErrors(t, tc.src)
		if e := errs[0]; len(errs) != 1 || e.Line != tc.line || e.Key != tc.key || !strings.Contains(e.Msg, "axes, grid, random or sampler, not several") {
			t.Errorf("%q: got %q, want one error at line %d, key %s", tc.src, errs, tc.line, tc.key)
		}
	}
	errs := studyErrors(t, axes+grid+random)
	if len(errs) != 2 || errs[0].Key != "grid" || errs[1].Key != "random" || !strings.Contains(errs[1].Msg, "axes is at line 1") {
		t.Errorf("all three: got %q", errs)
	}
}

func TestAnchorsAndAliases(t *testing.T) {
	s, err := ParseStudy([]byte("base: &b {hidden: [4], lr: 0.01}\naxes:\n  - {name: a, key: batch, values: &v [16, 32], set: *b}\n  - {name: b, key: epochs, values: *v}\n"), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 4 || s.Points[0].Params.Config(0).LR != 0.01 || s.Points[3].Params.Epochs() != 32 {
		t.Errorf("got %+v", s.Points)
	}
	errs := studyErrors(t, "base: {hidden: [4]}\naxes:\n  - {name: a, key: lr, values: *nope}\n")
	if len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Msg, "nope") {
		t.Errorf("unknown alias: %q", errs)
	}
}

func TestOneDocumentPerFile(t *testing.T) {
	errs := studyErrors(t, "base: {hidden: [4]}\n---\nbase: {hidden: [8]}\n")
	if len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Msg, "one YAML document") {
		t.Errorf("got %q", errs)
	}
}

// Scalars are typed by the YAML 1.2 core schema, as before: 1e-3 is a
// number, yes is text, "0.1" is text.
func TestScalarTypes(t *testing.T) {
	s, err := ParseStudy([]byte("base: {hidden: 0x10, lr: 1e-3, momentum: .5, decay: 1_0, optimizer: sgd, nesterov: True, batch: +32, epochs: 0o7}\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Base.Config(0)
	if !slices.Equal(c.Hidden, []int{16}) || c.LR != 1e-3 || c.Momentum != 0.5 || c.Decay != 10 || !c.Nesterov || c.Batch != 32 || c.Epochs != 7 {
		t.Errorf("got %+v", c)
	}
	for src, want := range map[string]string{
		"base: {nesterov: yes}\n":               "want true or false, got \"yes\"",
		"base: {lr: \"0.1\"}\n":                 "want a number, got \"0.1\"",
		"base: {batch: 99999999999999999999}\n": "want an integer, got 99999999999999999999",
		"base: {activation: !!str 3}\n":         `unknown value "3"`,
		"base: {lr: !!int 0.5}\n":               `cannot read "0.5" as !!int`,
		"base: !foo {lr: 1}\n":                  "unsupported tag !foo",
		"base: {hidden: [4], lr: !!float 1}\n":  "-",
		"base: {hidden: [4], activation: ~}\n":  "want a name, got null",
	} {
		_, err := ParseStudy([]byte(src), "s.yaml")
		switch {
		case want == "-" && err != nil:
			t.Errorf("%q: %v", src, err)
		case want != "-" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got %v, want an error containing %q", src, err, want)
		}
	}
}

// The parser's spec is plain Go: expansion needs no YAML.
func TestExpandSpec(t *testing.T) {
	sp := &spec{file: "go", name: "g", folds: 3, seed: 7, metric: "accuracy", data: DataSpec{Kind: "mnist"}, baseLine: 1, gridLine: 5,
		base: []setting{{"hidden", value{"[8]", 2, []int{8}}}, {"batch", value{"16", 3, int64(16)}}},
		grid: []gridKey{
			{"lr", []value{{"0.1", 5, 0.1}, {"1", 5, int64(1)}}},
			{"hidden", []value{{"4", 6, int64(4)}, {"[4, 2]", 6, []int{4, 2}}}},
		}}
	s, errs := expand(sp)
	if errs != nil {
		t.Fatal(errs)
	}
	var got []string
	for _, pt := range s.Points {
		c := pt.Params.Config(0)
		got = append(got, fmt.Sprintf("%s|%v|%v|%d", pt.Value, c.LR, c.Hidden, c.Batch))
	}
	want := []string{"lr=0.1, hidden=4|0.1|[4]|16", "lr=0.1, hidden=[4, 2]|0.1|[4 2]|16", "lr=1, hidden=4|1|[4]|16", "lr=1, hidden=[4, 2]|1|[4 2]|16"}
	if !slices.Equal(got, want) || s.Name != "g" || s.Folds != 3 || s.Seed != 7 {
		t.Errorf("got %q (%s, %d folds, seed %d), want %q", got, s.Name, s.Folds, s.Seed, want)
	}
	sp.grid[0].values[0] = value{"-1", 5, int64(-1)}
	if _, errs := expand(sp); len(errs) != 1 || !strings.Contains(errs[0].Error(), "go:5: grid.lr[0]: grid = lr=-1, hidden=4: lr") {
		t.Errorf("bad value: %q", errs)
	}
}

// TestGridProblemOnce: a bad grid value failed every combination with it,
// each reported at the grid's line (3 × 3 lines for the two below); each
// is reported once, at its value's line, with the count of the others. A
// problem of a combination (momentum beside adam) still names it.
func TestGridProblemOnce(t *testing.T) {
	errs := studyErrors(t, "grid:\n  lr: [-0.1, 0.01]\n  batch: [16, 32, 64]\n  dropout: [0.1,\n    1.5, 0.2]\n")
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"study.yaml:2: grid.lr[0]: grid = lr=-0.1, batch=16, dropout=0.1: lr: -0.1 is not a finite value ≥ 0 (and 8 more combinations with it)",
		"study.yaml:5: grid.dropout[1]: grid = lr=0.01, batch=16, dropout=1.5: dropout: 1.5 (want 0 ≤ rate < 1) (and 2 more combinations with it)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	errs = studyErrors(t, "base: {optimizer: sgd, momentum: 0.9}\ngrid:\n  optimizer: [sgd, adam]\n  lr: [0.1, 0.01]\n")
	if len(errs) != 1 || errs[0].Line != 3 || errs[0].Key != "grid" || !strings.Contains(errs[0].Msg, "grid = optimizer=adam, lr=0.1: momentum, nesterov and decay apply to sgd only (optimizer is adam) (and 1 more combination with it)") {
		t.Errorf("got %v", errs)
	}
}

// TestValuesThatChangeSomething: a value that changes the configuration in
// some combination (a residual switch some network keeps, lr 0 beside sgd)
// is accepted; TestOneErrorPerProblem has those that change none.
func TestValuesThatChangeSomething(t *testing.T) {
	for _, src := range []string{
		"grid:\n  optimizer: [adam, sgd]\n  lr: [0.001, 0]\n", // lr 0 is 0.001 beside adam only: not the same in every combination
		"grid:\n  hidden: [[64, 32], [64, 64]]\n  residual: [false, true]\n",
		"base: {residual: true}\naxes:\n  - {name: depth, key: hidden, values: [[8], [8, 8]]}\n",
		"axes:\n  - {name: r, key: hidden, set: {residual: true}, values: [[8], [8, 8]]}\n",
	} {
		if _, err := ParseStudy([]byte(src), "study.yaml"); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

// The seed study was first run on Keras 3 before 3.14, whose activity
// regularizer was not divided by the batch size (docs/keras-semantics.md):
// the seed preset's activity axis trains that form; a new study keeps the
// divided, current form.
func TestSeedPresetActivityUndivided(t *testing.T) {
	s, err := Preset("seed")
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range s.Points {
		if got, want := pt.Params.Config(0).ActivityUndivided, pt.Axis == "activity_l1_l2"; got != want {
			t.Errorf("%s=%s: activity_undivided %v, want %v", pt.Axis, pt.Value, got, want)
		}
	}
	n, err := ParseStudy([]byte("axes:\n  - {name: act, keys: [activity_l1, activity_l2], values: [1e-4]}\n"), "new.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c := n.Points[0].Params.Config(0); c.ActivityUndivided || c.ActivityL1 != 1e-4 {
		t.Errorf("a new study's activity axis: %+v, want the divided form", c)
	}
}

// The seed preset's points, in order, and their keys: stored units are
// found by these keys, so a change retrains the study.
func TestSeedPresetPointsPinned(t *testing.T) {
	s, err := Preset("seed")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	h := sha256.New()
	for _, pt := range s.Points {
		names = append(names, strings.ReplaceAll(pt.Axis+"="+pt.Value, " ", ""))
		fmt.Fprintln(h, pt.Params.Key())
	}
	want := strings.Fields(`
		optimizer=sgd optimizer=adam optimizer=rmsprop optimizer=adagrad optimizer=adadelta
		adam_lr=0.1 adam_lr=0.01 adam_lr=0.001 adam_lr=0.0005 adam_lr=0.0001
		sgd_decay=1e-2 sgd_decay=1e-3 sgd_decay=1e-4 sgd_decay=1e-5 sgd_decay=1e-6
		batch=32 batch=64 batch=128 batch=256 batch=512
		activation=relu activation=tanh activation=sigmoid activation=elu activation=selu
		init=random_normal init=he_normal init=glorot_uniform init=lecun_normal init=random_uniform
		architecture=[128] architecture=[128,64] architecture=[256,128] architecture=[512,256,128] architecture=[128,128,64]
		kernel_l1_l2=1e-2 kernel_l1_l2=1e-3 kernel_l1_l2=1e-4 kernel_l1_l2=1e-5 kernel_l1_l2=1e-6
		activity_l1_l2=1e-3 activity_l1_l2=1e-4 activity_l1_l2=1e-5
		dropout=0.1 dropout=0.25 dropout=0.4 dropout=0.5`)
	if !slices.Equal(names, want) {
		t.Errorf("points %q, want %q", names, want)
	}
	if got := hex.EncodeToString(h.Sum(nil))[:16]; got != "8634e963a8ca6255" {
		t.Errorf("digest of the seed preset's keys = %s changed: stored units would not be found", got)
	}
}

func TestFuseDefaultsToTrue(t *testing.T) {
	for src, want := range map[string]bool{"name: a\n": true, "fuse: true\n": true, "fuse: false\n": false} {
		s, err := ParseStudy([]byte(src), "s.yaml")
		if err != nil || s.Fuse != want {
			t.Errorf("%q: fuse %v (%v), want %v", src, s != nil && s.Fuse, err, want)
		}
	}
	if s, err := Preset("seed"); err != nil || !s.Fuse {
		t.Errorf("the seed preset does not fuse (%v)", err)
	}
}

// TestDataNotFound: a data file that does not exist says that its path is
// the study file's, taken from the study file's folder, not the current
// one (the message named a path the user had not written).
func TestDataNotFound(t *testing.T) {
	dir := t.TempDir()
	s, err := ParseStudy([]byte("data: {csv: ../data/train.csv, test: held-out.csv}\n"), filepath.Join(dir, "studies", "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadData(s.Data, 0)
	if want := "open " + filepath.Join(dir, "data", "train.csv") + ": no such file or directory (data: in the study file; a relative path there is taken from the study file's folder)"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "train.csv"), []byte("a,y\n1,p\n2,q\n"), 0o644)
	train, err := LoadData(s.Data, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadTestData(s.Data, train)
	if want := "(data.test: in the study file; a relative path there is taken from the study file's folder)"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("test set: got %v, want it to end %q", err, want)
	}
}

// TestIdleSwitchesInTheBase: nesterov without momentum in the base is a
// note, not an error (Keras takes it; dropping it would change every
// stored key), and none when some configuration uses it.
func TestIdleSwitchesInTheBase(t *testing.T) {
	s, err := ParseStudy([]byte("base: {optimizer: sgd, nesterov: true}\naxes:\n  - {name: lr, key: lr, values: [0.1, 0.01]}\n"), "study.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := "study.yaml:1: base.nesterov: nesterov: true changes nothing with momentum 0 (plain SGD, as Keras trains it): set momentum, e.g. 0.9, or leave nesterov out"
	if len(s.Notes) != 1 || s.Notes[0] != want {
		t.Errorf("notes %q, want %q", s.Notes, want)
	}
	if !s.Points[0].Params.Config(0).Nesterov {
		t.Errorf("nesterov normalized away: the stored keys would change")
	}
	s, err = ParseStudy([]byte("base: {optimizer: sgd, nesterov: true}\naxes:\n  - {name: m, key: momentum, values: [0, 0.9]}\n"), "study.yaml")
	if err != nil || len(s.Notes) != 0 {
		t.Errorf("momentum 0.9 uses nesterov: notes %q, err %v", s.Notes, err)
	}
}
