package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/safename"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
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
{images: FILE, labels: FILE} | {csv: FILE, label: COLUMN, scale, test}
(see examples/csv.yaml; paths relative to the study file); folds; epochs;
seed; metric: accuracy; refit: true (as --refit); fuse: true | false
(default true: the configurations of a fold that share batch size and
epochs train fused, a few as one wide model; the numbers are the same
either way); pruner: {kind: sha | asha | hyperband | median, eta (≥ 2,
default 3), min_epochs (default 1, at most the epochs), brackets, startup}
(a grid or random study, not an axes one, stops hopeless configurations
early, judging each by its held-out accuracy averaged over its folds: sha
keeps the best 1/η at rungs min_epochs·η^k, the same for any workers;
asha promotes without waiting for a rung to fill; hyperband runs sha from
several first rungs; median stops one below the median of the first
startup (5) configurations, trained fully; see examples/adaptive.yaml and
the README's "Adaptive studies"); sampler: {kind:
tpe, n, seed, batch, params} (params, required: the keys to sample with
ranges as random:'s; n configurations proposed batch at a time,
default --workers, by the TPE from the results so far; beside a sha or
hyperband pruner, batches of eta² each halved as a study of its own,
pruned ones informing the TPE at their rung). lr 0 means the
optimizer's Keras default; batch and epochs are ≥ 1. A diverged unit
(NaN/Inf loss) is kept with the accuracy its model scores as it stopped,
and flagged diverged; a unit the engine refuses (a network too large for
the machine) fails, and the sweep exits 1 after its report.

Progress goes to stderr (a bar on a terminal, moving within long epochs
too, else a line per finished unit) with an ETA. A pruned study's ETA counts the epochs its pruner will
train: sha's and hyperband's by their rung schedule, asha's as expected
("eta ~1m10s"), median's as a range ("eta 40s–3m10s"), with a line per
rung decided; a sampler's study's covers every batch, those not proposed
yet estimated ("eta ~").

On many machines, --shard I/N runs shard I (from 0) of N: a fixed slice of
the study's units, balanced by their work, the same in every shard, into
its own --out (default out/<study name>/shard-I). In a Slurm job array
(SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job
(JOB_COMPLETION_INDEX, with --shard-count N = the Job's completions) the
shard comes from the environment; --shard 0/1 runs the whole study there.
A shard's tables, report and --json cover its slice only (units_total is
its unit count); mlpsweep merge OUT SHARD_DIR... merges the shards into
one database whose report is the whole study's (see deploy/). The shards
of a study with a pruner (sha, hyperband, median) share one --store URL
instead, and wait for each other's scores at every rung. On the queue, a
study with a pruner (any of the four) needs --enqueue and --wait together: this
process decides the rungs while the workers train each stage (asha: each
configuration as soon as it reaches a rung, its next rung ahead of the
queue), continuing every unit from its state stored at the last rung; with
a sampler too (sha or hyperband), it also proposes each batch once the one
before is decided, so the queue trains the configurations a local run
proposes, with the same numbers.

Machines differ: every unit records the host, CPU and kernels ISA path
(avx512, avx2, generic) it was trained on, and the report lists them. A
unit is reused under the same engine version on any ISA path: the units a
host with another path stored (a shard, a shared --store) count, and the
report warns that the study mixes paths, whose numbers are not bit for bit
the same. With --strict-engine only units of this run's engine identity
(version and path, e.g. 1/avx512) are reused and the others are trained
again, so the results are bit-identical to a run on this kind of machine.
A study run on one machine is the same either way.

With --store postgres://USER:PASSWORD@HOST:PORT/DATABASE (or the URL in
MLPSWEEP_STORE) the units go to that PostgreSQL database instead of
OUT/mlpsweep.db, with the same resume and reuse; the report files still go
to OUT.

Queue mode, for many machines: --enqueue --store postgres://… plans the
study into PostgreSQL and queues a job per fused group of units not done
(River; the groups a local run would train);
mlpsweep worker --store postgres://… on any machines trains them; --wait
follows the study from the database and writes the report when its units
are done (see mlpsweep help worker, mlpsweep help status).

