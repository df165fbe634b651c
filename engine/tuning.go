package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// The GEMM's per-CPU blocks (kernels.Tuning) come from the kernels' table
// unless `mlpsweep tune` measured this CPU: its tuned file, keyed by CPU,
// ISA path and engine Version, is read once at start-up, before any
// product runs. Blocks never change a result's bits, so a missing, stale
// or broken file costs speed at most: it is ignored with a warning.
func init() { useTuneFile(os.Stderr) }

// useTuneFile puts this CPU's tuned file in force on the active ISA path,
// if there is one ($MLPSWEEP_TUNE_FILE names another, "none" none), and
// warns on w about a file it cannot use.
func useTuneFile(w io.Writer) {
	env := os.Getenv(kernels.TuneFileEnv)
	if env == "none" {
		return
	}
	isa := kernels.ActiveISA()
	path, err := kernels.TuneFilePath(isa, Version)
	if err != nil {
		return // no cache directory: the table's blocks
	}
	err = kernels.LoadTuneFile(path, isa, Version)
	if err != nil && (env != "" || !errors.Is(err, fs.ErrNotExist)) {
		fmt.Fprintf(w, "mlpsweep: ignoring tuned GEMM blocks: %v; using the %s (`mlpsweep tune` measures them again)\n",
			err, kernels.TuningSource())
	}
}

// Blocks says which GEMM blocks the engine runs on, for reports: the
// kernels' table row for this CPU or the tuned file (kernels.TuningSource).
func Blocks() string { return kernels.TuningSource() }
