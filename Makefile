# mlpsweep: `make run` runs the main job, `make test` the tests.
GO      ?= go
BIN     := bin/mlpsweep
OUT     ?= out

.PHONY: run train build test test-netlib vet gencheck fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/mlpsweep

# The reference notebook's whole study (the `seed` preset) at full size on
# every core; rerunning resumes. Tables on stdout, report in $(OUT)/seed.
run: build
	$(BIN) sweep --preset seed --curves --out $(OUT)/seed
	@echo "report: $(OUT)/seed/report.html"

# The notebook's baseline alone: 784-128-10 Adam, 4-fold CV.
train: build
	$(BIN) train --optimizer adam --folds 4 --epochs 10 --batch 128

test: vet gencheck
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./kernels/...

vet:
	$(GO) vet ./...

# The committed assembly must be exactly what the avo generators produce.
gencheck:
	sh kernels/gencheck.sh

# The conformance suite on the OpenBLAS backend (installs Debian's OpenBLAS).
test-netlib:
	@[ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ] || \
		{ apt-get update && apt-get install -y libopenblas-dev; }
	CGO_ENABLED=1 CGO_LDFLAGS=-lopenblas OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX \
		$(GO) test -count=1 -tags netlib ./kernels/...

clean:
	rm -rf bin