With --refit, after the study the best configuration by the metric (rank 1
by mean cross-validated accuracy) is trained on all training rows with the
study seed, scored on the held-out test set (MNIST's 10,000 test images; for
a CSV study the file given by --test or data: {csv: …, test: FILE}, read
with the training file's scaling and classes) and saved as
OUT/best.safetensors; its test accuracy goes to the tables, results.json and
report.html, and to --json as "refit". It is stored like a unit: a rerun
reuses it while best.safetensors is the file it saved.

Examples:
  mlpsweep sweep --preset seed                      # the seed study: MNIST, 4-fold CV
  mlpsweep sweep --preset seed --limit-rows 6000 --epochs 2 --axes optimizer,batch
  mlpsweep sweep my-study.yaml --out runs/mine --workers 4
  mlpsweep sweep my-study.yaml --shard 1/3 --out runs/mine/shard-1
  mlpsweep sweep --preset seed --refit               # and train the best configuration on all rows
  mlpsweep sweep --preset seed --fuse=false         # train every unit alone (same numbers)
  mlpsweep sweep --preset seed --cpuprofile cpu.prof # then: go tool pprof -top cpu.prof`

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
	refit      bool
	test       string
	jsonOutput bool
	shard      string
	shardCount int
	store      string
	fuse       *bool // --fuse; nil: the study's fuse:
	groupCols  int   // --group-columns; 0: the table's or measured; -1: measured
	strict     bool
	enqueue    bool
	wait       bool
	cpuProfile string
}

