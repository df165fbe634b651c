// Command search is the adaptive-study benchmark (issue 17): a joint
// random search over the seed study's axes (examples/adaptive.yaml's
// space: optimizer, learning rate, batch size, activation, initializer,
// architecture, L2, dropout) on MNIST with k-fold cross-validation, run
// for several seeds (each its own 64 configurations) as
//
//   - random: every configuration trained every epoch on every fold;
//   - sha: the same configurations under synchronous successive halving
//     (η = 3, first rung at epoch 1);
//   - tpe: as many configurations proposed by the TPE (sampler: tpe, the
//     same ranges and seed), in batches of the worker count, each trained
//     fully;
//   - tpe-sha: the TPE with successive halving (η = 3): batches of η² = 9,
//     each halved as a study of its own, the pruned configurations
//     informing the next proposals at the rung they stopped at.
//
// For each run it records the best cross-validated accuracy found (among
// configurations trained fully), the training GEMM compute spent
// (sweeps.UnitResult.GFLOP summed) and the wall time, and writes a table
// (search.md), the numbers (search.json) and a plot of the best accuracy
// so far against compute (search.png) into -out. Each run trains into its
// own store under -out, so a rerun resumes and reuses what is stored:
// delete -out to measure again.
//
//	go run ./bench/search -out /tmp/search              # 3 seeds × 64 × 4 folds × 10 epochs: long
//	go run ./bench/search -limit-rows 3000 -n 16 -epochs 3 -seeds 1 -out /tmp/s  # a quick look
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// options are the benchmark's settings (its flags).
type options struct {
	space     string // the study file whose random space, folds and data the runs use
	out       string
	seeds     int
	n         int
	epochs    int
	folds     int
	limitRows int
	workers   int
	methods   []string
}

func main() {
	var o options
	flag.StringVar(&o.space, "space", "examples/adaptive.yaml", "study file of the search space (its random: section and pruner: line are rewritten per run)")
	flag.StringVar(&o.out, "out", "out/bench-search", "output directory: a store per run, search.md, search.json, search.png")
	flag.IntVar(&o.seeds, "seeds", 3, "seeds (each its own sample of configurations)")
	flag.IntVar(&o.n, "n", 64, "configurations per run")
	flag.IntVar(&o.epochs, "epochs", 10, "epochs of a configuration trained fully")
	flag.IntVar(&o.folds, "folds", 4, "cross-validation folds")
	flag.IntVar(&o.limitRows, "limit-rows", 0, "use only the first N training rows (0: all), for a quick look")
	flag.IntVar(&o.workers, "workers", 0, "workers (0: every core)")
	ms := flag.String("methods", strings.Join(methods, ","), "runs per seed: random (full), sha (successive halving, η = 3), tpe (TPE, full), tpe-sha (TPE with successive halving)")
	flag.Parse()
	o.methods = strings.Split(*ms, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench/search:", err)
		os.Exit(1)
	}
}

// methods are the benchmark's runs per seed, in table order.
var methods = []string{"random", "sha", "tpe", "tpe-sha"}

// Run is one method on one seed.
type Run struct {
	Method  string               `json:"method"`
	Seed    int                  `json:"seed"`
	Best    float64              `json:"best_cv_accuracy"` // of the configurations trained fully
	BestKey string               `json:"best_key"`
	GFLOP   float64              `json:"gflop"`       // training GEMM work of every unit
	Seconds float64              `json:"seconds"`     // wall time of the run as stored (every invocation's)
	Epochs  int                  `json:"unit_epochs"` // epochs trained, summed over units
	Pruned  int                  `json:"pruned"`      // configurations stopped early
	Machine string               `json:"machine"`
	Engine  string               `json:"engine"`
	Trace   []report.SearchPoint `json:"trace"`
}

// MarshalJSON writes a NaN best accuracy as null.
func (r Run) MarshalJSON() ([]byte, error) {
	type plain Run
	return json.Marshal(struct {
		plain
		Best engine.JSONFloat `json:"best_cv_accuracy"`
	}{plain(r), engine.JSONFloat(r.Best)})
}

