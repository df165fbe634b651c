package study

import (
	"math"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

const tpeStudy = `epochs: 3
base: {optimizer: adam, hidden: [64]}
sampler:
  kind: tpe
  n: 20
  params:
    lr: {log_uniform: [1e-4, 0.1]}
    dropout: {uniform: [0, 0.5]}
    batch: {int: [16, 256]}
    activation: {choice: [relu, tanh]}
`

func TestSamplerStudy(t *testing.T) {
	s, err := ParseStudy([]byte(tpeStudy), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 0 || s.Search == nil {
		t.Fatalf("points %d, search %v: want none and a search", len(s.Points), s.Search)
	}
	want := []tpe.Param{
		{Name: "lr", Kind: tpe.LogUniform, Low: 1e-4, High: 0.1},
		{Name: "dropout", Kind: tpe.Uniform, Low: 0, High: 0.5},
		{Name: "batch", Kind: tpe.Int, Low: 16, High: 256},
		{Name: "activation", Kind: tpe.Choice, Choices: 2},
	}
	if s.Search.Sampler != "tpe" || s.Search.N != 20 || s.Search.Seed != 42 || len(s.Search.Space) != 4 {
		t.Fatalf("search %+v", s.Search)
	}
	for i, p := range want {
		if s.Search.Space[i] != p {
			t.Errorf("space[%d] = %+v, want %+v", i, s.Search.Space[i], p)
		}
	}
	pt, kept, err := s.Search.Point([]float64{0.00123456, 0.5000001, 64, 1})
	if err != nil {
		t.Fatal(err)
	}
	if pt.Axis != "tpe" || pt.Value != "lr=0.001235, dropout=0.5, batch=64, activation=tanh" {
		t.Errorf("point %q %q", pt.Axis, pt.Value)
	}
	if kept[0] != 0.001235 || kept[1] != 0.5 {
		t.Errorf("kept %v: want reals to 4 digits, within the range", kept)
	}
	c := pt.Params.Config(0)
	if c.LR != 0.001235 || c.Dropout != 0.5 || c.Batch != 64 || c.Activation != "tanh" || c.Epochs != 3 || c.Optimizer != "adam" || c.Hidden[0] != 64 {
		t.Errorf("config %+v", c)
	}
	if x, ok := s.Search.X(pt); !ok || x[0] != 0.001235 || x[1] != 0.5 || x[2] != 64 || x[3] != 1 {
		t.Errorf("X(Point) = %v, %v; want the kept values", x, ok)
	}
	other := pt.Params.Config(0)
	other.Hidden = []int{128}
	otherParams, err := NewParams(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Search.X(Point{Params: otherParams}); ok {
		t.Error("X of a configuration with another hidden (not a key of the search) accepted")
	}
	other = pt.Params.Config(0)
	other.LR = 0.5
	if otherParams, err = NewParams(other); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Search.X(Point{Params: otherParams}); ok {
		t.Error("X of lr 0.5, outside [1e-4, 0.1], accepted")
	}
	s.SetEpochs(5)
	if pt, _, _ := s.Search.Point([]float64{0.001, 0.1, 32, 0}); pt.Params.Epochs() != 5 {
		t.Errorf("after SetEpochs(5): %d epochs", pt.Params.Epochs())
	}
	for _, x := range [][]float64{{0.001, 0.1, 32}, {0.001, 0.1, 32, 2}, {0.001, 0.1, 32, 0.5}} {
		if _, _, err := s.Search.Point(x); err == nil {
			t.Errorf("Point(%v) accepted", x)
		}
	}
	if _, _, err := s.Search.Point([]float64{0.001, math.NaN(), 32, 0}); err == nil {
		t.Error("a NaN dropout accepted")
	}
}

func TestSamplerSeed(t *testing.T) {
	s, err := ParseStudy([]byte(strings.Replace(tpeStudy, "  n: 20\n", "  n: 20\n  seed: 9\n", 1)), "t.yaml")
	if err != nil || s.Search.Seed != 9 {
		t.Fatalf("seed: %v, %v", s.Search, err)
	}
}