func newSweepFlags(stderr io.Writer) (*flag.FlagSet, *sweepFlags) {
	fs := newFlagSet("sweep", sweepSynopsis, stderr)
	f := &sweepFlags{}
	fs.StringVar(&f.preset, "preset", "", "run a built-in study instead of a file: "+strings.Join(study.PresetNames(), ", "))
	fs.StringVar(&f.out, "out", "", "output directory: database, results and report (default out/<study name>); created if missing, checked before any data is loaded")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "work units trained at once = cores used (at most 4096); when fewer units than workers remain, spare cores go to each unit's GEMMs")
	fs.IntVar(&f.epochs, "epochs", 0, "train every configuration for N epochs instead of the study's (0: the study's)")
	fs.IntVar(&f.folds, "folds", 0, "K-fold cross-validation with K folds instead of the study's (0: the study's)")
	fs.IntVar(&f.limitRows, "limit-rows", 0, "use only the first N training rows (0: all), for quick runs; they must hold at least 2 classes")
	fs.StringVar(&f.axes, "axes", "", "run only these axes of the study, comma-separated (e.g. optimizer,batch)")
	fs.StringVar(&f.data, "data", "", "read the study's data from PATH: the folder of the MNIST IDX files for data: mnist, or the CSV file for data: {csv: …}")
	fs.BoolVar(&f.curves, "curves", false, "also score the held-out fold after every epoch, for learning curves in the report (about 15% slower; stored units are not retrained)")
	fs.BoolVar(&f.refit, "refit", false, "after the study, train the best configuration on all training rows, score it on the test set and save it as OUT/best.safetensors (as refit: true in the study file)")
	fs.StringVar(&f.test, "test", "", "the CSV `FILE` of held-out rows the refit is scored on (a CSV study's test set; MNIST has its own)")
	fs.BoolVar(&f.jsonOutput, "json", false, "print one JSON object with the results on stdout instead of the tables")
	fs.StringVar(&f.shard, "shard", "", "run only shard I/N of the study's units (I from 0 to N-1), balanced by work; merge the shards with mlpsweep merge (default: from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with --shard-count)")
	fs.IntVar(&f.shardCount, "shard-count", 0, "the number of shards N when the index comes from the environment: a Kubernetes Indexed Job's completions (JOB_COMPLETION_INDEX); optional in a Slurm array")
	fs.StringVar(&f.store, "store", "", storeUsage)
	fs.BoolFunc("fuse", "train the configurations of a fold that share batch size and epochs fused, a few as one wide model (same numbers, faster); --fuse=false trains each alone (default: the study's fuse:, true unless set)", func(v string) error {
		b, err := strconv.ParseBool(v)
		f.fuse = &b
		return err
	})
	fs.IntVar(&f.groupCols, "group-columns", 0, "cap a fused group at N first-layer columns (members 784-128-10: 128 each); 0: the width of the kernels' table for this CPU, or for a CPU it does not know the fastest width measured at the start; -1: measured in any case. The numbers are the same either way")
	fs.BoolVar(&f.strict, "strict-engine", false, "reuse only units stored under this run's engine identity (engine version and ISA path, e.g. 1/avx512) and train the others: results bit-identical to a run on this kind of machine (default: also reuse units of hosts with another ISA path, noted in the report)")
	fs.BoolVar(&f.enqueue, "enqueue", false, "queue mode: plan the study into the --store database and queue a job per fused group of units not done, for mlpsweep worker processes on any machines; nothing is trained here")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of this run (loading, training, evaluation, storing, report) to `FILE`, for go tool pprof; local runs only")
	fs.BoolVar(&f.wait, "wait", false, "queue mode: follow the study's progress in the --store database until its queued units are done, then write the report (after --enqueue, or alone)")
	return fs, f
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
	case f.groupCols < scheduler.MeasureGroupColumns:
		return usageError(stderr, "sweep", "--group-columns %d: want N ≥ 1 (0: the CPU's table's width, else measured; %d: measured)", f.groupCols, scheduler.MeasureGroupColumns)
	case f.epochs < 0:
		return usageError(stderr, "sweep", "--epochs %d: want N ≥ 1 (or 0 for the study's)", f.epochs)
	case f.folds == 1 || f.folds < 0:
		return usageError(stderr, "sweep", "--folds %d: want K ≥ 2 (or 0 for the study's)", f.folds)
	case f.epochs > study.MaxEpochs || f.folds > study.MaxFolds:
		return usageError(stderr, "sweep", "%s", tooMany(f.epochs, f.folds))
	case f.limitRows < 0:
		return usageError(stderr, "sweep", "--limit-rows %d: want N ≥ 0", f.limitRows)
	case f.shard != "" && f.shardCount != 0:
		return usageError(stderr, "sweep", "give --shard I/N or --shard-count N, not both")
	case f.shardCount == 0 && isSet(fs, "shard-count"): // 0 is the flag's "not given"
		return usageError(stderr, "sweep", "bad shard: --shard-count 0: the shard count must be ≥ 1")
	case f.cpuProfile != "" && (f.enqueue || f.wait):
		return usageError(stderr, "sweep", "--cpuprofile profiles a local run, and in queue mode the workers train: run the study locally to profile it")
	}
	if !f.enqueue && !f.wait { // a local run: queue mode trains on the workers' cores
		warnCores(stderr, "sweep", "--workers", f.workers)
	}
	shard, err := sweepShard(f)
	if err != nil {
		return usageError(stderr, "sweep", "%v", err)
	}
	url, from, err := storeURL(fs, f.store)
	if err != nil {
		return usageError(stderr, "sweep", "%v", err)
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
	for _, note := range s.Notes { // what the file sets that changes nothing
		fmt.Fprintf(stderr, "note: %s\n", note)
	}
	// A missing file of the command line, named as such: loading it would
	// say where the study file's paths are taken from.
	for _, in := range []namedPath{{"--data", f.data}, {"--test", f.test}} {
		if _, err := os.Stat(in.path); in.path != "" && errors.Is(err, os.ErrNotExist) {
			return fail(stderr, "sweep", fmt.Errorf("%s %s: no such file or folder", in.flag, in.path))
		}
	}
	// A rung decides over every configuration of the study at once: the
	// shards of a pruned study follow each other in one PostgreSQL store.
	switch {
	case s.Pruner != nil && (f.enqueue || f.wait) && !(f.enqueue && f.wait):
		return usageError(stderr, "sweep", "study %s has a pruner (%s), whose rungs this process decides as the workers reach them: give --enqueue and --wait together, and keep it running while the workers train", s.Name, s.Pruner.Kind)
	case s.Pruner != nil && shard.Sharded() && s.Pruner.Kind == "asha":
		return usageError(stderr, "sweep", "study %s: pruner asha %s", s.Name, scheduler.ASHAShards)
	case s.Pruner != nil && shard.Sharded() && url == "":
		return usageError(stderr, "sweep", "study %s has a pruner (%s): its shards must share one PostgreSQL store (--store URL)", s.Name, s.Pruner.Kind)
	case s.Search != nil && shard.Sharded():
		return usageError(stderr, "sweep", "study %s has a sampler, which proposes each configuration from the results before it, so its units cannot be split into shards in advance (shard %s, %s): run it on one machine, or on the queue (--enqueue --wait)", s.Name, shard, shard.Source)
	}
	if f.enqueue || f.wait {
		return sweepQueue(s, f, shard, url, from, stdout, stderr)
	}
	if shard.Sharded() && (f.refit || f.test != "") {
		return usageError(stderr, "sweep", "--refit with shard %s (%s): a shard holds part of the study, so its best configuration is not the study's: merge the shards (mlpsweep merge OUT SHARD_DIR...), then run this sweep with --out OUT --refit, which reuses every unit", shard, shard.Source)
	}
	if err := checkRefit(s, f); err != nil {
		if f.refit || f.test != "" {
			return usageError(stderr, "sweep", "%v", err)
		}
		return fail(stderr, "sweep", err) // the study file's refit: true
	}
	if shard.Sharded() && s.Refit {
		fmt.Fprintf(stderr, "note: study %s asks for a refit, which a shard does not run (it holds part of the study): merge the shards, then run this sweep with --out on the merged folder (it reuses every unit and refits)\n", s.Name)
		s.Refit = false
	}
	if f.out == "" {
		out, err := safename.Join("out", s.Name)
		if err != nil {
			return fail(stderr, "sweep", fmt.Errorf("study name: %w", err))
		}
		f.out = out
		if shard.Sharded() {
			f.out = filepath.Join(f.out, fmt.Sprintf("shard-%d", shard.Index))
		}
	}
	var st store.Store // the PostgreSQL store of --store, else (below) OUT/mlpsweep.db
	if url != "" {
		if st, err = openStore(url, from); err != nil {
			return fail(stderr, "sweep", err)
		}
		defer st.Close()
	}
	if err := checkOutDir("--out", f.out); err != nil {
		return fail(stderr, "sweep", err)
	}
	if code := checkOutputs(stderr, "sweep", studyOutputs(f.out), studyInputs(s, positional)); code >= 0 {
		return code
	}
	// OUT/mlpsweep.db is opened (locked, checked: a folder there, a
	// damaged file, a newer schema) before the data loads, which may take
	// minutes: an error about it comes at once.
	local := st == nil
	if local {
		if st, err = openStore(f.out, ""); err != nil {
			return fail(stderr, "sweep", err)
		}
		defer st.Close()
	}
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return fail(stderr, "sweep", err)
		}
		defer stop(stderr)
	}
	data, test, err := loadSweepData(s, f, stderr)
	if err != nil {
		return fail(stderr, "sweep", err)
	}

	ctx := commandContext() // canceled by Ctrl-C or SIGTERM (interrupt.go)

	switch {
	case shard.Sharded() && !local: // the shards share the store: nothing in OUT to merge
		fmt.Fprintf(stderr, "shard %s (%s): this run trains and reports its slice of the study's units into %s (%s), which holds the other shards' too: once every shard is done, mlpsweep report --store URL reports the whole study (or mlpsweep merge OUT URL copies it into OUT/mlpsweep.db)\n",
			shard, shard.Source, st.Name(), from)
	case shard.Sharded():
		fmt.Fprintf(stderr, "shard %s (%s): this run trains and reports its slice of the study's units; merge the shards with mlpsweep merge OUT SHARD_DIR...\n",
			shard, shard.Source)
	}
	progress := newSweepProgress(stderr, s, f.workers)
	opts := scheduler.Options{Dir: f.out, Store: st, Workers: f.workers, Curves: f.curves, Shard: shard, StrictEngine: f.strict, GroupColumns: f.groupCols, Progress: progress.event, PartEvery: progress.partEvery()}
	var r sweeps.StudyResult
	if s.Search != nil { // proposed in batches of the worker count: the same configurations for the same --workers
		r, err = scheduler.RunSearch(ctx, s, data, f.workers, opts)
	} else {
		r, err = scheduler.RunStudy(ctx, s, data, opts)
	}
	progress.finish()
	if errors.Is(err, scheduler.ErrInterrupted) {
		return interrupted(stderr, "sweep", err)
	}
	if err != nil {
		return fail(stderr, "sweep", err)
	}
	if s.Refit {
		err := refit(ctx, &r, data, test, st, f, stderr)
		if errors.Is(err, scheduler.ErrInterrupted) {
			return interrupted(stderr, "sweep", err)
		}
		if err != nil {
			return fail(stderr, "sweep", err)
		}
	}
	if code := renderStudy(r, f.out, f.jsonOutput, stdout, stderr, "sweep"); code != 0 {
		return code
	}
	if err := failedUnits(r); err != nil {
		return fail(stderr, "sweep", err)
	}
	return 0
}

