// Command tpe_vs_optuna checks mlpsweep's TPE sampler (sweeps/tpe) against
// Optuna's TPESampler on test functions with a known minimum: the
// 6-dimensional Hartmann function and a mixed categorical / real / log /
// int one. run.sh runs it with optuna_tpe.py and prints the table.
//
//	go run ./bench/search/tpe_vs_optuna -seeds 20 -trials 100 > ours.jsonl
//	go run ./bench/search/tpe_vs_optuna -table ours.jsonl optuna.jsonl
//
// Each line of a run is {"function", "sampler", "seed", "best"}: the best
// value found in -trials trials. The table is, per function and sampler,
// the median over seeds of the regret (best − the known minimum).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// function is a test function to minimize over a search space.
type function struct {
	name  string
	space []tpe.Param
	f     func(x []float64) float64
	min   float64
}

// hartmann6 is the 6-d Hartmann function on [0, 1]⁶ (Dixon & Szegő 1978),
// minimum −3.32237 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
func hartmann6(x []float64) float64 {
	alpha := [4]float64{1.0, 1.2, 3.0, 3.2}
	a := [4][6]float64{
		{10, 3, 17, 3.5, 1.7, 8},
		{0.05, 10, 17, 0.1, 8, 14},
		{3, 3.5, 1.7, 10, 17, 8},
		{17, 8, 0.05, 10, 0.1, 14},
	}
	p := [4][6]float64{
		{1312, 1696, 5569, 124, 8283, 5886},
		{2329, 4135, 8307, 3736, 1004, 9991},
		{2348, 1451, 3522, 2883, 3047, 6650},
		{4047, 8828, 8732, 5743, 1091, 381},
	}
	var y float64
	for i := range 4 {
		var s float64
		for j := range 6 {
			d := x[j] - p[i][j]*1e-4
			s += a[i][j] * d * d
		}
		y -= alpha[i] * math.Exp(-s)
	}
	return y
}

// mixed has two choices (4 optimizers, 3 activations), two reals, a
// log-uniform learning rate and an int width; its minimum 0 is at opt = 2,
// act = 0, x1 = 1 (the optimum of x1 depends on opt), x2 = −2, lr = 1e-3,
// units = 20. optuna_tpe.py has the same function.
func mixed(x []float64) float64 {
	penOpt := [4]float64{0.5, 0.3, 0, 0.4}
	shift := [4]float64{-2, 3, 1, 0}
	penAct := [3]float64{0, 0.2, 0.35}
	opt, act := int(x[0]), int(x[1])
	x1, x2, lr, units := x[2], x[3], x[4], x[5]
	l := math.Log10(lr) + 3
	u := (units - 20) / 32
	return penOpt[opt] + penAct[act] + ((x1-shift[opt])*(x1-shift[opt])+(x2+2)*(x2+2))/25 + l*l/4 + u*u
}

var functions = []function{
	{"hartmann6", []tpe.Param{
		{Name: "x0", Kind: tpe.Uniform, High: 1}, {Name: "x1", Kind: tpe.Uniform, High: 1},
		{Name: "x2", Kind: tpe.Uniform, High: 1}, {Name: "x3", Kind: tpe.Uniform, High: 1},
		{Name: "x4", Kind: tpe.Uniform, High: 1}, {Name: "x5", Kind: tpe.Uniform, High: 1},
	}, hartmann6, -3.32237},
	{"mixed", []tpe.Param{
		{Name: "opt", Kind: tpe.Choice, Choices: 4},
		{Name: "act", Kind: tpe.Choice, Choices: 3},
		{Name: "x1", Kind: tpe.Uniform, Low: -5, High: 5},
		{Name: "x2", Kind: tpe.Uniform, Low: -5, High: 5},
		{Name: "lr", Kind: tpe.LogUniform, Low: 1e-5, High: 1},
		{Name: "units", Kind: tpe.Int, Low: 1, High: 64},
	}, mixed, 0},
}

// samplers are ours: the default (multivariate, Optuna 5), Scott's
// bandwidths (Optuna 3.5–4.9's multivariate=True), the independent one
// (Optuna ≤ 4's default) and random search.
var samplers = []struct {
	name string
	opt  tpe.Options
}{
	{"mlpsweep-tpe", tpe.Options{}},
	{"mlpsweep-tpe-scott", tpe.Options{Bandwidth: tpe.Scott}},
	{"mlpsweep-tpe-independent", tpe.Options{Independent: true}},
	{"mlpsweep-random", tpe.Options{StartupTrials: math.MaxInt}},
}

type record struct {
	Function string  `json:"function"`
	Sampler  string  `json:"sampler"`
	Seed     int     `json:"seed"`
	Best     float64 `json:"best"`
}

