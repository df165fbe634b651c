package engine

import (
	"context"
	"testing"
	"time"
)

// TestProgressEveryStep: with every ≤ 0 the hook follows every step of
// every epoch but the last, in order, for a model alone and for a fused
// group (one call for all members, the diverging one included), and the
// numbers are bit for bit those of a Fit without it.
func TestProgressEveryStep(t *testing.T) {
	const in, out, shuffleSeed = 12, 3, 42
	data := blobs(70, in, out, 21) // 9 steps of 8 rows, the last of 6
	val := blobs(40, in, out, 22)
	fit := func(progress bool) ([]History, []*Model, []EpochPart) {
		g, members := configsGroup(t, in, out, shuffleSeed)
		var parts []EpochPart
		if progress {
			g.SetProgress(0, func(p EpochPart) { parts = append(parts, p) })
		}
		hists, err := g.Fit(context.Background(), data, &val, nil)
		if err != nil {
			t.Fatal(err)
		}
		return hists, members, parts
	}
	plain, plainModels, none := fit(false)
	hooked, hookedModels, parts := fit(true)
	if none != nil {
		t.Errorf("calls without a hook: %v", none)
	}
	for i := range plain {
		if !sameHistory(plain[i], hooked[i]) || !sameBits(plainModels[i].params, hookedModels[i].params) {
			t.Errorf("member %d: the progress hook changed the numbers", i)
		}
	}
	var want []EpochPart
	for e := 1; e <= 3; e++ {
		for s := 1; s < 9; s++ {
			want = append(want, EpochPart{Epoch: e, Step: s, Steps: 9})
		}
	}
	if len(parts) != len(want) {
		t.Fatalf("%d calls, want %d: %v", len(parts), len(want), parts)
	}
	for i := range want {
		got := parts[i]
		got.Warm = 0
		if got != want[i] {
			t.Errorf("call %d: %+v, want %+v", i, parts[i], want[i])
		}
		// Warm times the steps after the epoch's first: none at step 1,
		// then more at each step.
		if w := parts[i].Warm; got.Step == 1 && w != 0 || got.Step > 1 && w <= parts[i-1].Warm {
			t.Errorf("call %d: %+v after %+v", i, parts[i], parts[max(0, i-1)])
		}
	}
	if f := parts[3].Fraction(); f != 4.0/9 {
		t.Errorf("Fraction of step 4 of 9 = %v", f)
	}

	// A model alone, its hook cleared again: no call.
	m := mustNew(t, groupConfigs()[0], in, out)
	calls := 0
	m.SetProgress(0, func(EpochPart) { calls++ })
	m.Fit(context.Background(), data, nil, nil)
	if calls != 3*8 {
		t.Errorf("a model alone: %d calls, want %d", calls, 3*8)
	}
	m.SetProgress(0, nil)
	m.Fit(context.Background(), data, nil, nil)
	if calls != 3*8 {
		t.Errorf("a cleared hook was called %d times", calls-3*8)
	}
}

// TestProgressPace: with an interval, the calls come at least that far
// apart, some come in an epoch several intervals long, and the clock
// stride adapts to the steps' pace (partClock alone, on a fake step).
func TestProgressPace(t *testing.T) {
	const every = 40 * time.Millisecond
	var at []time.Time
	c := partClock{f: func(EpochPart) { at = append(at, time.Now()) }, every: every}
	const steps = 400
	start := time.Now()
	c.begin(1, steps, start)
	reads := 0
	for s := 1; s <= steps; s++ {
		time.Sleep(250 * time.Microsecond) // a step; the sleep's overshoot makes it longer
		if s == c.next {
			reads++
			c.tick()
		}
	}
	took := time.Since(start)
	if took < 4*every {
		t.Skipf("the epoch took %v, too little for the test", took)
	}
	if len(at) == 0 || len(at) > int(took/every) {
		t.Errorf("%d calls in %v at most every %v", len(at), took, every)
	}
	for i := 1; i < len(at); i++ {
		if d := at[i].Sub(at[i-1]); d < every {
			t.Errorf("calls %d and %d %v apart, under %v", i-1, i, d, every)
		}
	}
	// About 8 reads an interval (up to twice that as the stride rounds
	// down), plus the stride's first doublings.
	// Steps well under every/8 (unless the machine is too busy for the
	// sleeps) leave most of them without a read.
	fast := took/steps < every/32
	if most := 16*int(took/every) + 16; reads > most || fast && reads >= steps/2 {
		t.Errorf("the clock was read %d times in %d steps of %v (want ≤ %d)", reads, steps, took, most)
	}
}
