package engine

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mlpsweep/mlpsweep/internal/words"
)

// Config is one MLP training configuration. Its JSON names are the keys of
// study files and of result tables. The zero value of an optional field
// means the Keras default.
type Config struct {
	Hidden     []int  `json:"hidden"`     // hidden layer widths, input to output
	Activation string `json:"activation"` // hidden activation: relu, tanh, sigmoid, elu, selu, linear
	Init       string `json:"init"`       // hidden kernel initializer (the output layer keeps glorot_uniform)
	// BatchNorm puts a Keras BatchNormalization (momentum 0.99, epsilon
	// 1e-3) after every hidden Dense, before its activation. Residual adds
	// each hidden layer's input to its output, a_l = a_{l−1} + dropout(act(…)),
	// on the hidden layers l ≥ 2 as wide as the layer before. Both are
	// omitted from JSON when off, so configs without them keep their keys.
	BatchNorm bool `json:"batch_norm,omitempty"`
	Residual  bool `json:"residual,omitempty"`

	Optimizer string  `json:"optimizer"` // sgd, adam, rmsprop, adagrad, adadelta
	LR        float64 `json:"lr"`        // 0: the optimizer's Keras default
	Momentum  float64 `json:"momentum"`  // sgd only
	Nesterov  bool    `json:"nesterov"`  // sgd only
	Decay     float64 `json:"decay"`     // legacy inverse-time decay lr/(1+decay·step), sgd only

	Batch  int `json:"batch"`
	Epochs int `json:"epochs"`

	L1                float64 `json:"l1"`                           // hidden kernel L1
	L2                float64 `json:"l2"`                           // hidden kernel L2
	ActivityL1        float64 `json:"activity_l1"`                  // hidden output L1
	ActivityL2        float64 `json:"activity_l2"`                  // hidden output L2
	ActivityUndivided bool    `json:"activity_undivided,omitempty"` // Keras 3.0–3.13: activity terms not divided by batch size
	Dropout           float64 `json:"dropout"`                      // rate after every hidden layer

	Seed int64 `json:"seed"`
}

// DefaultConfig is the seed study's baseline, the Keras MNIST workload of
// docs/keras-semantics.md: 784-128-10, relu, GlorotUniform, Adam 0.001,
// batch 128, 10 epochs.
func DefaultConfig() Config {
	c := defaultScalars()
	c.Hidden = append([]int(nil), defaultHidden[:]...)
	return c
}

// defaultHidden and defaultScalars make DefaultConfig; Normalize reads them
// without building a Config whose Hidden it would not use.
var defaultHidden = [...]int{128}

func defaultScalars() Config {
	return Config{
		Activation: "relu",
		Init:       "glorot_uniform",
		Optimizer:  "adam",
		Batch:      128,
		Epochs:     10,
	}
}

