package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// groupConfigs is a group's worth of members that differ in everything a
// member may: optimizer (sgd with momentum and decay, adam, rmsprop,
// adagrad, adadelta), learning rate, activation, initializer, hidden widths
// (none at all included), dropout, batch norm, skip connections,
// regularizers and seed. They share batch 8 and 3 epochs.
func groupConfigs() []Config {
	base := func(c Config) Config {
		c.Batch, c.Epochs = 8, 3
		return c
	}
	return []Config{
		base(Config{Hidden: []int{8}, Activation: "relu", Optimizer: "sgd", LR: 0.05, Momentum: 0.9, Nesterov: true, Decay: 0.01, Dropout: 0.2, Seed: 1}),
		base(Config{Hidden: []int{16, 8}, Activation: "tanh", Optimizer: "adam", BatchNorm: true, L2: 1e-3, Seed: 2}),
		base(Config{Hidden: []int{5}, Activation: "elu", Init: "he_normal", Optimizer: "rmsprop", ActivityL1: 1e-3, Seed: 3}),
		base(Config{Hidden: []int{8, 8}, Activation: "selu", Init: "lecun_normal", Optimizer: "adagrad", LR: 0.05, Residual: true, Dropout: 0.1, Seed: 4}),
		base(Config{Hidden: []int{8, 8, 8}, Activation: "sigmoid", Optimizer: "adadelta", LR: 1, BatchNorm: true, Residual: true,
			L1: 1e-4, ActivityL2: 1e-3, ActivityUndivided: true, Dropout: 0.3, Seed: 5}),
		base(Config{Hidden: []int{}, Optimizer: "adam", LR: 0.01, Seed: 6}),
		base(Config{Hidden: []int{8}, Activation: "relu", Optimizer: "sgd", LR: 1e6, Seed: 7}), // diverges
	}
}

const divergingMember = 6

// configsGroup is a group of groupConfigs' members on in inputs and out
// outputs, of shuffle seed shuffleSeed, and its members.
func configsGroup(t *testing.T, in, out int, shuffleSeed int64) (*Group, []*Model) {
	t.Helper()
	cfgs := groupConfigs()
	members := make([]*Model, len(cfgs))
	for i, cfg := range cfgs {
		members[i] = mustNew(t, cfg, in, out)
	}
	g, err := NewGroup(members, shuffleSeed)
	if err != nil {
		t.Fatal(err)
	}
	return g, members
}

// withISA forces the kernels' ISA path for the caller's test (see kernels'
// own withISA) and returns the restore.
func withISA(t *testing.T, isa kernels.ISA) (restore func()) {
	t.Helper()
	prev := kernels.ActiveISA()
	if err := kernels.SetISA(isa); err != nil {
		t.Fatal(err)
	}
	return func() { kernels.SetISA(prev) }
}

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// TestGroupMatchesAlone checks, on every ISA path, that each member of a
// fused group that mixes optimizers, activations, widths, dropout, batch
// norm and skip connections ends with the bits it has trained alone with the
// same seeds: per-epoch losses and accuracies, validation figures, final
// weights and batch norm statistics, and Evaluate afterwards. One member
// diverges: it leaves the group where it diverges alone, and the others
// are unaffected.
func TestGroupMatchesAlone(t *testing.T) {
	const in, out, shuffleSeed = 12, 3, 42
	data := blobs(90, in, out, 21)
	for i := 0; i < 90; i += 9 {
		data.Rows = append(data.Rows, i)
	}
	for i := 1; i < 90; i++ {
		if i%9 != 0 && i%4 != 0 {
			data.Rows = append(data.Rows, i) // 70 rows in a scattered order: 8 full batches and one of 6
		}
	}
	val := blobs(40, in, out, 22)
	val.Rows = []int{39, 0, 17, 5, 22, 8, 31}
	for isa := kernels.Generic; isa <= kernels.DetectedISA(); isa++ {
		t.Run(isa.String(), func(t *testing.T) {
			defer withISA(t, isa)()
			cfgs := groupConfigs()
			alone := make([]History, len(cfgs))
			aloneModels := make([]*Model, len(cfgs))
			for i, cfg := range cfgs {
				m := mustNew(t, cfg, in, out)
				m.SetShuffleSeed(shuffleSeed)
				h, err := m.Fit(context.Background(), data, &val, nil)
				if err != nil {
					t.Fatal(err)
				}
				alone[i], aloneModels[i] = h, m
			}
			if !alone[divergingMember].Diverged || alone[divergingMember].Divergence == "diverged at epoch 1, step 1" {
				t.Fatalf("member %d should diverge after a few steps: %+v", divergingMember, withoutTimes(alone[divergingMember]))
			}

			g, members := configsGroup(t, in, out, shuffleSeed)
			seen := make([][]EpochStats, len(cfgs))
			fused, err := g.Fit(context.Background(), data, &val, func(i int, s EpochStats) { seen[i] = append(seen[i], s) })
			if err != nil {
				t.Fatal(err)
			}
			fusedLoss, fusedAccuracy := g.Evaluate(val)
			for i := range cfgs {
				a, f := aloneModels[i], members[i]
				if !sameHistory(alone[i], fused[i]) {
					t.Errorf("member %d: fused history differs from alone:\n%+v\n%+v", i, withoutTimes(fused[i]), withoutTimes(alone[i]))
				}
				if len(seen[i]) != len(fused[i].Epochs) {
					t.Errorf("member %d: onEpoch called %d times for %d epochs", i, len(seen[i]), len(fused[i].Epochs))
				}
				if !sameBits(a.params, f.params) || !sameBits(a.moving, f.moving) {
					t.Errorf("member %d: fused weights differ from alone", i)
				}
				if i == divergingMember {
					continue
				}
				la, aa := a.Evaluate(val)
				lf, af := f.Evaluate(val)
				if la != lf || aa != af || la != fusedLoss[i] || aa != fusedAccuracy[i] {
					t.Errorf("member %d: Evaluate %v %v fused, %v %v alone, Group.Evaluate %v %v", i, lf, af, la, aa, fusedLoss[i], fusedAccuracy[i])
				}
				if len(fused[i].Epochs) != 3 || fused[i].Diverged {
					t.Errorf("member %d: %d epochs, diverged %v", i, len(fused[i].Epochs), fused[i].Diverged)
				}
			}
		})
	}
}

