// Package isatest lets a test run the kernels on a given ISA path, as a
// host without the wider paths would, for tests of units computed on
// several kinds of machine.
package isatest

import (
	"testing"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// Use runs the kernels on isa until the test ends; it skips the test when
// this CPU or build lacks the path.
func Use(t testing.TB, isa kernels.ISA) {
	t.Helper()
	was := kernels.ActiveISA()
	if err := kernels.SetISA(isa); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { kernels.SetISA(was) })
}

// TwoPaths returns this CPU's widest ISA path and the one below it; it
// skips the test when there is only one (a CPU or build without SIMD).
func TwoPaths(t testing.TB) (hi, lo kernels.ISA) {
	t.Helper()
	hi = kernels.DetectedISA()
	if hi == kernels.Generic {
		t.Skip("one ISA path only on this CPU or build")
	}
	return hi, hi - 1
}
