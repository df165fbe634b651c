package engine

import (
	"context"
	"slices"
	"testing"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// TestFitInPiecesAndRegrouped: members trained to a rung (FitTo), some
// then dropped, the rest continued on other workers' Contexts
// (SetContext) in a new group with members of another group (Reset, Seek)
// end with the bits of one Fit of each model alone: epochs, validation
// figures and weights. Alone, FitTo in pieces equals Fit too.
func TestFitInPiecesAndRegrouped(t *testing.T) {
	const in, out, shuffleSeed = 12, 3, 42
	data := blobs(90, in, out, 21)
	for i := 1; i < 90; i += 2 {
		data.Rows = append(data.Rows, i)
	}
	val := blobs(40, in, out, 22)
	cfgs := groupConfigs()[:6] // every member but the diverging one
	for i := range cfgs {
		cfgs[i].Epochs = 5
	}
	newModels := func() []*Model {
		ms := make([]*Model, len(cfgs))
		for i, cfg := range cfgs {
			m, err := New(cfg, in, out, kernels.NewContext(1))
			if err != nil {
				t.Fatal(err)
			}
			ms[i] = m
		}
		return ms
	}
	// Reference: each alone, one Fit.
	ref := newModels()
	refHist := make([]History, len(ref))
	for i, m := range ref {
		m.SetShuffleSeed(shuffleSeed)
		h, err := m.Fit(context.Background(), data, &val, nil)
		if err != nil {
			t.Fatal(err)
		}
		refHist[i] = h
	}

	ms := newModels()
	epochs := make([][]EpochStats, len(ms))
	collect := func(members []int) func(int, EpochStats) {
		return func(k int, s EpochStats) { epochs[members[k]] = append(epochs[members[k]], s) }
	}
	// Rung 1 at epoch 2: two groups of three.
	for _, members := range [][]int{{0, 1, 2}, {3, 4, 5}} {
		g, err := NewGroup([]*Model{ms[members[0]], ms[members[1]], ms[members[2]]}, shuffleSeed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.FitTo(context.Background(), data, &val, 2, collect(members)); err != nil {
			t.Fatal(err)
		}
	}
	// Member 2 is dropped; 0, 1, 4 and 5 go on to epoch 4 together on
	// another Context, member 3 alone in pieces.
	kc := kernels.NewContext(2)
	on := []int{5, 0, 4, 1}
	g := &Group{}
	group := make([]*Model, len(on))
	for k, i := range on {
		ms[i].SetContext(kc)
		group[k] = ms[i]
	}
	if err := g.Reset(group, shuffleSeed); err != nil {
		t.Fatal(err)
	}
	if err := g.Seek(data, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := g.FitTo(context.Background(), data, &val, 4, collect(on)); err != nil {
		t.Fatal(err)
	}
	// Then 5 and 0 to the end in the group reset without 4 and 1.
	on = on[:2]
	if err := g.Reset(group[:2], shuffleSeed); err != nil {
		t.Fatal(err)
	}
	if err := g.Seek(data, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Fit(context.Background(), data, &val, collect(on)); err != nil {
		t.Fatal(err)
	}
	lone := ms[3]
	lone.SetShuffleSeed(shuffleSeed)
	// Member 3 was trained in a group: alone it needs its order placed.
	if err := lone.solo.Seek(data, 2); err != nil {
		t.Fatal(err)
	}
	for _, last := range []int{3, 5} {
		if _, err := lone.solo.FitTo(context.Background(), data, &val, last, collect([]int{3})); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range ms {
		want := refHist[i].Epochs
		switch i {
		case 2:
			want = want[:2]
		case 4, 1:
			want = want[:4]
		}
		if !slices.EqualFunc(epochs[i], want, sameEpoch) {
			t.Errorf("member %d: epochs in pieces\n%+v\nalone\n%+v", i, epochs[i], want)
		}
		if len(want) == 5 && !sameBits(m.params, ref[i].params) {
			t.Errorf("member %d: weights differ from one Fit's", i)
		}
	}
	if _, err := g.FitTo(context.Background(), data, nil, 6, nil); err == nil {
		t.Error("FitTo past the epochs succeeded")
	}
}

// sameEpoch compares the numbers of two epochs (not their timings).
func sameEpoch(a, b EpochStats) bool {
	return a.Epoch == b.Epoch && a.Loss == b.Loss && a.Accuracy == b.Accuracy && a.ValLoss == b.ValLoss && a.ValAccuracy == b.ValAccuracy
}
