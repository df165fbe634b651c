package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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

// modelFlags are train's model-file flags: --save, --checkpoint, --resume.
type modelFlags struct {
	save, checkpoint, resume string
	resumed                  *engine.Model // the checkpoint's model, loaded by check
	resumedInfo              engine.ModelInfo
	resumedEpoch             int
}

func (f *modelFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.save, "save", "", "write the trained model to `FILE` (safetensors layout, for mlpsweep predict and export): the model trained on all training rows and scored on the test set, or with --val-split on the rows before the split; refused with --folds, which trains K models (refitting one configuration on all rows comes with sweep --refit)")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "after every epoch, write the model and its training state to `FILE` atomically, for --resume")
	fs.StringVar(&f.resume, "resume", "", "continue the run checkpointed in `FILE`: give the same flags as the interrupted run (configuration, data, --val-split, --limit-rows); it ends bit-identical to an uninterrupted run on the same ISA path and --threads")
}

func (f *modelFlags) active() bool { return f.save != "" || f.checkpoint != "" || f.resume != "" }

// check validates the flags against the rest of train's (usage errors,
// status 2) and loads the checkpoint to resume (status 1 when it is bad).
// It returns -1 to go on.
func (f *modelFlags) check(t *trainFlags, params study.Params, stderr io.Writer) int {
	if !f.active() {
		return -1
	}
	if t.folds > 0 {
		return usageError(stderr, "train", "--save, --checkpoint and --resume train one model; --folds %d trains %d (drop --folds, or use --val-split)", t.folds, t.folds)
	}
	// Before the data is loaded and the model trained: a --save that
	// cannot be written would lose the training. --checkpoint may be the
	// --resume file (the run goes on checkpointing there); --save may not.
	csv := namedPath{"--csv", t.csvPath}
	if code := checkOutputs(stderr, "train", []namedPath{{"--checkpoint", f.checkpoint}, {"--save", f.save}}, []namedPath{csv}); code >= 0 {
		return code
	}
	if code := checkOutputs(stderr, "train", []namedPath{{"--save", f.save}}, []namedPath{{"--resume", f.resume}}); code >= 0 {
		return code
	}
	if f.resume == "" {
		return -1
	}
	m, info, epoch, err := engine.LoadCheckpoint(f.resume, kernels.NewContext(t.threads))
	if err != nil {
		return fail(stderr, "train", err)
	}
	got := m.Config()
	// Seeds aside: compared next, as the user gave them.
	if study.ParamsOf(m.Normalized()).Key() != params.Key() {
		return usageError(stderr, "train", "--resume %s: the checkpoint's configuration (%s) is not this command's (%s): give the interrupted run's flags",
			f.resume, configLine(got), configLine(params.Config(0)))
	}
	if got.Seed != runSeed(t, params) {
		return usageError(stderr, "train", "--resume %s: the checkpoint is of a run with another --seed or --val-split than this command's (--seed %d): give the interrupted run's flags",
			f.resume, t.cfg.Seed)
	}
	f.resumed, f.resumedInfo, f.resumedEpoch = m, info, epoch
	return -1
}

// runSeed is the seed trainModel gives the model of params for the user's
// --seed: the user's on the test set; on a validation split (CSV data,
// --val-split) the unit seed scheduler.CrossValidate would use.
func runSeed(t *trainFlags, params study.Params) int64 {
	if t.csvPath == "" && t.valSplit == 0 {
		return t.cfg.Seed
	}
	return sweeps.UnitSeed(t.cfg.Seed, params.Key(), 0)
}

func configLine(c engine.Config) string {
	return fmt.Sprintf("hidden [%s] %s/%s, %s lr %g, batch %d, %s", words.Ints(c.Hidden, " "), c.Activation, c.Init, c.Optimizer, c.LR, c.Batch, words.Count(c.Epochs, "epoch"))
}