func main() {
	seeds := flag.Int("seeds", 20, "seeds 0..N-1 per function and sampler")
	trials := flag.Int("trials", 100, "trials per study")
	table := flag.Bool("table", false, "read the JSON lines files given as arguments and print the median regret table")
	proposals := flag.String("proposals", "", "read a history of mixed-function trials from `FILE` (optuna5_proposals.py writes it) and print the distribution of one proposal after it over -seeds seeds")
	flag.Parse()
	if *proposals != "" {
		if err := printProposals(os.Stdout, *proposals, *seeds); err != nil {
			fmt.Fprintln(os.Stderr, "tpe_vs_optuna:", err)
			os.Exit(1)
		}
		return
	}
	if *table {
		if err := printTable(os.Stdout, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "tpe_vs_optuna:", err)
			os.Exit(1)
		}
		return
	}
	enc := json.NewEncoder(os.Stdout)
	for _, fn := range functions {
		for _, s := range samplers {
			for seed := range *seeds {
				opt := s.opt
				opt.Seed = uint64(seed)
				best, err := optimize(fn, opt, *trials)
				if err != nil {
					fmt.Fprintln(os.Stderr, "tpe_vs_optuna:", err)
					os.Exit(1)
				}
				if err := enc.Encode(record{fn.name, s.name, seed, best}); err != nil {
					fmt.Fprintln(os.Stderr, "tpe_vs_optuna:", err)
					os.Exit(1)
				}
			}
		}
	}
}

// optimize runs one sequential study and returns the best value found.
func optimize(fn function, opt tpe.Options, n int) (float64, error) {
	s, err := tpe.New(fn.space, opt)
	if err != nil {
		return 0, err
	}
	var trials []tpe.Trial
	best := math.Inf(1)
	for range n {
		xs, err := s.Propose(trials, 1)
		if err != nil {
			return 0, err
		}
		v := fn.f(xs[0])
		best = min(best, v)
		trials = append(trials, tpe.Trial{X: xs[0], Value: v})
	}
	return best, nil
}

// printProposals proposes one point after the history in file with each
// of seeds seeds and prints the choices' frequencies and the means, as
// optuna5_proposals.py does for Optuna 5's TPE.
func printProposals(w io.Writer, file string, seeds int) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var hist [][]float64
	if err := json.Unmarshal(b, &hist); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	fn := functions[1]
	var trials []tpe.Trial
	for _, x := range hist {
		trials = append(trials, tpe.Trial{X: x, Value: fn.f(x)})
	}
	opt, act := make([]float64, 4), make([]float64, 3)
	var x1, x2, lr, units, f float64
	n := float64(seeds)
	for seed := range seeds {
		s, err := tpe.New(fn.space, tpe.Options{Seed: uint64(seed)})
		if err != nil {
			return err
		}
		xs, err := s.Propose(trials, 1)
		if err != nil {
			return err
		}
		x := xs[0]
		opt[int(x[0])] += 1 / n
		act[int(x[1])] += 1 / n
		x1, x2, lr, units, f = x1+x[2]/n, x2+x[3]/n, lr+math.Log10(x[4])/n, units+x[5]/n, f+fn.f(x)/n
	}
	fmt.Fprintf(w, "mlpsweep-tpe, %d runs: opt %.3f act %.3f mean x1 %.3f x2 %.3f log10(lr) %.3f units %.2f f %.4f\n", seeds, opt, act, x1, x2, lr, units, f)
	return nil
}

// printTable prints the median and mean regret per function and sampler,
// and the median's ratio to Optuna 3.1's TPESampler's, default
// (independent) and multivariate.
func printTable(w io.Writer, files []string) error {
	minimum := map[string]float64{}
	for _, fn := range functions {
		minimum[fn.name] = fn.min
	}
	regrets := map[[2]string][]float64{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", name, err)
			}
			m, ok := minimum[r.Function]
			if !ok {
				f.Close()
				return fmt.Errorf("%s: unknown function %q", name, r.Function)
			}
			k := [2]string{r.Function, r.Sampler}
			regrets[k] = append(regrets[k], r.Best-m)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	var keys [][2]string
	for k := range regrets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	median := func(xs []float64) float64 {
		s := slices.Sorted(slices.Values(xs))
		n := len(s)
		if n%2 == 1 {
			return s[n/2]
		}
		return (s[n/2-1] + s[n/2]) / 2
	}
	mean := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	ratio := func(fn string, m float64, sampler string) string {
		ref, ok := regrets[[2]string{fn, sampler}]
		if !ok || median(ref) <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f", m/median(ref))
	}
	fmt.Fprintf(w, "| function | sampler | seeds | median regret | mean regret | ÷ Optuna 3.1 default | ÷ Optuna 3.1 multivariate |\n|---|---|---|---|---|---|---|\n")
	for _, k := range keys {
		m := median(regrets[k])
		fmt.Fprintf(w, "| %s | %s | %d | %.4g | %.4g | %s | %s |\n", k[0], k[1], len(regrets[k]), m, mean(regrets[k]),
			ratio(k[0], m, "optuna-tpe"), ratio(k[0], m, "optuna-tpe-multivariate"))
	}
	return nil
}
