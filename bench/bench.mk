# Benchmark recording, comparison and peers. The top-level Makefile includes
# this file (`include bench/bench.mk`); paths are relative to the repository
# root. See the Performance section of README.md.
#
#   make bench                       kernels + bench suites → bench/results/<date>-<commit>.txt
#   make bench COUNT=1 BENCHTIME=1x  quick smoke run (also BENCH=regexp, BENCH_PKGS, BENCH_TAGS)
#   make bench BENCH=.               every benchmark, the kernels' tuning ones included
#   make bench-compare OLD=a.txt NEW=b.txt   benchstat comparison
#   make bench-baseline              latest result becomes this CPU's committed baseline
#   make bench-check                 fails on regressions of the latest result (or NEW=…) against that
#                                    baseline (or BASE=…); BENCH_CHECK_INFO=1 only reports them
#   make bench-peers                 our epoch time next to PyTorch's, and the ratio
#   make figures [ROUNDS=5]          issue 16's figures for this machine in one run (bench/figures.sh):
#                                    GEMM against OpenBLAS, epoch, seed study, tune, queue

GO ?= go
# The tracked benchmarks; the kernels' tuning benchmarks (BlockSizes,
# PackPolicy, Pack, SgemmThreads) run with BENCH=. or by name.
BENCH ?= ^Benchmark(Sgemm|Peak|MicroKernel|Elementwise|Step|Epoch|SweepUnit)$$
COUNT ?= 6
BENCHTIME ?= 1s
BENCH_PKGS ?= ./kernels ./bench
BENCH_TAGS ?=
# Minimum significant change, in percent, that bench-check lists; a
# regression that large (with benchstat p < 0.05) fails bench-check unless
# BENCH_CHECK_INFO is set.
BENCH_THRESHOLD ?= 5
BENCH_CHECK_INFO ?=
PYTHON3 ?= /usr/bin/python3

BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da
BENCHSTAT := bin/benchstat
BENCH_RESULTS := bench/results
BENCH_CPU = $(shell sh bench/cpuslug.sh)
BENCH_BASELINE = bench/baseline/$(BENCH_CPU).txt
BENCH_COMMIT = $(shell git rev-parse --short HEAD 2>/dev/null || echo nogit)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
# Newest recorded result; file names sort by date.
BENCH_LATEST = $(lastword $(sort $(wildcard $(BENCH_RESULTS)/*.txt)))

.PHONY: bench bench-compare bench-baseline bench-check bench-check-selftest bench-peers peer-torch figures

bench:
	@mkdir -p $(BENCH_RESULTS)
	@out=$(BENCH_RESULTS)/$$(date -u +%Y-%m-%dT%H%M%SZ)-$(BENCH_COMMIT).txt; \
	echo "bench: $(GO) test -run '^$$' -bench '$(BENCH)' -count $(COUNT) -benchtime $(BENCHTIME) $(BENCH_PKGS) > $$out"; \
	{ $(GO) test -tags '$(BENCH_TAGS)' -run '^$$' -bench '$(BENCH)' -count $(COUNT) -benchtime $(BENCHTIME) -timeout 0 $(BENCH_PKGS) 2>&1; \
	  echo $$? > $$out.status; } | tee $$out; \
	status=$$(cat $$out.status); rm -f $$out.status; \
	if [ "$$status" != 0 ]; then mv $$out $$out.failed; \
		echo "bench: go test failed (exit $$status); partial results in $$out.failed"; exit $$status; fi; \
	echo "bench: results in $$out"

$(BENCHSTAT):
	GOBIN=$(abspath $(dir $(BENCHSTAT))) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

bench-compare: $(BENCHSTAT)
	@if [ -z "$(OLD)" ] || [ -z "$(NEW)" ]; then \
		echo "usage: make bench-compare OLD=bench/results/A.txt NEW=bench/results/B.txt"; exit 2; fi
	$(BENCHSTAT) $(OLD) $(NEW)

bench-baseline:
	@if [ -z "$(BENCH_LATEST)" ]; then echo "bench-baseline: no results in $(BENCH_RESULTS); run 'make bench' first"; exit 1; fi
	@mkdir -p $(dir $(BENCH_BASELINE))
	cp $(BENCH_LATEST) $(BENCH_BASELINE)
	@echo "bench-baseline: $(BENCH_LATEST) is now the baseline for $(BENCH_CPU); commit $(BENCH_BASELINE)"

# Exits 1 when a tracked benchmark regressed by BENCH_THRESHOLD% or more
# with benchstat p < 0.05 (BENCH_CHECK_INFO=1: report only); 0 without a
# baseline for this CPU, since nothing can be compared.
bench-check: $(BENCHSTAT)
	@base=$(or $(BASE),$(BENCH_BASELINE)); new=$(or $(NEW),$(BENCH_LATEST)); \
	if [ ! -f "$$base" ]; then \
		echo "bench-check: no baseline for this CPU ($(BENCH_CPU)): $$base does not exist."; \
		have=$$(cd bench/baseline 2>/dev/null && ls *.txt 2>/dev/null | sed 's/\.txt$$//' | tr '\n' ' '); \
		echo "bench-check: baselines exist for: $${have:-no CPU yet}"; \
		echo "bench-check: record one with 'make bench' then 'make bench-baseline'."; exit 0; fi; \
	if [ -z "$$new" ]; then echo "bench-check: no results in $(BENCH_RESULTS); run 'make bench' first (or pass NEW=file)."; exit 1; fi; \
	echo "bench-check: $$new against $$base (changes ≥ $(BENCH_THRESHOLD)% with benchstat p < 0.05)"; \
	csv=$$(mktemp); err=$$(mktemp); trap 'rm -f $$csv $$err' EXIT; \
	if ! $(BENCHSTAT) -format csv $$base $$new > $$csv 2> $$err; then cat $$err; exit 1; fi; \
	awk -v threshold=$(BENCH_THRESHOLD) -f bench/regressions.awk $$csv | sed 's/^[0-9]/bench-check: &/'; \
	regressions=$$(awk -v threshold=$(BENCH_THRESHOLD) -f bench/regressions.awk $$csv | sed -n 's/^\([0-9]*\) regressions.*/\1/p'); \
	if [ "$${regressions:-0}" != 0 ]; then \
		if [ -n "$(BENCH_CHECK_INFO)" ]; then echo "bench-check: $$regressions regressions (BENCH_CHECK_INFO set: not failing)"; \
		else echo "bench-check: FAIL: $$regressions regressions"; exit 1; fi; fi

# The gate's own test: the committed baseline passes against itself and
# fails against a copy 20% slower.
bench-check-selftest: $(BENCHSTAT)
	@base=$$(ls bench/baseline/*.txt | head -n 1); slow=$$(mktemp); trap 'rm -f $$slow' EXIT; \
	awk -v factor=1.2 -f bench/slowdown.awk $$base > $$slow; \
	$(MAKE) --no-print-directory bench-check BASE=$$base NEW=$$base BENCH_CHECK_INFO= > /dev/null || \
		{ echo "bench-check-selftest: the baseline fails against itself"; exit 1; }; \
	if $(MAKE) --no-print-directory bench-check BASE=$$base NEW=$$slow BENCH_CHECK_INFO= > /dev/null 2>&1; then \
		echo "bench-check-selftest: a 20% slowdown passed"; exit 1; fi; \
	echo "bench-check-selftest: ok (baseline passes, 20% slowdown fails)"

# The PyTorch peer needs Debian's python3-torch; install it when missing.
peer-torch:
	@$(PYTHON3) -c 'import torch' 2>/dev/null || { apt-get update && apt-get install -y python3-torch; } || \
		echo "bench-peers: could not install python3-torch; the PyTorch peer will be skipped"

bench-peers: peer-torch
	@echo "bench-peers: mlpsweep epoch (BenchmarkEpoch/784-128-10/b128, 3 epochs after a warm-up)"
	@secs=$$($(GO) test -run '^$$' -bench '^BenchmarkEpoch$$/^784-128-10$$/^b128$$' -benchtime 3x -count 1 ./bench | \
		awk '/^BenchmarkEpoch/ { for (i = 3; i < NF; i++) if ($$(i+1) == "ns/op") print $$i / 1e9 }'); \
	if [ -z "$$secs" ]; then echo "bench-peers: the epoch benchmark failed"; exit 1; fi; \
	if [ ! -x $(PYTHON3) ]; then echo "mlpsweep epoch: $$secs s; PyTorch peer skipped: $(PYTHON3) not found"; exit 0; fi; \
	$(PYTHON3) bench/peers/torch_mlp.py --ours $$secs

ROUNDS ?= 5
figures:
	bench/figures.sh $(ROUNDS)