// methodStudy rewrites the space's study for one method and seed.
func methodStudy(src []byte, o options, method string, seed int) ([]byte, error) {
	const (
		sha = "pruner: {kind: sha, eta: 3, min_epochs: 1}"
		tpe = "sampler:\n  kind: tpe"
	)
	s := string(src)
	for _, r := range []struct {
		re, with string
	}{
		{`(?m)^name: .*$`, fmt.Sprintf("name: %s-%d", method, seed)},
		{`(?m)^  n: \d+$`, fmt.Sprintf("  n: %d", o.n)},
		{`(?m)^  seed: \d+$`, fmt.Sprintf("  seed: %d", seed)},
		{`(?m)^epochs: \d+$`, fmt.Sprintf("epochs: %d", o.epochs)},
		{`(?m)^folds: \d+$`, fmt.Sprintf("folds: %d", o.folds)},
		{`(?m)^pruner: .*$`, map[string]string{"sha": sha, "tpe-sha": sha}[method]},
		{`(?m)^random:$`, map[string]string{"random": "random:", "sha": "random:", "tpe": tpe, "tpe-sha": tpe}[method]},
	} {
		re := regexp.MustCompile(r.re)
		if n := len(re.FindAllStringIndex(s, -1)); n != 1 {
			return nil, fmt.Errorf("the space's study file has %d lines matching %s; want one", n, r.re)
		}
		s = re.ReplaceAllString(s, r.with)
	}
	return []byte(s), nil
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	for _, m := range o.methods {
		if !slices.Contains(methods, m) {
			return fmt.Errorf("unknown method %q (want %s)", m, strings.Join(methods, ", "))
		}
	}
	batch := o.workers // the TPE's batch without a pruner
	if batch <= 0 {
		batch = runtime.NumCPU()
	}
	src, err := os.ReadFile(o.space)
	if err != nil {
		return err
	}
	var data *datasets.Dataset
	var runs []Run
	for seed := 1; seed <= o.seeds; seed++ {
		for _, method := range o.methods {
			text, err := methodStudy(src, o, method, seed)
			if err != nil {
				return err
			}
			s, err := study.ParseStudy(text, o.space)
			if err != nil {
				return err
			}
			if data == nil {
				if data, err = study.LoadData(s.Data, o.limitRows); err != nil {
					return err
				}
			}
			dir := filepath.Join(o.out, s.Name)
			start := time.Now()
			n := s.Configurations()
			if s.Search != nil {
				n = s.Search.N
			}
			fmt.Fprintf(stderr, "%s: %d configurations × %d folds × %d epochs on %d rows…\n", s.Name, n, s.Folds, o.epochs, data.N)
			opt := scheduler.Options{Dir: dir, Workers: o.workers}
			var r sweeps.StudyResult
			if s.Search != nil {
				r, err = scheduler.RunSearch(ctx, s, data, batch, opt)
			} else {
				r, err = scheduler.RunStudy(ctx, s, data, opt)
			}
			if err != nil {
				return err
			}
			run := summarize(method, seed, r) // r.TotalSeconds: every invocation's, a resumed run's included
			fmt.Fprintf(stderr, "%s: best %.4f, %.1f TFLOP, %s (this invocation %s)\n", s.Name, run.Best, run.GFLOP/1e3,
				report.FormatDuration(run.Seconds), report.FormatDuration(time.Since(start).Seconds()))
			runs = append(runs, run)
		}
	}
	return write(o, data, runs, stdout)
}

// summarize is a run's figures from its result.
func summarize(method string, seed int, r sweeps.StudyResult) Run {
	run := Run{Method: method, Seed: seed, Best: math.NaN(), Seconds: r.TotalSeconds, Engine: r.Engine, Trace: report.SearchTrace(r)}
	for _, c := range r.Distinct() {
		for _, u := range c.Units {
			run.GFLOP += u.GFLOP
			run.Epochs += len(u.Epochs)
		}
		if c.PrunedAt > 0 {
			run.Pruned++
			continue
		}
		if len(c.FoldAccuracies) > 0 && !math.IsNaN(c.MeanAccuracy) && (math.IsNaN(run.Best) || c.MeanAccuracy > run.Best) {
			run.Best, run.BestKey = c.MeanAccuracy, c.Key
		}
	}
	if len(r.Machines) > 0 {
		run.Machine = r.Machines[0].String()
	}
	return run
}

