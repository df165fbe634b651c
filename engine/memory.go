package engine

import (
	"fmt"
	"slices"

	"github.com/mlpsweep/mlpsweep/internal/words"
)

// checkMemory refuses a model whose buffers could not fit in this
// machine's memory, before anything is allocated: Go's runtime aborts the
// whole process when an allocation fails, so a too-large --hidden would
// otherwise crash instead of being refused. The estimate counts the
// parameters with their gradients and two optimizer slots, and the
// activations and their gradients of one batch in every layer (float32).
func checkMemory(inputs int, hidden []int, outputs, batch int) error {
	var params, units float64
	in := inputs
	for l := 0; l <= len(hidden); l++ {
		out := outputs
		if l < len(hidden) {
			out = hidden[l]
		}
		params += float64(in)*float64(out) + float64(out)
		units += float64(out)
		in = out
	}
	need := 4 * (4*params + 6*float64(batch)*units)
	if total := physicalMemory(); need > float64(total) {
		return fmt.Errorf("engine: a network %s with batch %d needs about %.1f GiB (%.3g parameters), more than this machine's %.1f GiB: use narrower or fewer layers, or a smaller batch",
			words.Ints(slices.Concat([]int{inputs}, hidden, []int{outputs}), "-"), batch, need/(1<<30), params, float64(total)/(1<<30))
	}
	return nil
}