// trainModel trains one model as evaluateConfig would (the same seeds, so
// the same figures and the same --json result), with checkpoints,
// resumption and saving: on all training rows scored on the test set, or
// with --val-split on the rows before the split scored on those after it.
// A resumed run's result has the epochs it ran after the checkpoint.
func trainModel(ctx context.Context, t *trainFlags, params study.Params, train, test *datasets.Dataset, stderr io.Writer) (trainResult, error) {
	f := &t.model
	cfg := params.Config(t.cfg.Seed)
	res := trainResult{Seed: cfg.Seed}
	trainData := engine.DataOf(train, nil)
	var val engine.Data
	metric := "test"
	shuffle := cfg.Seed // the batch order's seed; Model.Fit's own on the test set
	if test != nil {
		res.Evaluation = "test"
		val = engine.DataOf(test, nil)
	} else {
		res.Evaluation, metric = "val-split", "val"
		tr, vs, err := datasets.ValidationSplit(train.N, t.valSplit)
		if err != nil {
			return res, err
		}
		warnUnseenClasses(stderr, train, []datasets.Fold{{Train: tr, Test: vs}})
		trainData.Rows, val = tr, engine.DataOf(train, vs)
		// scheduler.CrossValidate's seeds for a single split, so that --save
		// changes no figure.
		shuffle = sweeps.ShuffleSeed(cfg.Seed, 0)
		cfg.Seed = runSeed(t, params)
	}
	info := engine.ModelInfo{
		Engine: engine.Identity(), Data: train.Name, DataSHA256: train.Fingerprint(),
		Classes: train.ClassNames, Scaling: train.Scaling, Features: train.FeatureNames,
	}
	m := f.resumed
	if m == nil {
		var err error
		if m, err = engine.NewNormalized(params.Normalized(cfg.Seed), train.Features, train.Classes, kernels.NewContext(t.threads)); err != nil {
			return res, err
		}
		m.SetShuffleSeed(shuffle)
	} else {
		switch {
		case m.Config().Seed != cfg.Seed: // check compared them with runSeed
			return res, fmt.Errorf("--resume %s: %w (another --seed or --val-split)", f.resume, engine.ErrResumeMismatch)
		case f.resumedInfo.DataSHA256 != info.DataSHA256:
			what := "other rows of " + train.Name
			if f.resumedInfo.Data != train.Name {
				what = fmt.Sprintf("%s, not %s", f.resumedInfo.Data, train.Name)
			}
			return res, fmt.Errorf("--resume %s: %w: it trained on %s (another --data, --csv or --limit-rows?)", f.resume, engine.ErrResumeMismatch, what)
		case m.ResumeRows() != rowsOf(trainData, train.N):
			return res, fmt.Errorf("--resume %s: %w: it trained on %d rows, this command on %d (another --val-split or --limit-rows?)", f.resume, engine.ErrResumeMismatch, m.ResumeRows(), rowsOf(trainData, train.N))
		case m.Inputs() != train.Features || m.Outputs() != train.Classes:
			return res, fmt.Errorf("--resume %s: %w: its model takes %d inputs and %d classes, the data has %d and %d", f.resume, engine.ErrResumeMismatch, m.Inputs(), m.Outputs(), train.Features, train.Classes)
		}
		fmt.Fprintf(stderr, "resuming from %s after epoch %d/%d\n", f.resume, f.resumedEpoch, cfg.Epochs)
		if was := f.resumedInfo.Engine; was != info.Engine && f.resumedEpoch < cfg.Epochs {
			// Another ISA path sums in another order: a result, but not the one promised.
			version, isa, _ := strings.Cut(was, "/")
			how := fmt.Sprintf("MLPSWEEP_ISA=%s resumes it on its path, where this CPU has it", isa)
			if version != engine.Version {
				how = "another engine version cannot resume it bit for bit"
			}
			fmt.Fprintf(stderr, "note: %s was written by engine %s, and this run is %s: it goes on, but its figures will not be bit for bit an uninterrupted run's (%s)\n", f.resume, was, info.Engine, how)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ckErr error
	start := time.Now()
	scored, _ := val.Size(train.Features, train.Classes)
	progress := newEpochProgress(stderr, "", 1, cfg.Epochs, cfg.Epochs-f.resumedEpoch, isTerminal(stderr) && !t.jsonOutput).
		scores(scheduler.EpochWorkOf(params.Hidden(), train.Features, train.Classes, rowsOf(trainData, train.N), scored))
	m.SetProgress(progress.every(), progress.partway(0))
	u, err := scheduler.FitAndScore(ctx, m, trainData, val, true, func(s engine.EpochStats) {
		if f.checkpoint != "" && ckErr == nil {
			if ckErr = m.SaveCheckpoint(f.checkpoint, info); ckErr != nil {
				cancel()
				return
			}
		}
		progress.epoch(0, s)
	})
	progress.clearLine()
	switch {
	case ckErr != nil:
		return res, fmt.Errorf("checkpoint: %w", ckErr)
	case err != nil:
		return res, err
	case u.Failed():
		return res, errors.New(u.Error)
	}
	u.EngineVer = sweeps.EngineID()
	res.Result = sweeps.Summarize(study.Point{Params: params}, []sweeps.UnitResult{u})
	res.Result.Rank = 1
	res.WallSeconds = engine.JSONFloat(time.Since(start).Seconds())
	res.setRate(train.Features, train.Classes, t.threads)
	res.Diverged, res.Divergence = u.Diverged, u.Error
	if f.save == "" {
		return res, nil
	}
	if u.Diverged {
		return res, fmt.Errorf("--save %s: training diverged (%s); no model saved", f.save, u.Error)
	}
	info.Metrics = map[string]float64{metric + "_accuracy": u.Accuracy, metric + "_loss": u.ValLoss, "epochs": float64(cfg.Epochs)}
	if err := m.Save(f.save, info); err != nil {
		return res, err
	}
	fmt.Fprintf(stderr, "saved the model to %s\n", f.save)
	return res, nil
}

// rowsOf is the number of rows d trains on, of a dataset of n rows.
func rowsOf(d engine.Data, n int) int {
	if d.Rows == nil {
		return n
	}
	return len(d.Rows)
}