// computeToReach is the GFLOP spent when trace's best so far first
// reached target (+Inf if it never did): a configuration counts once all
// its folds are in (report.SearchTrace), so this is the compute after
// which the search had that configuration.
func computeToReach(trace []report.SearchPoint, target float64) float64 {
	for _, p := range trace {
		if p.Best >= target {
			return p.GFLOP
		}
	}
	return math.Inf(1)
}

// percent formats a fraction as a whole percentage, ∞ for +Inf.
func percent(f float64) string {
	if math.IsInf(f, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.0f %%", 100*f)
}

// median of xs (NaN for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// write prints and saves the table, the numbers and the plot.
func write(o options, data *datasets.Dataset, runs []Run, stdout io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Adaptive search benchmark: %d configurations of %s's space per seed, %d folds × %d epochs on %d rows of %s; %s, %s.\n\n",
		o.n, o.space, o.folds, o.epochs, data.N, data.Name, kernels.CPU(), kernels.ActiveISA())
	// Against the full random search of the same seed: medians over seeds.
	full := map[int]Run{}
	for _, r := range runs {
		if r.Method == "random" {
			full[r.Seed] = r
		}
	}
	fmt.Fprintln(&b, "| method | seed | best CV accuracy | pruned | unit-epochs | GEMM compute (TFLOP) | to reach the full search's best (TFLOP) | wall time |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|")
	for _, r := range runs {
		reach := "—"
		if f, ok := full[r.Seed]; ok {
			if g := computeToReach(r.Trace, f.Best); math.IsInf(g, 1) {
				reach = "∞"
			} else {
				reach = fmt.Sprintf("%.2f", g/1e3)
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %.4f | %d | %d | %.2f | %s | %s |\n", r.Method, r.Seed, r.Best, r.Pruned, r.Epochs, r.GFLOP/1e3, reach, report.FormatDuration(r.Seconds))
	}
	fmt.Fprintln(&b, "\nMedian over seeds, against the full random search of the same seed (compute and wall time: the whole run's; "+
		"to within 0.2 pp / to reach: the compute spent when the run's best so far first came within 0.2 pp of the full search's best / reached it, ∞ if never):")
	fmt.Fprintln(&b, "\n| method | best CV accuracy | Δ best (pp) | compute | to within 0.2 pp | to reach | wall time |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|")
	for _, m := range o.methods {
		var best, delta, compute, near, reach, wall []float64
		for _, r := range runs {
			if r.Method != m {
				continue
			}
			best = append(best, r.Best)
			if f, ok := full[r.Seed]; ok {
				delta = append(delta, 100*(r.Best-f.Best))
				compute = append(compute, r.GFLOP/f.GFLOP)
				near = append(near, computeToReach(r.Trace, f.Best-0.002)/f.GFLOP)
				reach = append(reach, computeToReach(r.Trace, f.Best)/f.GFLOP)
				wall = append(wall, r.Seconds/f.Seconds)
			}
		}
		fmt.Fprintf(&b, "| %s | %.4f | %+.2f | %.0f %% | %s | %s | %.0f %% |\n", m, median(best), median(delta), 100*median(compute),
			percent(median(near)), percent(median(reach)), 100*median(wall))
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "search.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(runs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "search.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var curves []report.SearchCurve
	for _, r := range runs {
		curves = append(curves, report.SearchCurve{Label: r.Method + " seed " + strconv.Itoa(r.Seed), Trace: r.Trace})
	}
	p, err := report.SearchPlot("best CV accuracy found against compute", curves, false)
	if err != nil || p == nil {
		return err
	}
	png, err := report.RenderPNG(p, 6.4*vg.Inch, 4*vg.Inch)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, "search.png"), png, 0o644)
}
