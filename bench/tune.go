package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/cpuclock"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TuneOptions sets how long Tune measures.
type TuneOptions struct {
	Rounds  int           // interleaved rounds per choice; each candidate keeps its fastest
	MinTime time.Duration // length of one timing of one product
	Budget  time.Duration // after this, the choices not yet made keep the table's value
	Log     func(string)  // one line per choice made (nil: none)
}

// DefaultTuneOptions finish in about a minute of CPU time on a Zen 4; the
// budget keeps a busy machine inside the 5 minutes `mlpsweep tune`
// promises.
var DefaultTuneOptions = TuneOptions{Rounds: 5, MinTime: 15 * time.Millisecond, Budget: 4 * time.Minute}

// TuneChoice is one decision of Tune: the candidates of one field of
// kernels.Tuning, each one's time relative to the value in force before
// (the geometric mean over the products that field affects, fastest of
// the rounds, by the thread's CPU time), and the value kept.
type TuneChoice struct {
	Field      string
	Candidates []string
	Relative   []float64
	Chosen     string
}

func (c TuneChoice) String() string {
	parts := make([]string, len(c.Candidates))
	for i, v := range c.Candidates {
		parts[i] = fmt.Sprintf("%s %.3f", v, c.Relative[i])
	}
	return fmt.Sprintf("%-13s %s → %s", c.Field+":", strings.Join(parts, ", "), c.Chosen)
}

// tuneField is one field of kernels.Tuning to choose: the products it
// affects, its candidates (from the Tuning chosen so far) and how a value
// is printed.
type tuneField struct {
	name   string
	shapes []kernels.GEMMShape
	values func() []kernels.Tuning
	label  func(kernels.Tuning) string
}

// tuneMargin is how much faster a candidate must be than the value in
// force to replace it: less is noise on a shared machine.
const tuneMargin = 0.98

