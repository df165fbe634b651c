package prune

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// outlooks runs pruner p over n configurations of epochs epochs (in
// batches of batch when > 0) whose scores come from random curves, each
// configuration of a stage reporting and being decided one at a time in
// a random order (as ASHA's jobs end), and returns the sum of Expect,
// Least and Most over the configurations before each report, and the
// epochs trained in the end.
func outlooks(t *testing.T, p study.Pruner, epochs, n, batch int, rng *rand.Rand) (expect []float64, least, most []int, trained int) {
	t.Helper()
	var batches []int
	if batch > 0 {
		for c := range n {
			batches = append(batches, c/batch)
		}
	}
	r, err := New(p, epochs, keys(n), batches)
	if err != nil {
		t.Fatal(err)
	}
	base := make([]float64, n)
	for c := range base {
		base[c] = rng.Float64()
	}
	look := func() {
		o := r.Outlook()
		var e float64
		var l, m int
		for c := range n {
			if o.Least[c] > int(math.Ceil(o.Expect[c]-1e-9)) && o.Forecast != Bounded || o.Expect[c] > float64(o.Most[c]) {
				t.Fatalf("configuration %d: expect %v outside [%d, %d]", c, o.Expect[c], o.Least[c], o.Most[c])
			}
			e += o.Expect[c]
			l += o.Least[c]
			m += o.Most[c]
		}
		expect, least, most = append(expect, e), append(least, l), append(most, m)
	}
	for range 1000 {
		r.Decide()
		look()
		targets := r.Targets()
		if targets == nil {
			break
		}
		for _, c := range rng.Perm(n) {
			if targets[c] == 0 {
				continue
			}
			s := make([]float64, targets[c])
			for e := range s {
				s[e] = base[c] + 0.1*rng.Float64() - 0.3/float64(e+1)
			}
			r.Report(c, s)
			r.Decide()
			look()
		}
	}
	for c := range n {
		_, e := r.State(c)
		trained += e
	}
	return expect, least, most, trained
}

// TestOutlookOfTheSchedule: for sha and hyperband (in batches or not),
// the expected epochs of all configurations together are, before any
// training and after every decision, the epochs then trained.
func TestOutlookOfTheSchedule(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		p                study.Pruner
		epochs, n, batch int
		want             int
	}{
		{study.Pruner{Kind: "sha", Eta: 3, MinEpochs: 1}, 10, 64, 0, 64 + 21*2 + 7*6 + 2},
		{study.Pruner{Kind: "sha", Eta: 4, MinEpochs: 2}, 9, 10, 0, 10*2 + 2*6 + 1},
		{study.Pruner{Kind: "sha", Eta: 3, MinEpochs: 1}, 10, 64, 9, 0},
		{study.Pruner{Kind: "hyperband", Eta: 3, MinEpochs: 1}, 10, 27, 0, 0},
		{study.Pruner{Kind: "hyperband", Eta: 2, MinEpochs: 1}, 8, 40, 12, 0},
	} {
		expect, _, _, trained := outlooks(t, c.p, c.epochs, c.n, c.batch, rng)
		if c.want > 0 && trained != c.want {
			t.Errorf("%+v, %d configurations: %d epochs trained, want %d", c.p, c.n, trained, c.want)
		}
		for i, e := range expect {
			if math.Abs(e-float64(trained)) > 1e-9 {
				t.Errorf("%+v, %d configurations in batches of %d: expected %v epochs at step %d, %d trained", c.p, c.n, c.batch, e, i, trained)
				break
			}
		}
	}
}

// TestOutlookOfASHA: ASHA's expectation before any training is within a
// few per cent of the mean over random arrival orders of the epochs then
// trained, and ends at what was trained; the bounds hold throughout.
func TestOutlookOfASHA(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := study.Pruner{Kind: "asha", Eta: 3, MinEpochs: 1}
	const runs = 300
	var first float64
	mean := 0.0
	for range runs {
		expect, least, most, trained := outlooks(t, p, 10, 64, 0, rng)
		first = expect[0]
		mean += float64(trained) / runs
		for i := range expect {
			if least[i] > trained || trained > most[i] {
				t.Fatalf("step %d: %d epochs trained outside the bounds [%d, %d]", i, trained, least[i], most[i])
			}
		}
		if last := expect[len(expect)-1]; last != float64(trained) {
			t.Fatalf("expected %v at the end, %d trained", last, trained)
		}
	}
	t.Logf("asha 64 configurations, 10 epochs, η = 3: %.1f epochs expected, %.1f trained on average over %d random orders (sha: 150)", first, mean, runs)
	if math.Abs(first-mean) > 0.05*mean {
		t.Errorf("asha: %.1f epochs expected, %.1f trained on average", first, mean)
	}
}

// TestOutlookOfMedian: the median rule's bounds hold at every step and
// meet at the end.
func TestOutlookOfMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		_, least, most, trained := outlooks(t, study.Pruner{Kind: "median", Eta: 3, MinEpochs: 2, Startup: 4}, 8, 20, 0, rng)
		if least[0] != 4*8+16*2 || most[0] != 20*8 {
			t.Fatalf("bounds before training [%d, %d], want [64, 160]", least[0], most[0])
		}
		for i := range least {
			if least[i] > trained || trained > most[i] {
				t.Fatalf("step %d: %d epochs trained outside the bounds [%d, %d]", i, trained, least[i], most[i])
			}
		}
		if n := len(least) - 1; least[n] != trained || most[n] != trained {
			t.Fatalf("bounds at the end [%d, %d], %d trained", least[n], most[n], trained)
		}
	}
}

// TestOfWork: sha's rung schedule fixes the epochs, not which
// configurations train them: with configurations of two sizes in the
// running the work left is an expectation, and exact again once every
// configuration still training has its epochs fixed (or they are of one
// size); the other pruners' forecasts stay theirs.
func TestOfWork(t *testing.T) {
	keys := []string{"a", "b", "c", "d"}
	r, err := New(study.Pruner{Kind: "sha", Eta: 2, MinEpochs: 1}, 2, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	two, one := []float64{1, 7, 1, 7}, []float64{3, 3, 3, 3}
	if f := r.Outlook().OfWork(two); f != Expected {
		t.Errorf("before the rung, two sizes: %v, want Expected", f)
	}
	if f := r.Outlook().OfWork(one); f != Schedule {
		t.Errorf("before the rung, one size: %v, want Schedule", f)
	}
	for c, s := range []float64{0.9, 0.1, 0.8, 0.2} { // a and c (size 1) go on to epoch 2
		r.Report(c, []float64{s})
	}
	r.Decide()
	if f := r.Outlook().OfWork(two); f != Schedule {
		t.Errorf("after the rung: %v (%+v), want Schedule", f, r.Outlook())
	}
	for _, p := range []study.Pruner{{Kind: "asha", Eta: 2, MinEpochs: 1}, {Kind: "median", Eta: 2, MinEpochs: 1, Startup: 1}} {
		r, err := New(p, 2, keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		if o := r.Outlook(); o.OfWork(two) != o.Forecast || o.OfWork(one) != o.Forecast {
			t.Errorf("%s: %v, %v; want its own %v", p.Kind, o.OfWork(two), o.OfWork(one), o.Forecast)
		}
	}
}
