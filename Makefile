# mlpsweep: `make run` runs the main job, `make test` the tests.
GO      ?= go
BIN     := bin/mlpsweep
OUT     ?= out

.PHONY: run train build test test-store test-netlib test-onnx test-cpus openblas chromium screenshots vet gencheck clean

build:
	$(GO) build -o $(BIN) ./cmd/mlpsweep

# The seed study (the `seed` preset: the Keras MNIST sweep that
# docs/keras-semantics.md describes, one axis at a time) at full size on
# every core; rerunning resumes. Tables on stdout, report in $(OUT)/seed.
run: build
	$(BIN) sweep --preset seed --curves --out $(OUT)/seed
	@echo "report: $(OUT)/seed/report.html"

# The notebook's baseline alone: 784-128-10 Adam, 4-fold CV.
train: build
	$(BIN) train --optimizer adam --folds 4 --epochs 10 --batch 128

# The tests run against a throwaway PostgreSQL cluster that
# .ci/with-postgres starts (installing Debian's postgresql when missing) and
# removes; a plain `go test` skips the PostgreSQL tests, saying so.
test: vet gencheck bench-check-selftest chromium
	.ci/with-postgres $(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./kernels/...

vet:
	$(GO) vet ./...

# The browser test of mlpsweep serve (cmd/mlpsweep/serve_test.go) drives
# Debian's chromium headless; installed when missing. It skips, saying so,
# only when it cannot be installed.
chromium:
	@[ -x /usr/bin/chromium ] || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } || \
		echo "chromium could not be installed: the browser test of mlpsweep serve will skip" >&2

# Screenshots of the page of mlpsweep serve for the README (docs/serve-*.png).
screenshots: chromium
	MLPSWEEP_SCREENSHOTS=$(abspath docs) $(GO) test -count=1 -run 'TestServeLiveSQLite|TestServeStudyKinds' ./cmd/mlpsweep/

# The committed assembly must be exactly what the avo generators produce.
gencheck:
	sh kernels/gencheck.sh

# The store's tests, and those that run studies on it (the queue's too), on SQLite and PostgreSQL.
test-store:
	.ci/with-postgres $(GO) test -count=1 ./sweeps/store/... ./sweeps/scheduler/ ./sweeps/queue/ ./cmd/mlpsweep/

# OpenBLAS's AVX-512 kernels where the CPU has AVX-512 (they crash with
# SIGILL elsewhere); otherwise OpenBLAS picks its kernels itself.
OPENBLAS_ENV := OPENBLAS_NUM_THREADS=1 $(if $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo y),OPENBLAS_CORETYPE=SkylakeX)

openblas:
	@[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so ] || [ -e /usr/lib/libopenblas.so ] || \
		{ apt-get update && apt-get install -y libopenblas-dev; }

# The conformance suite on the OpenBLAS backend (installs Debian's OpenBLAS).
test-netlib: openblas
	CGO_ENABLED=1 CGO_LDFLAGS=-lopenblas $(OPENBLAS_ENV) $(GO) test -count=1 -tags netlib ./kernels/... ./bench/...

# ONNX export: the Go tests export MNIST 784-128-10 relu, 3-layer tanh,
# batch norm, sigmoid, linear, elu, selu and CSV-scaled models and run them
# by the ONNX operator specifications (engine/onnx/run_test.go, also in
# `make test`); then ONNX's checker and a numpy evaluation check every file
# against Predict (installs Debian's python3-onnx; Debian's Python, not a
# python3 earlier on PATH).
DEBIAN_PYTHON := /usr/bin/python3
test-onnx:
	@$(DEBIAN_PYTHON) -c 'import onnx' 2>/dev/null || { apt-get update && apt-get install -y python3-onnx; }
	rm -rf $(OUT)/onnx && mkdir -p $(OUT)/onnx
	MLPSWEEP_ONNX_DIR=$(abspath $(OUT)/onnx) $(GO) test -count=1 -run 'TestExport' ./engine/onnx/
	$(DEBIAN_PYTHON) engine/onnx/check_onnx.py $(OUT)/onnx

# The kernels' and engine's tests on other CPUs (Intel Haswell, AMD EPYC
# Rome, Nehalem without AVX) under qemu-user's emulation; see .ci/test-cpus.
test-cpus:
	.ci/test-cpus

clean:
	rm -rf bin

# Benchmarks: make bench, bench-compare, bench-check, bench-baseline, bench-peers.
include bench/bench.mk
