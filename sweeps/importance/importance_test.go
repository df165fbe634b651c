package importance

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// objective depends on x alone (best at 0.03), not on y, c or n; it is
// maximized, as accuracy is.
func objective(x []float64) float64 {
	l := math.Log10(x[0]) + 1.5
	return -l * l
}

var space = []tpe.Param{
	{Name: "x", Kind: tpe.LogUniform, Low: 1e-3, High: 1},
	{Name: "y", Kind: tpe.Uniform, Low: -1, High: 1},
	{Name: "c", Kind: tpe.Choice, Choices: 3},
	{Name: "n", Kind: tpe.Int, Low: 1, High: 8},
}

func share(t *testing.T, res []Result, name string) float64 {
	t.Helper()
	for _, r := range res {
		if r.Param == name {
			return r.Importance
		}
	}
	t.Fatalf("no result for %s in %v", name, res)
	return 0
}

func check(t *testing.T, what string, trials []Trial) {
	t.Helper()
	res, err := PEDANOVA(space, trials, Options{Maximize: true})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, r := range res {
		sum += r.Importance
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("%s: shares sum to %v", what, sum)
	}
	t.Logf("%s: %+v", what, res)
	if res[0].Param != "x" || res[0].Importance < 0.6 {
		t.Errorf("%s: x has %.3f, want the largest share, ≥ 0.6", what, share(t, res, "x"))
	}
	for _, r := range res[1:] {
		if r.Importance > 0.2 {
			t.Errorf("%s: %s has %.3f, want ≤ 0.2", what, r.Param, r.Importance)
		}
	}
}

func TestRandomStudy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var trials []Trial
	for range 300 {
		x := []float64{math.Exp(math.Log(1e-3) * rng.Float64()), 2*rng.Float64() - 1, float64(rng.IntN(3)), float64(1 + rng.IntN(8))}
		trials = append(trials, Trial{X: x, Value: objective(x)})
	}
	check(t, "random", trials)
}