// Activations, initializers and optimizers the engine knows, by canonical name.
var (
	Activations  = []string{"relu", "tanh", "sigmoid", "elu", "selu", "linear"}
	Initializers = []string{"glorot_uniform", "glorot_normal", "random_normal", "random_uniform",
		"he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "zeros"}
	Optimizers = []string{"sgd", "adam", "rmsprop", "adagrad", "adadelta"}
)

// DefaultLR is each optimizer's Keras default learning rate.
var DefaultLR = map[string]float64{"sgd": 0.01, "adam": 0.001, "rmsprop": 0.001, "adagrad": 0.001, "adadelta": 0.001}

// CanonicalName folds Keras spellings onto ours: "HeNormal", "he_normal"
// and "henormal" all become "he_normal" when "he_normal" is in names.
func CanonicalName(s string, names []string) (string, bool) {
	if slices.Contains(names, s) {
		return s, true // already canonical: no folded copies to make
	}
	fold := func(x string) string { return strings.ToLower(strings.ReplaceAll(x, "_", "")) }
	for _, n := range names {
		if fold(n) == fold(s) {
			return n, true
		}
	}
	return s, false
}

// Normalize returns c with names in canonical form and defaults filled in
// (empty names, LR 0, batch and epochs 0), or an error naming the field
// and the accepted values. Switches that change nothing are cleared, so
// that equal networks have equal configs: batch_norm without hidden
// layers, and residual when no hidden layer l ≥ 2 is as wide as layer l−1
// (no skip connection fits; the network is the plain one).
func (c Config) Normalize() (Config, error) { return c.normalizeInto(nil) }

// Normalized is a configuration that passed Normalize: names in canonical
// form, defaults filled in, every value valid. A configuration is
// normalized once, where it enters (flags, a study file, a model file);
// what is built from a Normalized trusts it without checking again
// (NewNormalized, Model.ResetNormalized, study.Params). It cannot be
// changed, only copied out (Config) or given another seed (WithSeed), so
// it stays normalized. The zero Normalized is not valid: make one with
// Config.Normalized.
type Normalized struct {
	cfg Config // normalized; its Hidden is never written
	ok  bool   // made by Config.Normalized
}

// Normalized returns c normalized (Normalize) as a Normalized.
func (c Config) Normalized() (Normalized, error) {
	n, err := c.Normalize()
	if err != nil {
		return Normalized{}, err
	}
	return Normalized{cfg: n, ok: true}, nil
}

// Config returns the configuration (a copy: the caller may change it).
func (n Normalized) Config() Config {
	c := n.cfg
	c.Hidden = slices.Clone(c.Hidden)
	return c
}

// WithSeed returns n with the given seed (any seed is valid).
func (n Normalized) WithSeed(seed int64) Normalized {
	n.cfg.Seed = seed
	return n
}

// Hidden is the hidden layer widths (do not modify).
func (n Normalized) Hidden() []int { return n.cfg.Hidden }

// Epochs is the number of training epochs.
func (n Normalized) Epochs() int { return n.cfg.Epochs }

// check refuses the zero Normalized, which no Config.Normalized returned.
func (n Normalized) check() error {
	if !n.ok {
		return fmt.Errorf("engine: the zero Normalized config: make one with Config.Normalized")
	}
	return nil
}

// normalizeInto is Normalize with the copy of Hidden written into buf's
// storage when it is large enough (Model.Reset allocates nothing).
func (c Config) normalizeInto(buf []int) (Config, error) {
	d := defaultScalars()
	hidden := c.Hidden
	if hidden == nil {
		hidden = defaultHidden[:]
	}
	c.Hidden = append(buf[:0], hidden...) // a copy; empty (no hidden layer) stays empty
	if c.Hidden == nil {
		c.Hidden = []int{}
	}
	if err := canonicalField("activation", &c.Activation, d.Activation, Activations); err != nil {
		return c, err
	}
	if err := canonicalField("init", &c.Init, d.Init, Initializers); err != nil {
		return c, err
	}
	if err := canonicalField("optimizer", &c.Optimizer, d.Optimizer, Optimizers); err != nil {
		return c, err
	}
	if c.LR == 0 {
		c.LR = DefaultLR[c.Optimizer]
	}
	if c.Batch == 0 {
		c.Batch = d.Batch
	}
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	c.BatchNorm = c.BatchNorm && len(c.Hidden) > 0
	skips := false
	for l := range c.Hidden {
		skips = skips || skipFits(c.Hidden, l+1)
	}
	c.Residual = c.Residual && skips
	return c, c.validate()
}

// Idle is a switch that a normalized configuration sets and that changes
// nothing in its training: Key, and Why, what would make it take effect.
type Idle struct {
	Key string // "nesterov" or "activity_undivided"
	Why string // "changes nothing with momentum 0 (…): set momentum …"
}

// Idle lists the switches n sets that change nothing: nesterov with
// momentum 0 (plain SGD, which Keras also trains then) and
// activity_undivided without activity terms. name writes a configuration
// key as the user knows it (a study key, a --flag). Normalize keeps both
// switches, unlike batch_norm and residual, which it clears: they have
// been keys of stored configurations from the start, and a stored
// configuration's key must still match the study that made it.
func (n Normalized) Idle(name func(key string) string) []Idle {
	var idle []Idle
	c := n.cfg
	if c.Nesterov && c.Momentum == 0 {
		idle = append(idle, Idle{"nesterov", fmt.Sprintf("changes nothing with %s 0 (plain SGD, as Keras trains it): set %s, e.g. 0.9, or leave %s out",
			name("momentum"), name("momentum"), name("nesterov"))})
	}
	if c.ActivityUndivided && c.ActivityL1 == 0 && c.ActivityL2 == 0 {
		idle = append(idle, Idle{"activity_undivided", fmt.Sprintf("changes nothing without %s or %s (there are no activity terms to divide): set one, or leave %s out",
			name("activity_l1"), name("activity_l2"), name("activity_undivided"))})
	}
	return idle
}

// canonicalField sets *value to def when empty, then to its canonical
// name in names, or returns an error naming the field and the accepted values.
func canonicalField(field string, value *string, def string, names []string) error {
	if *value == "" {
		*value = def
	}
	name, ok := CanonicalName(*value, names)
	if !ok {
		return fmt.Errorf("%s: unknown value %q (want one of %s)", field, *value, strings.Join(names, ", "))
	}
	*value = name
	return nil
}

// skipFits reports whether hidden layer l (1-based) can have a skip
// connection: l ≥ 2 and H_l = H_{l−1}, so that a_{l−1} adds to its output.
func skipFits(hidden []int, l int) bool { return l >= 2 && hidden[l-1] == hidden[l-2] }

// hiddenText is hidden widths as messages show them, "[128 64]", cut
// short past words.MaxListed widths.
func hiddenText(hidden []int) string { return "[" + words.Ints(hidden, " ") + "]" }

func (c Config) validate() error {
	for i, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("hidden: layer %d has width %d (want ≥ 1)", i+1, h)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"lr", c.LR}, {"momentum", c.Momentum}, {"decay", c.Decay}, {"l1", c.L1}, {"l2", c.L2},
		{"activity_l1", c.ActivityL1}, {"activity_l2", c.ActivityL2}, {"dropout", c.Dropout}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("%s: %v is not a finite value ≥ 0", f.name, f.v)
		}
	}
	switch {
	case c.LR <= 0:
		return fmt.Errorf("lr: %v (want > 0)", c.LR)
	case c.Momentum >= 1:
		return fmt.Errorf("momentum: %v (want 0 ≤ momentum < 1)", c.Momentum)
	case c.Dropout >= 1:
		return fmt.Errorf("dropout: %v (want 0 ≤ rate < 1)", c.Dropout)
	case c.Batch < 1:
		return fmt.Errorf("batch: %d (want ≥ 1)", c.Batch)
	case c.Epochs < 1:
		return fmt.Errorf("epochs: %d (want ≥ 1)", c.Epochs)
	case c.Optimizer != "sgd" && (c.Momentum != 0 || c.Nesterov || c.Decay != 0):
		return fmt.Errorf("momentum, nesterov and decay apply to sgd only (optimizer is %s)", c.Optimizer)
	}
	return nil
}
