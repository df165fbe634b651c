package engine

// Layer is one Dense layer as exporters see it: views of the model's
// parameters (not copies; do not modify them) and what follows the GEMM.
type Layer struct {
	In, Out    int
	Kernel     []float32  // [In×Out] W, Keras's layout: y = x·W + b
	Bias       []float32  // [Out] b
	BatchNorm  *BatchNorm // batch normalization between x·W + b and the activation; nil without
	Activation string     // a Config activation name for hidden layers, "softmax" for the output layer
	Residual   bool       // the layer's input is added to its output after the activation (In = Out)
}

// BatchNorm is a hidden layer's batch normalization at inference:
// u = Gamma·(z − MovingMean)/√(MovingVariance + Epsilon) + Beta, all [Out].
type BatchNorm struct {
	Gamma, Beta, MovingMean, MovingVariance []float32
	Epsilon                                 float32
}

// Layers returns the model's Dense layers, input to output, as they act at
// inference (dropout is the identity there and has no entry).
func (m *Model) Layers() []Layer {
	ls := make([]Layer, len(m.layers))
	for i, d := range m.layers {
		ls[i] = Layer{In: d.in, Out: d.out, Kernel: d.w, Bias: d.b, Activation: m.cfg.Activation, Residual: d.residual}
		if !d.hidden {
			ls[i].Activation = "softmax"
		}
		if d.bn != nil {
			ls[i].BatchNorm = &BatchNorm{Gamma: d.bn.gamma, Beta: d.bn.beta, MovingMean: d.bn.movingMean, MovingVariance: d.bn.movingVar, Epsilon: bnEpsilon}
		}
	}
	return ls
}