// TestGroupOfOneIsFit checks that Model.Fit trains as a group of one whose
// shuffle seed is cfg.Seed, and that SetShuffleSeed moves the batches but
// not the initial weights.
func TestGroupOfOneIsFit(t *testing.T) {
	cfg := Config{Hidden: []int{6}, Optimizer: "adam", Batch: 4, Epochs: 2, Dropout: 0.2, Seed: 9}
	data := blobs(30, 5, 3, 4)
	fit := func(m *Model) History {
		h, err := m.Fit(context.Background(), data, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	m1 := mustNew(t, cfg, 5, 3)
	h1 := fit(m1)
	m2 := mustNew(t, cfg, 5, 3)
	g, err := NewGroup([]*Model{m2}, cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := g.Fit(context.Background(), data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sameHistory(h1, h2[0]) || !sameBits(m1.params, m2.params) {
		t.Error("a group of one with shuffle seed cfg.Seed differs from Model.Fit")
	}
	m3 := mustNew(t, cfg, 5, 3)
	if !sameBits(m3.params, mustNew(t, cfg, 5, 3).params) {
		t.Fatal("initial weights differ")
	}
	m3.SetShuffleSeed(cfg.Seed + 1)
	if sameHistory(h1, fit(m3)) {
		t.Error("another shuffle seed gave the same training")
	}
}

// TestGroupNoAllocations checks that a warm fused step allocates nothing,
// on full and partial batches read by row index, and that Evaluate and a
// reset to a group of as many members do not either.
func TestGroupNoAllocations(t *testing.T) {
	cfgs := groupConfigs()[:5]
	members := make([]*Model, len(cfgs))
	for i, cfg := range cfgs {
		members[i] = mustNew(t, cfg, 10, 4)
	}
	g, err := NewGroup(members, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := blobs(40, 10, 4, 7)
	rows := []int{31, 2, 17, 9, 0, 39, 22, 5}
	tgt := make([]float32, len(rows)*4)
	gatherRows(d.Y, 4, rows, tgt)
	if a := testing.AllocsPerRun(10, func() { g.TrainBatch(d, rows, tgt) }); a != 0 {
		t.Errorf("Group.TrainBatch allocates %v times per step", a)
	}
	if a := testing.AllocsPerRun(10, func() { g.TrainBatch(d, rows[:3], tgt) }); a != 0 {
		t.Errorf("a partial Group.TrainBatch allocates %v times per step", a)
	}
	d.Rows = rows
	if a := testing.AllocsPerRun(5, func() { g.Evaluate(d) }); a != 0 {
		t.Errorf("Group.Evaluate allocates %v times", a)
	}
	if a := testing.AllocsPerRun(5, func() { g.Reset(members[1:], 3) }); a != 0 {
		t.Errorf("Group.Reset allocates %v times", a)
	}
}

// TestGroupTrainBatchMatchesModels checks Group.TrainBatch's losses and
// weights against each member's own TrainBatch on the gathered batch.
func TestGroupTrainBatchMatchesModels(t *testing.T) {
	cfgs := groupConfigs()[:5]
	members, alone := make([]*Model, len(cfgs)), make([]*Model, len(cfgs))
	for i, cfg := range cfgs {
		members[i], alone[i] = mustNew(t, cfg, 10, 4), mustNew(t, cfg, 10, 4)
	}
	g, err := NewGroup(members, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := blobs(40, 10, 4, 8)
	rows := []int{3, 38, 11, 20, 7, 7, 0}
	x, y := make([]float32, len(rows)*10), make([]float32, len(rows)*4) // the batch gathered
	gatherRows(d.X, 10, rows, x)
	d.Targets(rows, y, 4)
	for step := range 3 {
		loss, correct, err := g.TrainBatch(d, rows, y)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range alone {
			l, c, err := m.TrainBatch(Data{X: x}, rowRange(0, len(rows)), y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Float32bits(l) != math.Float32bits(loss[i]) || c != correct[i] || !sameBits(m.params, members[i].params) {
				t.Errorf("step %d member %d: fused loss %v (%d correct), alone %v (%d)", step, i, loss[i], correct[i], l, c)
			}
		}
	}
}

func TestGroupErrors(t *testing.T) {
	a := mustNew(t, Config{Hidden: []int{4}, Batch: 4, Epochs: 2}, 3, 2)
	b := mustNew(t, Config{Hidden: []int{5}, Batch: 4, Epochs: 2}, 3, 2)
	for name, c := range map[string]struct {
		models []*Model
		want   string
	}{
		"empty":        {nil, "at least one"},
		"nil member":   {[]*Model{a, nil}, "nil"},
		"same model":   {[]*Model{a, b, a}, "same model"},
		"batch":        {[]*Model{a, mustNew(t, Config{Batch: 5, Epochs: 2}, 3, 2)}, "batch"},
		"epochs":       {[]*Model{a, mustNew(t, Config{Batch: 4, Epochs: 3}, 3, 2)}, "epochs"},
		"inputs":       {[]*Model{a, mustNew(t, Config{Batch: 4, Epochs: 2}, 4, 2)}, "inputs"},
		"outputs":      {[]*Model{a, mustNew(t, Config{Batch: 4, Epochs: 2}, 3, 3)}, "outputs"},
		"second batch": {[]*Model{b, a, mustNew(t, Config{Batch: 2, Epochs: 2}, 3, 2)}, "member 2"},
	} {
		if _, err := NewGroup(c.models, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: NewGroup error %v, want one mentioning %q", name, err, c.want)
		}
	}
	g, err := NewGroup([]*Model{a, b}, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := blobs(10, 3, 2, 1)
	for name, rows := range map[string][]int{"no rows": {}, "too many": {0, 1, 2, 3, 4}, "outside": {0, 10}, "negative": {-1}} {
		if _, _, err := g.TrainBatch(d, rows, d.Y); err == nil {
			t.Errorf("TrainBatch accepted %s", name)
		}
	}
	if _, _, err := g.TrainBatch(d, []int{1, 2}, d.Y[:3]); err == nil {
		t.Error("TrainBatch accepted short targets")
	}
	if _, err := g.Fit(context.Background(), Data{X: d.X, Y: d.Y[:5]}, nil, nil); err == nil {
		t.Error("Fit accepted bad data")
	}
	// A member reset to another batch size makes the group invalid until it is reset.
	if err := b.Reset(Config{Hidden: []int{5}, Batch: 2, Epochs: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Fit(context.Background(), d, nil, nil); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("Fit of a group whose members differ in batch: %v", err)
	}
}

// TestReset checks that Reset gives the model New would, that a reset to
// the same or a smaller shape allocates nothing, and that a failed Reset
// leaves the model as it was.
func TestReset(t *testing.T) {
	big := Config{Hidden: []int{16, 16, 12}, Optimizer: "adam", Batch: 16, Epochs: 2, Dropout: 0.2, BatchNorm: true, Residual: true, Seed: 1}
	small := Config{Hidden: []int{9, 5}, Activation: "tanh", Optimizer: "sgd", Momentum: 0.5, Batch: 8, Epochs: 2, L2: 1e-3, Seed: 2}
	other := Config{Hidden: []int{12}, Optimizer: "adagrad", Batch: 16, Epochs: 2, Residual: true, BatchNorm: true, Seed: 3}
	data, val := blobs(50, 7, 3, 3), blobs(20, 7, 3, 4)
	train := func(m *Model) History {
		h, err := m.Fit(context.Background(), data, &val, nil)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	m := mustNew(t, big, 7, 3)
	train(m)
	for _, cfg := range []Config{small, other, big} {
		if err := m.Reset(cfg); err != nil {
			t.Fatal(err)
		}
		fresh := mustNew(t, cfg, 7, 3)
		if !sameBits(m.params, fresh.params) || !slices.Equal(m.Config().Hidden, fresh.Config().Hidden) {
			t.Fatalf("%v: Reset's initial weights differ from New's", cfg.Hidden)
		}
		if !sameHistory(train(m), train(fresh)) || !sameBits(m.params, fresh.params) || !sameBits(m.moving, fresh.moving) {
			t.Errorf("%v: a reset model trains differently from a new one", cfg.Hidden)
		}
	}
	for _, cfg := range []Config{small, other, big} {
		if a := testing.AllocsPerRun(5, func() { m.Reset(cfg) }); a != 0 {
			t.Errorf("Reset to %v allocates %v times", cfg.Hidden, a)
		}
	}
	before := slices.Clone(m.params)
	bad := small
	bad.Activation = "swish"
	if err := m.Reset(bad); err == nil {
		t.Error("Reset accepted an unknown activation")
	}
	if !sameBits(before, m.params) || fmt.Sprint(m.Config().Hidden) != fmt.Sprint(big.Hidden) {
		t.Error("a failed Reset changed the model")
	}
}

// TestNormalized checks that a model built or reset from a Normalized
// config trains as one built from the Config, allocating nothing on reset,
// that the model never writes the Normalized's widths (a later Reset to a
// Config reuses the model's storage, not theirs), and that the zero
// Normalized is refused.
func TestNormalized(t *testing.T) {
	data := blobs(50, 7, 3, 3)
	train := func(m *Model) {
		if _, err := m.Fit(context.Background(), data, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	a := Config{Hidden: []int{12, 12}, Init: "HeNormal", Batch: 16, Epochs: 2, Residual: true, Seed: 4}
	b := Config{Hidden: []int{9}, Optimizer: "sgd", Momentum: 0.5, Batch: 8, Epochs: 2, Seed: 5}
	na, err := a.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	nb, err := b.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewNormalized(na, 7, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := mustNew(t, a, 7, 3)
	train(m)
	train(ref)
	if !sameBits(m.params, ref.params) || m.Config().Init != "he_normal" {
		t.Fatalf("NewNormalized trains differently from New (init %s)", m.Config().Init)
	}
	for _, c := range []struct {
		n   Normalized
		cfg Config
	}{{nb, b}, {na, a}} {
		if err := m.ResetNormalized(c.n); err != nil {
			t.Fatal(err)
		}
		ref := mustNew(t, c.cfg, 7, 3)
		train(m)
		train(ref)
		if !sameBits(m.params, ref.params) {
			t.Errorf("%v: ResetNormalized trains differently from New", c.cfg.Hidden)
		}
		for range 2 { // the second Reset writes the storage the first one freed
			if err := m.Reset(Config{Hidden: []int{3}, Batch: 4, Seed: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(c.n.Hidden(), c.cfg.Hidden) {
			t.Fatalf("the model wrote the Normalized's widths: %v, want %v", c.n.Hidden(), c.cfg.Hidden)
		}
	}
	for _, n := range []Normalized{na, nb} {
		if a := testing.AllocsPerRun(5, func() { m.ResetNormalized(n); m.Reset(b); m.Reset(b) }); a != 0 {
			t.Errorf("ResetNormalized to %v allocates %v times", n.Hidden(), a)
		}
	}
	if !slices.Equal(na.Hidden(), a.Hidden) || !slices.Equal(nb.Hidden(), b.Hidden) {
		t.Fatalf("the model wrote the Normalized's widths: %v and %v", na.Hidden(), nb.Hidden())
	}
	if _, err := NewNormalized(Normalized{}, 7, 3, nil); err == nil || !strings.Contains(err.Error(), "Config.Normalized") {
		t.Errorf("NewNormalized of the zero Normalized: %v", err)
	}
	if err := m.ResetNormalized(Normalized{}); err == nil {
		t.Error("ResetNormalized accepted the zero Normalized")
	}
}