// sweepShard is the shard to run: --shard, else the batch scheduler's
// environment (with --shard-count), else none.
func sweepShard(f *sweepFlags) (scheduler.Shard, error) {
	if f.shard != "" {
		return scheduler.ParseShard(f.shard)
	}
	return scheduler.ShardFromEnv(os.LookupEnv, f.shardCount)
}

// checkRefit applies --refit and --test to s and checks that a refit has a
// test set, before anything is loaded or trained.
func checkRefit(s *study.Study, f *sweepFlags) error {
	s.Refit = s.Refit || f.refit
	if f.test != "" {
		switch {
		case !s.Refit:
			return fmt.Errorf("--test %s is the test set of a refit: give --refit too (or refit: true in the study file)", f.test)
		case s.Data.Kind != "csv":
			return fmt.Errorf("--test applies to a CSV study; %s has its own test set or none", s.Data)
		}
		s.Data.Test = f.test
	}
	if !s.Refit {
		return nil
	}
	switch {
	case s.Data.Kind == "csv" && s.Data.Test == "":
		return fmt.Errorf("a refit is scored on held-out rows, and a CSV study has no test set: give --test FILE (held-out rows with the same columns), or test: FILE under data: in the study file")
	case s.Data.Kind != "csv" && s.Data.Kind != "mnist":
		return fmt.Errorf("a refit is scored on a test set, and %s has none: refit needs MNIST or a CSV study with --test FILE", s.Data)
	}
	return nil
}