func TestGridStudy(t *testing.T) {
	// a grid's values are choices: x over 5 values, y over 4, c over 3, n over 2
	grid := []tpe.Param{{Name: "x", Kind: tpe.Choice, Choices: 5}, {Name: "y", Kind: tpe.Choice, Choices: 4}, {Name: "c", Kind: tpe.Choice, Choices: 3}, {Name: "n", Kind: tpe.Choice, Choices: 2}}
	xs := []float64{0.001, 0.01, 0.1, 0.3, 1}
	var trials []Trial
	for i := range 5 {
		for j := range 4 {
			for c := range 3 {
				for n := range 2 {
					v := objective([]float64{xs[i], float64(j), float64(c)})
					trials = append(trials, Trial{X: []float64{float64(i), float64(j), float64(c), float64(n)}, Value: v})
				}
			}
		}
	}
	res, err := PEDANOVA(grid, trials, Options{Maximize: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("grid: %+v", res)
	if y, n := share(t, res, "y"), share(t, res, "n"); y > 1e-9 || n > 1e-9 {
		t.Errorf("grid: y %.3g and n %.3g are balanced in every quantile, want 0", y, n)
	}
	if res[0].Param != "x" || res[0].Importance < 1-1e-9 {
		t.Errorf("grid: x has %.3f, want all", share(t, res, "x"))
	}
}

func TestTPEStudy(t *testing.T) {
	s, err := tpe.New(space, tpe.Options{Seed: 4, Maximize: true})
	if err != nil {
		t.Fatal(err)
	}
	var trials []Trial
	var history []tpe.Trial
	for range 100 {
		xs, err := s.Propose(history, 1)
		if err != nil {
			t.Fatal(err)
		}
		v := objective(xs[0])
		history = append(history, tpe.Trial{X: xs[0], Value: v})
		trials = append(trials, Trial{X: xs[0], Value: v})
	}
	check(t, "tpe", trials)
}

// TestScott pins the bandwidth to a hand computation: observations 2, 5, 9
// weighted 1, 2, 1: mean 5.25, σ² = (10.5625 + 0.125 + 14.0625)/3,
// quartile indices 0 (cum ≥ 1) and 2 (cum > 3): IQR 7, total 4.
func TestScott(t *testing.T) {
	sd := math.Sqrt((10.5625 + 2*0.0625 + 14.0625) / 3)
	want := 1.059 * min(7/1.34, sd) * math.Pow(4, -0.2)
	if got := scott([]float64{2, 5, 9}, []float64{1, 2, 1}, 4); math.Abs(got-want) > 1e-12 {
		t.Errorf("scott = %v, want %v", got, want)
	}
	for _, cat := range []bool{false, true} {
		var sum float64
		for _, p := range gridDensity(cat, []float64{0, 3, 0, 1, 0, 0, 2}) {
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("categorical %v: density sums to %v", cat, sum)
		}
	}
}

func TestEdges(t *testing.T) {
	if _, err := PEDANOVA(nil, nil, Options{}); err == nil {
		t.Error("no parameters accepted")
	}
	if _, err := PEDANOVA(space, []Trial{{X: []float64{1}}}, Options{}); err == nil {
		t.Error("a trial with too few values accepted")
	}
	for _, x := range [][]float64{{0.1, 0, 3, 1}, {0.1, 0, 0.5, 1}, {0, 0, 0, 1}, {0.1, math.NaN(), 0, 1}} {
		if _, err := PEDANOVA(space, []Trial{{X: x}, {X: x}}, Options{}); err == nil {
			t.Errorf("trial %v accepted", x)
		}
	}
	if _, err := PEDANOVA(space, nil, Options{TargetQuantile: 1}); err == nil {
		t.Error("target quantile 1 accepted")
	}
	res, err := PEDANOVA(space, []Trial{{X: []float64{0.1, 0, 0, 1}, Value: 1}, {X: []float64{0.1, 0, 0, 1}, Value: math.NaN()}}, Options{})
	if err != nil || len(res) != 4 || res[0].Importance != 0 {
		t.Errorf("one finite trial: %v, %v (want zeros)", res, err)
	}
}

// TestAtLeastTwoTopTrials: on a study of 8 configurations the top 10 % is
// one configuration, at one value of every parameter, which made every
// parameter equally important (a third each here). As in Optuna
// (min_n_top_trials), the best two are the target set: they agree on a
// and b and differ on c, so c does not matter.
func TestAtLeastTwoTopTrials(t *testing.T) {
	grid := []tpe.Param{{Name: "a", Kind: tpe.Choice, Choices: 2}, {Name: "b", Kind: tpe.Choice, Choices: 2}, {Name: "c", Kind: tpe.Choice, Choices: 2}}
	var trials []Trial
	for i := range 8 {
		x := []float64{float64(i >> 2), float64(i >> 1 & 1), float64(i & 1)}
		// a = b = 0 is best (0.98 and 0.97 by c), then the rest.
		v := 0.9 - 0.01*float64(i)
		if x[0] == 0 && x[1] == 0 {
			v = 0.98 - 0.01*x[2]
		}
		trials = append(trials, Trial{X: x, Value: v})
	}
	res, err := PEDANOVA(grid, trials, Options{Maximize: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if a, b, c := share(t, res, "a"), share(t, res, "b"), share(t, res, "c"); math.Abs(a-0.5) > 1e-9 || math.Abs(b-0.5) > 1e-9 || c > 1e-9 {
		t.Errorf("shares a %.4f, b %.4f, c %.4f; want 0.5, 0.5 and 0", a, b, c)
	}
	two, err := PEDANOVA(grid, trials[:2], Options{Maximize: true})
	if err != nil || two[0].Importance != 0 {
		t.Errorf("two trials: %+v, %v (want zeros, as Optuna gives)", two, err)
	}
}