// Tune searches kernels.Tuning for this CPU on the active ISA path by
// measurement, one field at a time from the table's values (coordinate
// descent): the cache blocks MC and NC on products in the standard loop
// order, AL2 and NCA on short-wide ones with a resident op(A), on AVX-512
// the kernels of the column edges and the next-panel prefetch, and last the
// fused group width, timing fused training steps of 784-128-10 (Adam,
// batch 128) at 1 to 16 members. It runs single-threaded, leaves the
// table's Tuning in force, and returns the Tuning it found with its
// choices. No choice changes a result's bits (kernels.Tuning).
func Tune(opt TuneOptions) (kernels.Tuning, []TuneChoice, error) {
	isa := kernels.ActiveISA()
	table, source := kernels.ActiveTuning(isa), kernels.TuningSource()
	defer kernels.SetTuning(isa, table, source)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread() // timeCalls reads this thread's CPU clock
	defer runtime.UnlockOSThread()
	start := time.Now()
	best := kernels.TableTuning(isa)
	mr, nr := kernels.RegisterTile(isa)
	roundTo := func(x, unit int) int { return max(unit, x/unit*unit) }
	var choices []TuneChoice
	vary := func(set func(*kernels.Tuning, int), xs ...int) func() []kernels.Tuning {
		return func() []kernels.Tuning {
			var ts []kernels.Tuning
			for _, x := range xs {
				t := best
				set(&t, x)
				ts = append(ts, t)
			}
			return ts
		}
	}
	fields := []tuneField{
		{"MC", tuneStandard, vary(func(t *kernels.Tuning, x int) { t.MC = roundTo(x, mr) }, best.MC/4, best.MC/2, best.MC, 2*best.MC),
			func(t kernels.Tuning) string { return fmt.Sprint(t.MC) }},
		{"NC", tuneStandard, vary(func(t *kernels.Tuning, x int) { t.NC = roundTo(x, nr) }, best.NC/4, best.NC/2, best.NC, 2*best.NC),
			func(t kernels.Tuning) string { return fmt.Sprint(t.NC) }},
		{"AL2", tuneResident, vary(func(t *kernels.Tuning, x int) { t.AL2 = x }, best.AL2/2, best.AL2, 2*best.AL2, 4*best.AL2),
			func(t kernels.Tuning) string { return fmt.Sprint(t.AL2) }},
		{"NCA", tuneResident, vary(func(t *kernels.Tuning, x int) { t.NCA = roundTo(x, nr) }, 32, 64, 128, 256, 512),
			func(t kernels.Tuning) string { return fmt.Sprint(t.NCA) }},
	}
	if isa == kernels.AVX512 {
		flip := func(set func(*kernels.Tuning, bool)) func() []kernels.Tuning {
			return func() []kernels.Tuning {
				a, b := best, best
				set(&a, false)
				set(&b, true)
				return []kernels.Tuning{a, b}
			}
		}
		fields = append(fields,
			tuneField{"EdgesAVX2", tuneEdges, flip(func(t *kernels.Tuning, v bool) { t.EdgesAVX2 = v }),
				func(t kernels.Tuning) string { return fmt.Sprint(t.EdgesAVX2) }},
			tuneField{"NextPanel", tuneNext, flip(func(t *kernels.Tuning, v bool) { t.NextPanel = v }),
				func(t kernels.Tuning) string { return fmt.Sprint(t.NextPanel) }},
			tuneField{"NarrowN", tuneEdges[:2], vary(func(t *kernels.Tuning, x int) { t.NarrowN = x }, 0, kernels.NarrowMaxN),
				func(t kernels.Tuning) string { return fmt.Sprint(t.NarrowN) }})
	}
	// The work of each choice, in timings of a product (each about
	// 4·MinTime), for the ETA of the log's lines; the group width's steps
	// come to about two timings a round.
	weight := func(f tuneField) float64 { return float64((len(f.values()) + 1) * len(f.shapes) * opt.Rounds) }
	left, done := float64(2*opt.Rounds), 0.0
	for _, f := range fields {
		left += weight(f)
	}
	progress := func(k int, c TuneChoice) string {
		eta := min(sweeps.ETA(left, done, time.Since(start)), max(0, opt.Budget-time.Since(start)))
		return fmt.Sprintf("%s   (%d of %d, %s left)", c, k, len(fields)+1, eta.Round(time.Second))
	}
	ops := newTuneOperands()
	for k, f := range fields {
		if time.Since(start) > opt.Budget {
			break
		}
		cands := f.values()
		times := make([][]float64, len(cands)) // [candidate][shape] fastest seconds per product
		for i := range times {
			times[i] = make([]float64, len(f.shapes))
			for j := range times[i] {
				times[i][j] = math.Inf(1)
			}
		}
		cur := make([]float64, len(f.shapes)) // best's, measured in the same rounds
		for j := range cur {
			cur[j] = math.Inf(1)
		}
		for range opt.Rounds {
			for j, s := range f.shapes {
				if err := kernels.SetTuning(isa, best, "tune"); err != nil {
					return best, choices, err
				}
				cur[j] = min(cur[j], ops.time(s, opt.MinTime))
				for i, t := range cands {
					if err := kernels.SetTuning(isa, t, "tune"); err != nil {
						return best, choices, err
					}
					times[i][j] = min(times[i][j], ops.time(s, opt.MinTime))
				}
			}
		}
		c := TuneChoice{Field: f.name, Chosen: f.label(best)}
		pick, pickRel := -1, tuneMargin
		for i, t := range cands {
			rel := 0.0
			for j := range f.shapes {
				rel += math.Log(times[i][j] / cur[j])
			}
			rel = math.Exp(rel / float64(len(f.shapes)))
			c.Candidates, c.Relative = append(c.Candidates, f.label(t)), append(c.Relative, rel)
			if rel < pickRel {
				pick, pickRel = i, rel
			}
		}
		if pick >= 0 {
			best = cands[pick]
			c.Chosen = f.label(best)
		}
		choices = append(choices, c)
		w := weight(f)
		left, done = left-w, done+w
		if opt.Log != nil {
			opt.Log(progress(k+1, c))
		}
	}
	if err := kernels.SetTuning(isa, best, "tune"); err != nil {
		return best, choices, err
	}
	if time.Since(start) <= opt.Budget {
		c, err := tuneGroupColumns(opt)
		if err != nil {
			return best, choices, err
		}
		fmt.Sscan(c.Chosen, &best.GroupColumns)
		choices = append(choices, c)
		left, done = 0, done+left
		if opt.Log != nil {
			opt.Log(progress(len(fields)+1, c))
		}
	}
	return best, choices, nil
}

// The products each field of kernels.Tuning affects: the standard loop
// order (MC, NC; m784n4224k128TN is resident or not by MC), a resident
// op(A) streaming B and C past (AL2, NCA), the column edges of the output
// layer, and B read in place a page per row apart (next panel).
var (
	tuneStandard = []kernels.GEMMShape{{M: 1024, N: 1024, K: 1024}, {M: 512, N: 512, K: 512}, {M: 784, N: 4224, K: 128, TransA: true}}
	tuneResident = []kernels.GEMMShape{{M: 128, N: 4224, K: 784}, {M: 128, N: 784, K: 128}, {M: 784, N: 128, K: 128, TransA: true}, {M: 128, N: 128, K: 784}}
	tuneEdges    = []kernels.GEMMShape{{M: 128, N: 10, K: 128}, {M: 128, N: 10, K: 128, TransA: true}, {M: 128, N: 128, K: 10, TransB: true}}
	tuneNext     = []kernels.GEMMShape{{M: 128, N: 4224, K: 784}, {M: 128, N: 128, K: 784}}
)

