package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mlpsweep/mlpsweep/bench"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
)

func init() {
	register(command{
		name:    "tune",
		summary: "measure this CPU's GEMM blocks and fused group width, and keep them for later runs",
		run:     runTune,
	})
}

const tuneSynopsis = `tune [--file PATH] [--quick] [--rounds N] [--dry-run]

Measures, on one core of this machine, the GEMM blocking that does not
change a result's bits (MC, NC, the resident-A budget and pass width, the
edge kernels, the next-panel prefetch, the narrow kernels' reach) and the
fastest fused group width, starting from the kernels' table entry for this
CPU, and writes them to this CPU's file in the user's cache directory,
keyed by CPU, ISA path and engine version: every later run on this CPU
reads it (bench, train --json and the sweep summary say so);
MLPSWEEP_TUNE_FILE names another file, or none. About a minute of CPU
time; the machine should be otherwise idle.

Example: mlpsweep tune --dry-run     # measure and print only`

func runTune(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tune", tuneSynopsis, stderr)
	file := fs.String("file", "", "where to write the tuned blocks (default: $"+kernels.TuneFileEnv+", else this CPU's file in the user's cache directory, which every later run reads)")
	quick := fs.Bool("quick", false, "fewer rounds (noisier), about 20 seconds")
	rounds := fs.Int("rounds", 0, "interleaved rounds per choice, each candidate keeping its fastest (default 5, 2 with --quick)")
	dryRun := fs.Bool("dry-run", false, "measure and print, write nothing")
	if status := parseFlags(fs, args, stdout); status >= 0 {
		return status
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "tune", "unexpected argument %q", fs.Arg(0))
	}
	// --rounds 0 is no default: the default depends on --quick.
	if *rounds < 0 || *rounds == 0 && isSet(fs, "rounds") {
		return usageError(stderr, "tune", "--rounds %d: want N ≥ 1", *rounds)
	}
	isa := kernels.ActiveISA()
	if *file == "" && !*dryRun && os.Getenv(kernels.TuneFileEnv) == "none" {
		return usageError(stderr, "tune", "%s=none: runs read no tuned file, so there is none to write: give --file PATH, or unset %s", kernels.TuneFileEnv, kernels.TuneFileEnv)
	}
	path := *file
	if path == "" {
		p, err := kernels.TuneFilePath(isa, engine.Version)
		if err != nil {
			return fail(stderr, "tune", fmt.Errorf("no cache directory to keep the result in (%v): give --file", err))
		}
		path = p
	}
	if !*dryRun { // before a minute of measuring, not after
		out, other := namedPath{"--file", path}, ""
		if *file == "" {
			out.flag, other = "the tuned file", "; give --file PATH"
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { // as WriteTuneFile does
			return fail(stderr, "tune", fmt.Errorf("%s %s: cannot create its folder: %w%s", out.flag, path, err, other))
		}
		if err := checkWritable(out); err != nil {
			return fail(stderr, "tune", fmt.Errorf("%w%s", err, other))
		}
	}
	opt := bench.DefaultTuneOptions
	if *quick {
		opt.Rounds, opt.MinTime = 2, 5*time.Millisecond
	}
	if *rounds > 0 {
		opt.Rounds = *rounds
	}
	opt.Log = func(line string) { fmt.Fprintln(stdout, "  "+line) }
	fmt.Fprintf(stdout, "mlpsweep tune: %s, %v path, one thread; starting from the %s\n", kernels.CPU(), isa, kernels.TuningSource())
	fmt.Fprintln(stdout, "time of each candidate relative to the value before it (fastest of the rounds; < 1 is faster):")
	start := time.Now()
	tuned, _, err := bench.Tune(opt)
	if err != nil {
		return fail(stderr, "tune", err)
	}
	took := time.Since(start).Round(time.Second)
	table := kernels.TableTuning(isa)
	fmt.Fprintf(stdout, "table: %+v\ntuned: %+v\n(%v)\n", table, tuned, took)
	if *dryRun {
		return 0
	}
	tf := kernels.ThisTuneFile(isa, engine.Version)
	tf.Tuning = tuned
	tf.Measured = fmt.Sprintf("%s by mlpsweep tune (%d rounds, %v) on %s", time.Now().UTC().Format(time.DateOnly), opt.Rounds, took, kernels.CPU())
	if err := kernels.WriteTuneFile(path, tf); err != nil {
		return fail(stderr, "tune", err)
	}
	fmt.Fprintf(stdout, "wrote %s: later runs on this CPU (%v path, engine %s) use it; results keep their bits either way\n", path, isa, engine.Version)
	return 0
}
