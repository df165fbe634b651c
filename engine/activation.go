package engine

import "github.com/mlpsweep/mlpsweep/kernels"

// activationOf maps the canonical activation names of Config to kernels.
var activationOf = map[string]kernels.Activation{
	"linear":  kernels.Linear,
	"relu":    kernels.ReLU,
	"tanh":    kernels.Tanh,
	"sigmoid": kernels.Sigmoid,
	"elu":     kernels.ELU,
	"selu":    kernels.SELU,
}

// The activation's forward pass is fused into denseForward.

// activationBackward turns dy [n], the gradient w.r.t. y = act(z) [n], into
// the gradient w.r.t. z in place: dy ⊙= act'(z), written through y.
func activationBackward(act kernels.Activation, y, dy []float32) {
	kernels.ActBackward(act, y, dy, dy)
}
