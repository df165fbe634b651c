package engine

import (
	"reflect"
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
