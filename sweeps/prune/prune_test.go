package prune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// curve is configuration c's score after epoch e in the tests: a
// learning curve that rises with e, better for higher c... mostly (a
// late bloomer crosses others, so early and final ranks differ).
func curve(c, e int) float64 {
	s := 0.5 + 0.04*float64(c) - 0.3/float64(e)
	if c == 1 {
		s += 0.02 * float64(e) // the late bloomer
	}
	return s
}

func keys(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprintf("c%02d", i)
	}
	return k
}

// simulate runs the pruner to the end, training each stage's targets in
// the order perm gives (nil: study order), and returns the decisions and
// the epochs trained per configuration.
func simulate(t *testing.T, p study.Pruner, epochs, n int, perm func([]int), stored map[int]int) ([]sweeps.Decision, []int) {
	t.Helper()
	r, err := New(p, epochs, keys(n), nil)
	if err != nil {
		t.Fatal(err)
	}
	scores := func(c, to int) []float64 {
		s := make([]float64, to)
		for e := range s {
			s[e] = curve(c, e+1)
		}
		return s
	}
	for c, e := range stored { // found in the store, trained that far
		r.Report(c, scores(c, e))
	}
	for range 100 {
		r.Decide()
		targets := r.Targets()
		if targets == nil {
			break
		}
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		if perm != nil {
			perm(order)
		}
		for _, c := range order {
			if targets[c] > 0 {
				r.Report(c, scores(c, targets[c]))
			}
		}
	}
	trained := make([]int, n)
	for c := range n {
		_, trained[c] = r.State(c)
	}
	return r.Decisions(), trained
}

func TestRungs(t *testing.T) {
	if got := Rungs(3, 1, 10); !slices.Equal(got, []int{1, 3, 9}) {
		t.Errorf("Rungs(3, 1, 10) = %v", got)
	}
	if got := Rungs(2, 3, 12); !slices.Equal(got, []int{3, 6}) {
		t.Errorf("Rungs(2, 3, 12) = %v", got)
	}
	if got := Brackets(3, 1, 10); got != 3 {
		t.Errorf("Brackets(3, 1, 10) = %d", got)
	}
	if got := Brackets(3, 1, 9); got != 3 {
		t.Errorf("Brackets(3, 1, 9) = %d", got)
	}
}

