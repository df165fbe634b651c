package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

func init() {
	register(command{name: "sweep", summary: "run a hyperparameter study (YAML file or built-in preset), resumably", run: runSweep})
}

const sweepSynopsis = `sweep [STUDY.yaml] [--preset seed] [flags]

Runs every configuration of a study on every cross-validation fold (a work
unit each), --workers units at a time, and stores each finished unit in
OUT/mlpsweep.db. Running the same command again resumes: finished units are
skipped, and units any study in OUT already trained with the same config,
fold, seed, data and engine are reused. Ctrl-C stops cleanly (units in
flight are dropped; exit status 130). At the end the tables go to stdout and
results.csv, results.json and report.html to OUT.

A study file (see examples/seed.yaml) has: name; base: an engine config by
its keys (hidden, activation, init, optimizer, lr, momentum, nesterov, decay,
batch, epochs, l1, l2, activity_l1, activity_l2, activity_undivided,
dropout, batch_norm, residual); axes: a list of {name, key or keys, values, set} varying one
thing at a time from base; grid: key → values (cartesian product); random:
{n, seed, params: key → {choice: [..]} | {uniform: [lo, hi]} |
{log_uniform: [lo, hi]} | {int: [lo, hi]}}; data: mnist | {idx: DIR} |
{images: FILE, labels: FILE} | {csv: FILE, label: COLUMN}; folds; epochs;
seed; metric: accuracy; fuse: true | false (default true: the configurations
of a fold that share batch size and epochs train fused, a few as one wide
model; the numbers are the same either way). lr 0 means the optimizer's
Keras default. A diverged unit (NaN/Inf loss) is kept with the accuracy its model scores as
it stopped, and flagged diverged.

Examples:
  mlpsweep sweep --preset seed                      # the reference notebook's study
  mlpsweep sweep --preset seed --limit-rows 6000 --epochs 2 --axes optimizer,batch
  mlpsweep sweep my-study.yaml --out runs/mine --workers 4
  mlpsweep sweep --preset seed --fuse=false         # train every unit alone (same numbers)`

// sweepFlags binds every flag of `mlpsweep sweep`.
type sweepFlags struct {
	preset     string
	out        string
	workers    int
	epochs     int
	folds      int
	limitRows  int
	axes       string
	data       string
	curves     bool
	jsonOutput bool
	fuse       *bool // --fuse; nil: the study's fuse:
}

func newSweepFlags(stderr io.Writer) (*flag.FlagSet, *sweepFlags) {
	fs := newFlagSet("sweep", sweepSynopsis, stderr)
	f := &sweepFlags{}
	fs.StringVar(&f.preset, "preset", "", "run a built-in study instead of a file: "+strings.Join(study.PresetNames(), ", "))
	fs.StringVar(&f.out, "out", "", "output directory: database, results and report (default out/<study name>); created if missing, checked before any data is loaded")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "work units trained at once = cores used; when fewer units than workers remain, spare cores go to each unit's GEMMs")
	fs.IntVar(&f.epochs, "epochs", 0, "train every configuration for N epochs instead of the study's (0: the study's)")
	fs.IntVar(&f.folds, "folds", 0, "K-fold cross-validation with K folds instead of the study's (0: the study's)")
	fs.IntVar(&f.limitRows, "limit-rows", 0, "use only the first N training rows (0: all), for quick runs; they must hold at least 2 classes")
	fs.StringVar(&f.axes, "axes", "", "run only these axes of the study, comma-separated (e.g. optimizer,batch)")
	fs.StringVar(&f.data, "data", "", "read the study's data from PATH: the folder of the MNIST IDX files for data: mnist, or the CSV file for data: {csv: …}")
	fs.BoolVar(&f.curves, "curves", false, "also score the held-out fold after every epoch, for learning curves in the report (about 15% slower; stored units are not retrained)")
	fs.BoolVar(&f.jsonOutput, "json", false, "print one JSON object with the results on stdout instead of the tables")
	fs.BoolFunc("fuse", "train the configurations of a fold that share batch size and epochs fused, a few as one wide model (same numbers, faster); --fuse=false trains each alone (default: the study's fuse:, true unless set)", func(v string) error {
		b, err := strconv.ParseBool(v)
		f.fuse = &b
		return err
	})
	return fs, f
}

// parseInterleaved parses flags that may come after positional arguments
// (`sweep study.yaml --out x`), which package flag alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string, stdout io.Writer) (positional []string, code int) {
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return nil, code
	}
	for fs.NArg() > 0 {
		positional = append(positional, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, 2
		}
	}
	return positional, -1
}