// refit trains the study's best configuration on all of train, scores it
// on test and saves it (scheduler.Refit), with a progress line per epoch.
func refit(ctx context.Context, r *sweeps.StudyResult, train, test *datasets.Dataset, st store.Store, f *sweepFlags, stderr io.Writer) error {
	epochs := r.Epochs
	fmt.Fprintf(stderr, "refit: training the best configuration on all %d training rows, scoring it on %d test rows (%s)\n", train.N, test.N, test.Name)
	progress := newEpochProgress(stderr, "refit ", 1, epochs, epochs, isTerminal(stderr) && !f.jsonOutput)
	for _, c := range r.Configs {
		if c.Rank == 1 && f.curves { // the best (scheduler.Refit's), its test rows scored after each epoch
			progress.scores(scheduler.EpochWorkOf(c.Params.Hidden(), train.Features, train.Classes, train.N, test.N))
		}
	}
	defer progress.clearLine()
	return scheduler.Refit(ctx, r, train, test, scheduler.RefitOptions{
		Dir: f.out, Store: st, Threads: f.workers, Curves: f.curves,
		OnEpoch: func(s engine.EpochStats) { progress.epoch(0, s) }, Partway: progress.partways(),
	})
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
		if err := s.CheckPruner(); err != nil {
			return fmt.Errorf("--epochs %d: %w", f.epochs, err)
		}
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

// loadSweepData loads the study's training rows, the first --limit-rows of
// them, and for a refit its test set (nil otherwise).
func loadSweepData(s *study.Study, f *sweepFlags, stderr io.Writer) (train, test *datasets.Dataset, err error) {
	fmt.Fprintf(stderr, "loading %s\n", s.Data)
	data, err := study.LoadData(s.Data, f.limitRows)
	if err != nil {
		return nil, nil, err
	}
	if s.Refit {
		if test, err = study.LoadTestData(s.Data, data); err != nil {
			return nil, nil, err
		}
	}
	train, err = limitRows(data, f.limitRows)
	return train, test, err
}
