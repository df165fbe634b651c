package engine

import "time"

// EpochPart says how far an epoch of Fit is: Step of its Steps done
// (Group.SetProgress).
type EpochPart struct {
	Epoch int // 1-based
	Step  int // steps done, 1 ≤ Step < Steps
	Steps int // the epoch's steps, ceil(n/B)
	// Warm is the wall time of the steps after the epoch's first, up to
	// Step (0 at Step 1): their pace, without the first step's, which
	// in a run's first epoch touches the buffers for the first time
	// (sweeps.Warmup).
	Warm time.Duration
}

// Fraction is the share of the epoch's steps done, in (0, 1).
func (p EpochPart) Fraction() float64 { return float64(p.Step) / float64(p.Steps) }

// SetProgress makes Fit and FitTo call f during each epoch, at most once
// per every of wall time (the first after every), never after the epoch's
// last step: onEpoch reports its end. Progress within an epoch is what a
// user of a large model or data waits on minutes for; a short epoch gives
// no call. every ≤ 0 calls f after every step but the last (tests). f nil
// stops the calls; Reset keeps them.
//
// The step loop compares a counter: the clock is read every few steps
// (see partClock), so the hook allocates nothing and costs nothing
// measurable, f's own work aside. f runs on Fit's goroutine between two
// steps and must not use the group; a fused group calls it once for all
// its members.
func (g *Group) SetProgress(every time.Duration, f func(EpochPart)) {
	g.part = partClock{f: f, every: every}
}

// SetProgress is Group.SetProgress for Fit on the model alone.
func (m *Model) SetProgress(every time.Duration, f func(EpochPart)) { m.solo.SetProgress(every, f) }

// partClock times a Fit's progress calls (Group.SetProgress). Reading the
// clock is cheap (vDSO) but not free; it is read after step next only,
// next advancing by a stride of as many steps as took about every/8 at
// the pace since the last read. The stride at most doubles from one read
// to the next, starting from 1 in each epoch, so that a first slow step or
// a slow patch is seen within about every/8.
type partClock struct {
	f      func(EpochPart)
	every  time.Duration
	part   EpochPart // the epoch in flight
	next   int       // the step after which the clock is read; 0: never (no f)
	stride int       // steps between two reads
	read   int       // the step of the last read
	readAt time.Time // its time
	last   time.Time // the last call of f, or the epoch's start
	warmAt time.Time // the end of the epoch's first step (the first read)
}

// begin starts epoch epoch of steps steps at start.
func (c *partClock) begin(epoch, steps int, start time.Time) {
	c.next = 0
	if c.f == nil {
		return
	}
	c.part = EpochPart{Epoch: epoch, Steps: steps}
	c.next, c.stride, c.read = 1, 1, 0
	c.readAt, c.last = start, start
}

// tick follows step c.next: it reads the clock, calls f when every has
// passed since the last call, and sets the next read.
func (c *partClock) tick() {
	now := time.Now()
	s := c.next
	if s == 1 {
		c.warmAt = now
	}
	if s < c.part.Steps && now.Sub(c.last) >= c.every {
		c.part.Step, c.part.Warm = s, now.Sub(c.warmAt)
		c.f(c.part)
		c.last = now
	}
	stride := 1
	if c.every > 0 {
		stride = 2 * c.stride
		if per := now.Sub(c.readAt) / time.Duration(s-c.read); per > 0 {
			stride = min(stride, max(1, int(c.every/8/per)))
		}
	}
	c.stride, c.read, c.readAt, c.next = stride, s, now, s+stride
}