func runSweep(args []string, stdout, stderr io.Writer) int {
	fs, f := newSweepFlags(stderr)
	positional, code := parseInterleaved(fs, args, stdout)
	if code >= 0 {
		return code
	}
	switch {
	case len(positional) > 1:
		return usageError(stderr, "sweep", "one study file at most, got %s", strings.Join(positional, " "))
	case len(positional) == 1 && f.preset != "":
		return usageError(stderr, "sweep", "give a study file or --preset, not both")
	case len(positional) == 0 && f.preset == "":
		return usageError(stderr, "sweep", "give a study file or --preset NAME (built in: %s)", strings.Join(study.PresetNames(), ", "))
	case f.workers < 1:
		return usageError(stderr, "sweep", "--workers %d: want N ≥ 1", f.workers)
	case f.epochs < 0:
		return usageError(stderr, "sweep", "--epochs %d: want N ≥ 1 (or 0 for the study's)", f.epochs)
	case f.folds == 1 || f.folds < 0:
		return usageError(stderr, "sweep", "--folds %d: want K ≥ 2 (or 0 for the study's)", f.folds)
	case f.limitRows < 0:
		return usageError(stderr, "sweep", "--limit-rows %d: want N ≥ 0", f.limitRows)
	}

	s, err := loadSweepStudy(f, positional)
	if err != nil {
		// A study file that is missing or invalid is a failure (1), like a
		// missing CSV file; a preset the binary lacks is a usage error.
		if f.preset != "" {
			return usageError(stderr, "sweep", "%v", err)
		}
		return fail(stderr, "sweep", err)
	}
	if err := applySweepFlags(s, f); err != nil {
		return usageError(stderr, "sweep", "%v", err)
	}
	if f.out == "" {
		f.out = filepath.Join("out", s.Name)
	}
	if err := checkOutDir("--out", f.out); err != nil {
		return fail(stderr, "sweep", err)
	}
	data, err := loadSweepData(s, f, stderr)
	if err != nil {
		return fail(stderr, "sweep", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second Ctrl-C kills at once

	progress := newSweepProgress(stderr, s.Name, f.workers)
	r, err := scheduler.RunStudy(ctx, s, data, scheduler.Options{Dir: f.out, Workers: f.workers, Curves: f.curves, Progress: progress.event})
	progress.finish()
	if errors.Is(err, scheduler.ErrInterrupted) {
		fmt.Fprintf(stderr, "mlpsweep sweep: %v\n", err)
		return 130
	}
	if err != nil {
		return fail(stderr, "sweep", err)
	}
	return renderStudy(r, f.out, f.jsonOutput, stdout, stderr, "sweep")
}

// loadSweepStudy reads the study file or the preset.
func loadSweepStudy(f *sweepFlags, positional []string) (*study.Study, error) {
	if f.preset != "" {
		return study.Preset(f.preset)
	}
	return study.ReadStudy(positional[0])
}

// applySweepFlags applies --epochs, --folds, --axes, --data and --fuse to s.
func applySweepFlags(s *study.Study, f *sweepFlags) error {
	if f.fuse != nil {
		s.Fuse = *f.fuse
	}
	if f.epochs > 0 {
		s.SetEpochs(f.epochs)
	}
	if f.folds > 0 {
		s.Folds = f.folds
	}
	if f.axes != "" {
		var names []string
		for _, a := range strings.Split(f.axes, ",") {
			if a = strings.TrimSpace(a); a != "" {
				names = append(names, a)
			}
		}
		if len(names) == 0 {
			return fmt.Errorf("--axes %q names no axis", f.axes)
		}
		if err := s.KeepAxes(names); err != nil {
			return fmt.Errorf("--axes: %w", err)
		}
	}
	if f.data != "" {
		switch s.Data.Kind {
		case "mnist", "csv":
			s.Data.Path = f.data
		default:
			return fmt.Errorf("--data: study %s reads an IDX file pair; edit its data: section instead", s.Name)
		}
	}
	return nil
}

// loadSweepData loads the study's training rows, the first --limit-rows of them.
func loadSweepData(s *study.Study, f *sweepFlags, stderr io.Writer) (*datasets.Dataset, error) {
	fmt.Fprintf(stderr, "loading %s\n", s.Data)
	data, err := study.LoadData(s.Data)
	if err != nil {
		return nil, err
	}
	return limitRows(data, f.limitRows)
}