// tuneOperands holds operands big enough for every tuned product, and a
// single-threaded context.
type tuneOperands struct {
	a, b, c []float32
	ctx     *kernels.Context
}

func newTuneOperands() *tuneOperands {
	const n = 1024 * 4224 // the largest operand: 1024², 784×4224
	r := rand.New(rand.NewPCG(7, 8))
	ops := &tuneOperands{a: make([]float32, n), b: make([]float32, n), c: make([]float32, n), ctx: kernels.NewContext(1)}
	for _, x := range [][]float32{ops.a, ops.b} {
		for i := range x {
			x[i] = r.Float32()*2 - 1
		}
	}
	_ = ops.ctx.SetBackend(kernels.BLIS)
	return ops
}

// time returns the fastest of a few timings of s, seconds per product.
func (o *tuneOperands) time(s kernels.GEMMShape, minTime time.Duration) float64 {
	lda, ldb, ldc := s.Leading()
	call := func() { o.ctx.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, o.a, lda, o.b, ldb, 0, o.c, ldc) }
	call() // warm
	calls := 1
	if first := timeCalls(call, 1); first < minTime {
		calls = int(minTime/max(first, time.Nanosecond)) + 1
	}
	best := math.Inf(1)
	for range 3 {
		best = min(best, timeCalls(call, calls).Seconds()/float64(calls))
	}
	return best
}

// timeCalls returns the thread CPU time of calls calls of fn (the wall
// time where there is no thread clock): on a machine shared with other
// processes, the time they take does not count.
func timeCalls(fn func(), calls int) time.Duration {
	start := cpuclock.Thread()
	for range calls {
		fn()
	}
	return cpuclock.Thread() - start
}

// tuneGroupColumns times fused training steps of 784-128-10 (Adam, batch
// 128) at 1, 2, 4, 8 and 16 members, interleaved, each count keeping its
// fastest CPU time per member step, and chooses the count with the least, a
// wider one only when at least 5 % faster than the best narrower one (as
// the sweep's own calibration does): its first-layer columns. Each step
// takes the next of 128 batches scattered over MNIST-sized synthetic rows
// (51 MB of them, beyond L3), so that the batch arrives from memory as in
// an epoch: sharing that first touch is what a fused step saves.
func tuneGroupColumns(opt TuneOptions) (TuneChoice, error) {
	const batch, batches = 128, 128
	counts := []int{1, 2, 4, 8, 16}
	data := Synthetic(MNISTRows, MNISTFeatures, MNISTClasses)
	models := make([]*engine.Model, counts[len(counts)-1])
	for i := range models {
		cfg := Reference.Config(batch)
		cfg.Seed = int64(i + 1)
		m, err := engine.New(cfg, MNISTFeatures, MNISTClasses, nil)
		if err != nil {
			return TuneChoice{}, err
		}
		models[i] = m
	}
	perm := rand.New(rand.NewPCG(9, 10)).Perm(MNISTRows)
	t := make([]float32, batches*batch*MNISTClasses) // [batches×batch×classes] the batches' targets
	for i, row := range perm[:batches*batch] {
		copy(t[i*MNISTClasses:(i+1)*MNISTClasses], data.Y[row*MNISTClasses:])
	}
	next := 0
	step := func(g *engine.Group) error {
		b := next % batches
		next++
		_, _, err := g.TrainBatch(data, perm[b*batch:(b+1)*batch], t[b*batch*MNISTClasses:(b+1)*batch*MNISTClasses])
		return err
	}
	perMember := make([]float64, len(counts))
	for i := range perMember {
		perMember[i] = math.Inf(1)
	}
	g := &engine.Group{}
	for round := range opt.Rounds {
		for i, n := range counts {
			if err := g.Reset(models[:n], 1); err != nil {
				return TuneChoice{}, err
			}
			if round == 0 { // warm-up: the first touches of the buffers
				if err := step(g); err != nil {
					return TuneChoice{}, err
				}
			}
			for range max(2, 32/n) {
				start := cpuclock.Thread()
				if err := step(g); err != nil {
					return TuneChoice{}, err
				}
				perMember[i] = min(perMember[i], (cpuclock.Thread()-start).Seconds()/float64(n))
			}
		}
	}
	width := Reference[1]
	c := TuneChoice{Field: "GroupColumns"}
	best := 0
	for i, n := range counts {
		c.Candidates = append(c.Candidates, fmt.Sprint(n*width))
		c.Relative = append(c.Relative, perMember[i]/perMember[0])
		if perMember[i] < 0.95*perMember[best] {
			best = i
		}
	}
	c.Chosen = fmt.Sprint(counts[best] * width)
	return c, nil
}
