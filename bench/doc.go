// Package bench measures whole pieces of mlpsweep's work — a training step,
// an epoch, a sweep unit, the GEMM shapes training runs — and relates each
// to the machine's single-core fp32 peak.
//
// The Go benchmarks (go test -bench . ./bench) report three metrics besides
// ns/op: "samples/s", "GFLOP/s" (training FLOPs per sample times samples/s)
// and "%peak" (GFLOP/s over kernels.Peak). `mlpsweep bench` runs the quick
// measurements of this package (MeasureGEMM, MeasureEpoch) on a user's
// machine; bench/bench.mk records, compares and checks the suites with
// benchstat.
//
// Every measurement here is single-threaded: one kernels.Context with one
// thread, the way a sweep runs each work unit.
package bench
