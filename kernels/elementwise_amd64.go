//go:build amd64 && !purego

package kernels

func init() {
	vectorKernelsByISA[AVX2] = &vectorKernels{
		exp:         expAVX2,
		forward:     [...]func([]float32){ReLU: reluAVX2, Tanh: tanhAVX2, Sigmoid: sigmoidAVX2, ELU: eluAVX2, SELU: seluAVX2},
		backward:    [...]func(y, dy, dx []float32){ReLU: reluBackwardAVX2, Tanh: tanhBackwardAVX2, Sigmoid: sigmoidBackwardAVX2, ELU: eluBackwardAVX2, SELU: seluBackwardAVX2},
		addBias:     addBiasAVX2,
		sumRows:     sumRowsAVX2,
		softmaxRow:  softmaxRowAVX2,
		sgd:         sgdAVX2,
		sgdMomentum: sgdMomentumAVX2,
		sgdNesterov: sgdNesterovAVX2,
		adam:        adamAVX2,
		rmsprop:     rmspropAVX2,
		adagrad:     adagradAVX2,
		adadelta:    adadeltaAVX2,
		absSqSum:    absSqSumAVX2,
		addL1L2Grad: addL1L2GradAVX2,
		mul:         mulAVX2,
	}
	vectorKernelsByISA[AVX512] = &vectorKernels{
		exp:         expAVX512,
		forward:     [...]func([]float32){ReLU: reluAVX512, Tanh: tanhAVX512, Sigmoid: sigmoidAVX512, ELU: eluAVX512, SELU: seluAVX512},
		backward:    [...]func(y, dy, dx []float32){ReLU: reluBackwardAVX512, Tanh: tanhBackwardAVX512, Sigmoid: sigmoidBackwardAVX512, ELU: eluBackwardAVX512, SELU: seluBackwardAVX512},
		addBias:     addBiasAVX512,
		sumRows:     sumRowsAVX512,
		softmaxRow:  softmaxRowAVX512,
		sgd:         sgdAVX512,
		sgdMomentum: sgdMomentumAVX512,
		sgdNesterov: sgdNesterovAVX512,
		adam:        adamAVX512,
		rmsprop:     rmspropAVX512,
		adagrad:     adagradAVX512,
		adadelta:    adadeltaAVX512,
		absSqSum:    absSqSumAVX512,
		addL1L2Grad: addL1L2GradAVX512,
		mul:         mulAVX512,
	}
}
