package engine

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestNormalizeKeepsNoHiddenLayer(t *testing.T) {
	c, err := Config{Hidden: []int{}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := c.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.Hidden) != 0 {
		t.Fatalf("normalizing twice turned no hidden layer into %v", c2.Hidden)
	}
	d, _ := Config{}.Normalize()
	if !reflect.DeepEqual(d.Hidden, []int{128}) {
		t.Fatalf("nil hidden normalized to %v, want the default [128]", d.Hidden)
	}
}

func TestNormalizeCanonicalNamesAndErrors(t *testing.T) {
	c, err := Config{Init: "HeNormal", Optimizer: "SGD", Activation: "ReLU"}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if c.Init != "he_normal" || c.Optimizer != "sgd" || c.Activation != "relu" || c.LR != 0.01 {
		t.Fatalf("got %+v", c)
	}
	for _, bad := range []Config{
		{Activation: "swish"}, {Dropout: 1}, {Optimizer: "adam", Momentum: 0.9}, {Batch: -1}, {Hidden: []int{0}},
	} {
		if _, err := bad.Normalize(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestNormalizeBatchNormResidual checks that switches which change nothing
// are cleared and that configs without them marshal as before (the sweep
// store's content keys hash this JSON).
func TestNormalizeBatchNormResidual(t *testing.T) {
	for _, c := range []struct {
		hidden        []int
		bn, res       bool
		wantBN, wantR bool
	}{
		{[]int{128, 128}, true, true, true, true},
		{[]int{128, 64}, true, true, true, false}, // no two consecutive equal widths: no skip fits
		{[]int{64, 128, 128}, false, true, false, true},
		{[]int{128}, true, true, true, false},
		{[]int{}, true, true, false, false}, // no hidden layer to normalize
	} {
		n, err := Config{Hidden: c.hidden, BatchNorm: c.bn, Residual: c.res}.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		if n.BatchNorm != c.wantBN || n.Residual != c.wantR {
			t.Errorf("hidden %v batch_norm %v residual %v: normalized to %v %v", c.hidden, c.bn, c.res, n.BatchNorm, n.Residual)
		}
	}
	plain, _ := json.Marshal(DefaultConfig())
	if strings.Contains(string(plain), "batch_norm") || strings.Contains(string(plain), "residual") {
		t.Errorf("a config without batch norm or skips marshals the new keys: %s", plain)
	}
	both, _ := json.Marshal(Config{BatchNorm: true, Residual: true})
	if !strings.Contains(string(both), `"batch_norm":true`) || !strings.Contains(string(both), `"residual":true`) {
		t.Errorf("JSON %s lacks the switches", both)
	}
}

// A network too large for the machine's memory is refused, not allocated
// (the Go runtime would abort the process).
func TestNewRefusesWhatCannotFit(t *testing.T) {
	_, err := New(Config{Hidden: []int{1 << 30, 1 << 30}}, 784, 10, nil)
	if err == nil || !strings.Contains(err.Error(), "GiB") {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(Config{Hidden: []int{128}}, 784, 10, nil); err != nil {
		t.Fatal(err)
	}
	// A message names the first widths, not all (it was a 700 KB line for
	// 100,000 hidden layers).
	deep := make([]int, 100_000)
	for i := range deep {
		deep[i] = 100_000
	}
	_, err = New(Config{Hidden: deep}, 784, 10, nil)
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "network 784-100000-100000-100000-100000-100000-100000-…-10 (99,994 more)") {
		t.Errorf("%d hidden layers: %.400v", len(deep), err)
	}
}

// TestIdleSwitches: nesterov without momentum and activity_undivided
// without activity terms are named, with what makes them take effect,
// and kept by Normalize (stored configurations' keys hold them).
func TestIdleSwitches(t *testing.T) {
	name := func(k string) string { return "--" + k }
	for _, tc := range []struct {
		cfg  Config
		want []string // keys
	}{
		{Config{Optimizer: "sgd", Nesterov: true}, []string{"nesterov"}},
		{Config{Optimizer: "sgd", Nesterov: true, Momentum: 0.9}, nil},
		{Config{ActivityUndivided: true}, []string{"activity_undivided"}},
		{Config{ActivityUndivided: true, ActivityL2: 1e-4}, nil},
		{Config{Optimizer: "sgd", Nesterov: true, ActivityUndivided: true}, []string{"nesterov", "activity_undivided"}},
		{Config{}, nil},
	} {
		n, err := tc.cfg.Normalized()
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, i := range n.Idle(name) {
			keys = append(keys, i.Key)
		}
		if !slices.Equal(keys, tc.want) {
			t.Errorf("%+v: idle %v, want %v", tc.cfg, keys, tc.want)
		}
		if c := n.Config(); c.Nesterov != tc.cfg.Nesterov || c.ActivityUndivided != tc.cfg.ActivityUndivided {
			t.Errorf("%+v: Normalize changed a switch: %+v", tc.cfg, c)
		}
	}
	n, _ := Config{Optimizer: "sgd", Nesterov: true}.Normalized()
	if got, want := n.Idle(name)[0].Why, "changes nothing with --momentum 0 (plain SGD, as Keras trains it): set --momentum, e.g. 0.9, or leave --nesterov out"; got != want {
		t.Errorf("why: %q, want %q", got, want)
	}
}
