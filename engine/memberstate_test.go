package engine

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// TestMemberStateResumes: members of a group trained to a rung (FitTo),
// written with MemberState and read back with LoadMemberState on another
// Context, then continued in a new group (Seek) to the last epoch, end
// with the bits of one uninterrupted Fit of each: epochs and weights,
// for every optimizer (their slots and step count), dropout (its stream)
// and batch norm (moving statistics) of groupConfigs.
func TestMemberStateResumes(t *testing.T) {
	const in, out, shuffleSeed, rung = 12, 3, 42, 2
	data := blobs(90, in, out, 21)
	val := blobs(40, in, out, 22)
	cfgs := groupConfigs()[:6] // every member but the diverging one
	for i := range cfgs {
		cfgs[i].Epochs = 5
	}
	ref := make([]*Model, len(cfgs))
	refHist := make([]History, len(cfgs))
	ms := make([]*Model, len(cfgs))
	for i, cfg := range cfgs {
		var err error
		if ref[i], err = New(cfg, in, out, kernels.NewContext(1)); err != nil {
			t.Fatal(err)
		}
		ref[i].SetShuffleSeed(shuffleSeed)
		if refHist[i], err = ref[i].Fit(context.Background(), data, &val, nil); err != nil {
			t.Fatal(err)
		}
		if ms[i], err = New(cfg, in, out, kernels.NewContext(1)); err != nil {
			t.Fatal(err)
		}
	}
	epochs := make([][]EpochStats, len(ms))
	g, err := NewGroup(ms, shuffleSeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.FitTo(context.Background(), data, &val, rung, func(k int, s EpochStats) { epochs[k] = append(epochs[k], s) }); err != nil {
		t.Fatal(err)
	}
	kc := kernels.NewContext(1)
	resumed := make([]*Model, len(ms))
	for i, m := range ms {
		b, err := m.MemberState()
		if err != nil {
			t.Fatal(err)
		}
		r, e, err := LoadMemberState(b, kc)
		if err != nil {
			t.Fatal(err)
		}
		if e != rung {
			t.Fatalf("member %d: state after epoch %d, want %d", i, e, rung)
		}
		resumed[i] = r
		bad := slices.Clone(b)
		bad[len(bad)-1] ^= 1 // a bit of the last tensor flipped in the store
		if _, _, err := LoadMemberState(bad, kc); err == nil {
			t.Errorf("member %d: an altered state loaded", i)
		}
		if _, _, _, err := decodeModel(b, nil, false); err == nil || !strings.Contains(err.Error(), "member") {
			t.Errorf("reading a member's state: %v, want an error naming it", err)
		}
	}
	// Continued in the reverse order: a member's numbers do not depend on its place.
	slices.Reverse(resumed)
	g2, err := NewGroup(resumed, shuffleSeed)
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Seek(data, rung); err != nil {
		t.Fatal(err)
	}
	n := len(ms)
	if _, err := g2.Fit(context.Background(), data, &val, func(k int, s EpochStats) { epochs[n-1-k] = append(epochs[n-1-k], s) }); err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		if !slices.EqualFunc(epochs[i], refHist[i].Epochs, sameEpoch) {
			t.Errorf("member %d: epochs resumed from its state\n%+v\nuninterrupted\n%+v", i, epochs[i], refHist[i].Epochs)
		}
		if !sameBits(resumed[n-1-i].params, ref[i].params) || !sameBits(resumed[n-1-i].moving, ref[i].moving) {
			t.Errorf("member %d: weights differ from one Fit's", i)
		}
	}
	fresh, _ := New(cfgs[0], in, out, nil)
	if _, err := fresh.MemberState(); err == nil {
		t.Error("MemberState of an untrained model succeeded")
	}
}
