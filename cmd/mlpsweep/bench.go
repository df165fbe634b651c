package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/mlpsweep/mlpsweep/bench"
	"github.com/mlpsweep/mlpsweep/kernels"
)

func init() {
	register(command{
		name:    "bench",
		summary: "measure this machine: kernel ISA, GEMM GFLOP/s and % of peak, epoch time",
		run:     runBench,
	})
}

const benchSynopsis = `bench [--json] [--quick]

Measures this machine on one core: the kernels' ISA path and the GEMM
blocks in use (table or tuned file), the FMA peak, the GFLOP/s and % of
peak of the GEMM shapes one training step of 784-128-10 runs (batch 128)
and of a 1024³ product, next to gonum's pure-Go sgemm (and OpenBLAS in a
build with -tags netlib), and one epoch of 784-128-10 (Adam, batch 128,
45,000 MNIST-shaped rows). About 10 seconds; --quick about 3.

Example: mlpsweep bench --json`

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", benchSynopsis, stderr)
	asJSON := fs.Bool("json", false, "print the results as a JSON list")
	quick := fs.Bool("quick", false, "shorter measurements (noisier), a few seconds in all")
	if status := parseFlags(fs, args, stdout); status >= 0 {
		return status
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "bench", "unexpected argument %q", fs.Arg(0))
	}
	effort := bench.FullEffort
	if *quick {
		effort = bench.QuickEffort
	}

	// Single-core figures: one Go thread for every backend (gonum's sgemm
	// would otherwise spread over GOMAXPROCS).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))

	var results []bench.Result
	emit := func(r bench.Result) { results = append(results, r) }
	if !*asJSON {
		emit = func(r bench.Result) { printBenchResult(stdout, r) }
		fmt.Fprintf(stdout, "mlpsweep bench: one thread; kernels ISA %v (detected %v; MLPSWEEP_ISA=generic|avx2|avx512 lowers it)\n",
			kernels.ActiveISA(), kernels.DetectedISA())
		fmt.Fprintf(stdout, "GEMM blocks: %s\n", kernels.TuningSource())
		if name := bench.KernelsGEMM(); name != "mlpsweep" {
			fmt.Fprintf(stdout, "note: this build (-tags netlib) trains on %s's GEMM (the epoch line); the sgemm lines show mlpsweep's and %s's side by side\n", name, name)
		}
		for _, be := range bench.Backends() {
			if be.Detail != "" {
				fmt.Fprintf(stdout, "%s: %s\n", be.Name, be.Detail)
			}
		}
	}
	if err := bench.Check(effort, bench.MNISTRows, emit); err != nil {
		return fail(stderr, "bench", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return fail(stderr, "bench", err)
		}
	}
	return 0
}

// printBenchResult prints one line of the text report.
func printBenchResult(w io.Writer, r bench.Result) {
	switch {
	case r.Name == "peak":
		fmt.Fprintf(w, "peak: %.0f GFLOP/s (%s)\n\n%-22s %-9s %8s %6s\n", r.GFLOPS, r.PeakSource, "sgemm", "backend", "GFLOP/s", "%peak")
	case r.SamplesPerSecond > 0:
		fmt.Fprintf(w, "\n%s (Adam, batch %d, %d rows): %.3f s/epoch, %.0f samples/s, %.1f GFLOP/s, %.1f%% of peak\n",
			r.Name, r.Batch, r.Rows, r.Seconds, r.SamplesPerSecond, r.GFLOPS, r.PercentOfPeak())
	default:
		fmt.Fprintf(w, "%-22s %-9s %8.1f %6.1f\n", r.Name, r.Backend, r.GFLOPS, r.PercentOfPeak())
	}
}