// TestSuccessiveHalving: 27 configurations, η = 3, 10 epochs: rungs at 1,
// 3 and 9 keep 9, 3 and 1; the decisions do not depend on the order the
// configurations report in, nor on scores found in the store up front.
func TestSuccessiveHalving(t *testing.T) {
	p := study.Pruner{Kind: "sha", Eta: 3, MinEpochs: 1}
	ref, trained := simulate(t, p, 10, 27, nil, nil)
	count := map[int]int{}
	for _, e := range trained {
		count[e]++
	}
	if count[1] != 18 || count[3] != 6 || count[9] != 2 || count[10] != 1 {
		t.Errorf("epochs trained: %v, want 18 at 1, 6 at 3, 2 at 9, 1 at 10", count)
	}
	if trained[26] != 10 {
		t.Errorf("the best configuration trained %d epochs", trained[26])
	}
	if len(ref) != 27+9+3 {
		t.Errorf("%d decisions, want 39", len(ref))
	}
	for _, d := range ref {
		if d.Promoted != (d.Score >= d.Cutoff) || d.Cutoff != curve(18, 1) && d.Epoch == 1 {
			t.Errorf("decision %+v", d)
			break
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5 {
		got, _ := simulate(t, p, 10, 27, func(o []int) { rng.Shuffle(len(o), func(a, b int) { o[a], o[b] = o[b], o[a] }) }, nil)
		if !slices.Equal(got, ref) {
			t.Fatalf("shuffled order %d: other decisions", i)
		}
	}
	// Resumed: some configurations found trained (pruned at 1 or 3, done).
	got, _ := simulate(t, p, 10, 27, nil, map[int]int{0: 1, 20: 3, 26: 10, 25: 9})
	if !slices.Equal(got, ref) {
		t.Errorf("resumed with stored scores: other decisions\n%v\n%v", got, ref)
	}
}

// TestHyperband: brackets of successive halving with first rungs 1, 3, 9
// (10 epochs, η = 3), configurations dealt in study order.
func TestHyperband(t *testing.T) {
	_, trained := simulate(t, study.Pruner{Kind: "hyperband", Eta: 3, MinEpochs: 1}, 10, 27, nil, nil)
	// Bracket 0 (configurations 0, 3, …, 24): 9 → 3 → 1 → 1.
	// Bracket 1 (1, 4, …, 25): first rung 3: 9 → 3 at 3, → 1 at 9.
	// Bracket 2 (2, 5, …, 26): first rung 9: 9 → 3 at 9.
	count := [3]map[int]int{{}, {}, {}}
	for c, e := range trained {
		count[c%3][e]++
	}
	want := [3]map[int]int{{1: 6, 3: 2, 10: 1}, {3: 6, 9: 2, 10: 1}, {9: 6, 10: 3}}
	for b := range 3 {
		if fmt.Sprint(count[b]) != fmt.Sprint(want[b]) {
			t.Errorf("bracket %d: epochs trained %v, want %v", b, count[b], want[b])
		}
	}
}

// TestASHA: each configuration is judged against those that reached the
// rung before it: the first always goes on, and the decisions record the
// cutoff at the time.
func TestASHA(t *testing.T) {
	p := study.Pruner{Kind: "asha", Eta: 3, MinEpochs: 1}
	reverse := func(o []int) { slices.Reverse(o) }
	ds, _ := simulate(t, p, 3, 9, reverse, nil) // best first: the later ones fall below
	first := ds[0]
	if first.Key != "c08" || !first.Promoted || first.Cutoff != first.Score {
		t.Errorf("first decision %+v", first)
	}
	// Best first: each later arrival is below the best so far (⌊m/3⌋ < 2
	// up to m = 5), or below the second best: only c08 goes on.
	for _, d := range ds[:9] {
		if d.Epoch != 1 || d.Promoted != (d.Key == "c08") {
			t.Errorf("best-first decision %+v", d)
		}
	}
	// Worst first: every arrival is the best so far, and goes on.
	ds, _ = simulate(t, p, 3, 9, nil, nil)
	for _, d := range ds[:9] {
		if d.Epoch != 1 || !d.Promoted {
			t.Errorf("worst-first arrival %+v not promoted", d)
		}
	}
}

// TestASHAResumed: a Run started again that Reports what the store holds
// and Resumes the decisions made before goes on as the uninterrupted Run
// does, though it reports in study order what arrived in another order
// (what arrived undecided is judged after what was decided); and it
// refuses decisions it cannot take.
func TestASHAResumed(t *testing.T) {
	p := study.Pruner{Kind: "asha", Eta: 3, MinEpochs: 1}
	const epochs, n = 9, 9
	scrambled, inOrder := []int{4, 8, 0, 6, 2, 7, 1, 5, 3}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	// stage decides, then reports one of the next targets, the first in
	// order (one worker: a rung fills over several stages); false when
	// every configuration is decided.
	stage := func(r *Run, order []int) bool {
		r.Decide()
		targets := r.Targets()
		reported := 0
		for _, c := range order {
			if targets != nil && targets[c] > 0 && reported < 1 {
				reported++
				s := make([]float64, targets[c])
				for e := range s {
					s[e] = curve(c, e+1)
				}
				r.Report(c, s)
			}
		}
		return targets != nil
	}
	for _, tc := range []struct {
		order  []int
		decide bool // the stopped Run decided what it had; else arrivals wait undecided (in study order)
	}{{scrambled, true}, {inOrder, true}, {scrambled, false}, {inOrder, false}} {
		once, err := New(p, epochs, keys(n), nil)
		if err != nil {
			t.Fatal(err)
		}
		for stage(once, tc.order) {
		}
		for cut := 1; cut <= 20; cut++ {
			before, _ := New(p, epochs, keys(n), nil)
			for range cut {
				stage(before, tc.order)
			}
			if tc.decide {
				before.Decide()
			}
			again, _ := New(p, epochs, keys(n), nil)
			for c := range n { // the store's scores, in study order
				_, reached := before.State(c)
				s := make([]float64, reached)
				for e := range s {
					s[e] = curve(c, e+1)
				}
				again.Report(c, s)
			}
			if err := again.Resume(before.Decisions()); err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			for stage(again, tc.order) {
			}
			if !slices.Equal(again.Decisions(), once.Decisions()) {
				t.Errorf("order %v, decided %v, cut after %d stages: resumed decisions\n%v\nuninterrupted\n%v", tc.order, tc.decide, cut, again.Decisions(), once.Decisions())
			}
		}
	}
	once, _ := New(p, epochs, keys(n), nil)
	for stage(once, scrambled) {
	}
	ds := once.Decisions()
	for _, tc := range []struct {
		name string
		ds   []sweeps.Decision
	}{
		{"unknown configuration", []sweeps.Decision{{Key: "zz", Epoch: 1, Promoted: true}}},
		{"beyond the scores", []sweeps.Decision{{Key: "c00", Epoch: 3, Promoted: true}}},
		{"twice", []sweeps.Decision{ds[0], ds[0]}},
		{"not a rung", []sweeps.Decision{{Key: "c00", Epoch: 2, Promoted: true}}},
	} {
		r, _ := New(p, epochs, keys(n), nil)
		r.Report(0, []float64{0.5, 0.6})
		r.Report(4, []float64{0.5})
		if err := r.Resume(tc.ds); err == nil {
			t.Errorf("%s: resumed %v", tc.name, tc.ds)
		}
	}
}

// TestMedian: the startup configurations train fully; another stops at
// the first epoch (from the warm-up on) where it falls below their median.
func TestMedian(t *testing.T) {
	p := study.Pruner{Kind: "median", Eta: 3, MinEpochs: 2, Startup: 3}
	ds, trained := simulate(t, p, 5, 6, nil, nil)
	for c := range 3 {
		if trained[c] != 5 {
			t.Errorf("startup configuration %d trained %d epochs", c, trained[c])
		}
	}
	for _, c := range []int{3, 4, 5} {
		if trained[c] != 5 {
			t.Errorf("configuration %d, above the median, trained %d epochs", c, trained[c])
		}
	}
	for _, d := range ds {
		med := []float64{curve(0, d.Epoch), curve(1, d.Epoch), curve(2, d.Epoch)}
		slices.Sort(med)
		if d.Cutoff != med[1] || !d.Promoted {
			t.Errorf("decision %+v, median %v", d, med[1])
		}
	}
	if len(ds) != 3*3 { // c03 … c05 at epochs 2, 3, 4
		t.Errorf("%d decisions, want 9", len(ds))
	}
	// Reversed roles: the worse ones after the startup are stopped.
	p.Startup = 3
	r, _ := New(p, 5, keys(4), nil)
	for c := range 3 {
		r.Report(c, []float64{0.5, 0.6, 0.7, 0.8, 0.9})
	}
	r.Decide()
	if tg := r.Targets(); !slices.Equal(tg, []int{0, 0, 0, 2}) {
		t.Fatalf("targets %v", tg)
	}
	r.Report(3, []float64{0.5, 0.55})
	if ds := r.Decide(); len(ds) != 1 || ds[0].Promoted || ds[0].Cutoff != 0.6 {
		t.Errorf("below the median: %+v", ds)
	}
	if r.Targets() != nil {
		t.Error("targets after every decision")
	}
	if s, e := r.State(3); s != Pruned || e != 2 {
		t.Errorf("state %v at %d", s, e)
	}
}

// TestBatchesAreJudgedApart: with batches (a sampler's), each batch of
// successive halving keeps its own top 1/η at its rungs, whatever the
// scores of the other batches, and a batch's decisions are those of the
// same configurations alone; asha and median refuse batches.
func TestBatchesAreJudgedApart(t *testing.T) {
	p := study.Pruner{Kind: "sha", Eta: 3, MinEpochs: 1}
	run := func(ks []string, batch []int, score func(c, e int) float64) []sweeps.Decision {
		r, err := New(p, 4, ks, batch)
		if err != nil {
			t.Fatal(err)
		}
		for {
			r.Decide()
			targets := r.Targets()
			if targets == nil {
				return r.Decisions()
			}
			for c, to := range targets {
				if to > 0 {
					s := make([]float64, to)
					for e := range s {
						s[e] = score(c, e+1)
					}
					r.Report(c, s)
				}
			}
		}
	}
	// Batch 0 (c00–c02) scores far below batch 1 (c03–c05).
	score := func(c, e int) float64 { return curve(c, e) + 0.5*float64(c/3) }
	ds := run(keys(6), []int{0, 0, 0, 1, 1, 1}, score)
	promoted := map[string]bool{}
	for _, d := range ds {
		if d.Epoch == 1 && d.Promoted {
			promoted[d.Key] = true
		}
	}
	if len(promoted) != 2 || !promoted["c02"] || !promoted["c05"] {
		t.Errorf("promoted at the first rung: %v, want c02 and c05 (the best of each batch)", promoted)
	}
	alone := run(keys(3), nil, score)
	var first []sweeps.Decision
	for _, d := range ds {
		if d.Key < "c03" {
			first = append(first, d)
		}
	}
	strip := func(ds []sweeps.Decision) string {
		var s string
		for _, d := range ds {
			s += fmt.Sprintf("%s@%d:%v:%v ", d.Key, d.Epoch, d.Promoted, d.Cutoff)
		}
		return s
	}
	if strip(first) != strip(alone) {
		t.Errorf("batch 0 with another batch:\n%s\nalone:\n%s", strip(first), strip(alone))
	}
	for _, kind := range []string{"asha", "median"} {
		if _, err := New(study.Pruner{Kind: kind, Eta: 3, MinEpochs: 1, Startup: 1}, 4, keys(2), []int{0, 1}); err == nil {
			t.Errorf("%s took batches", kind)
		}
	}
	if _, err := New(p, 4, keys(2), []int{1, 0}); err == nil {
		t.Error("batches out of order taken")
	}
}

func TestFoldMeans(t *testing.T) {
	got := FoldMeans([][]float64{{0.5, 0.7, 0.9}, {0.3, 0.5}}, 3)
	if got[0] != 0.4 || math.Abs(got[1]-0.6) > 1e-15 || !math.IsNaN(got[2]) {
		t.Fatalf("FoldMeans = %v, want [0.4 0.6 NaN]", got)
	}
	if got := FoldMeans([][]float64{{1}}, 0); len(got) != 0 {
		t.Fatalf("no epochs: %v", got)
	}
}
