package engine

import (
	"fmt"
	"math"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// Keras defaults of the optimizers' constants (keras/src/optimizers).
const (
	adamBeta1           = 0.9
	adamBeta2           = 0.999
	rmspropRho          = 0.9
	adadeltaRho         = 0.95
	adagradInitialAccum = 0.1
	optimizerEpsilon    = 1e-7
)

// optimizer updates the flat parameter buffer from the flat gradient buffer
// in one fused pass per step, in Keras's formulas.
type optimizer struct {
	name     string
	lr       float64 // base learning rate
	decay    float64 // legacy inverse-time decay: lr_t = lr/(1 + decay·t)
	momentum float64
	nesterov bool
	t        int64     // optimizer steps taken so far (never reset per epoch)
	s1, s2   []float32 // [P] state slots (empty when unused): sgd velocity; adam m, v; rmsprop v; adagrad accumulator; adadelta Eg, Edx
}

// reset makes o a fresh optimizer for cfg and P = p parameters (t = 0),
// reusing its state slots' storage when it is large enough.
func (o *optimizer) reset(cfg Config, p int) {
	*o = optimizer{name: cfg.Optimizer, lr: cfg.LR, decay: cfg.Decay, momentum: cfg.Momentum, nesterov: cfg.Nesterov,
		s1: o.s1[:0], s2: o.s2[:0]}
	switch o.name {
	case "sgd":
		if o.momentum != 0 {
			o.s1 = resize(o.s1, p)
		}
	case "adam", "adadelta":
		o.s1, o.s2 = resize(o.s1, p), resize(o.s2, p)
	case "rmsprop":
		o.s1 = resize(o.s1, p)
	case "adagrad":
		o.s1 = resize(o.s1, p)
		for i := range o.s1 {
			o.s1[i] = adagradInitialAccum
		}
	default:
		panic("engine: optimizer " + o.name + " passed Config.Normalize but is not implemented")
	}
}

// update applies one step to w [P] with gradient g [P] and advances t.
func (o *optimizer) update(w, g []float32) {
	lr := o.lr / (1 + o.decay*float64(o.t))
	switch o.name {
	case "sgd":
		if o.momentum == 0 {
			kernels.SGD(w, g, float32(lr))
		} else {
			kernels.SGDMomentum(w, g, o.s1, float32(lr), float32(o.momentum), o.nesterov)
		}
	case "adam":
		t := float64(o.t + 1)
		alpha := lr * math.Sqrt(1-math.Pow(adamBeta2, t)) / (1 - math.Pow(adamBeta1, t))
		kernels.Adam(w, g, o.s1, o.s2, float32(alpha), adamBeta1, adamBeta2, optimizerEpsilon)
	case "rmsprop":
		kernels.RMSprop(w, g, o.s1, float32(lr), rmspropRho, optimizerEpsilon)
	case "adagrad":
		kernels.Adagrad(w, g, o.s1, float32(lr), optimizerEpsilon)
	case "adadelta":
		kernels.Adadelta(w, g, o.s1, o.s2, float32(lr), adadeltaRho, optimizerEpsilon)
	}
	o.t++
}

// checkState refuses a state read from a checkpoint that no training can
// reach: a negative running mean of squares (adam's v, rmsprop's v,
// adagrad's accumulator, adadelta's Eg and Edx), which would make the next
// step divide by the root of a negative number.
func (o *optimizer) checkState() error {
	var squares map[string][]float32
	switch o.name {
	case "adam":
		squares = map[string][]float32{"optimizer.slot2": o.s2}
	case "rmsprop", "adagrad":
		squares = map[string][]float32{"optimizer.slot1": o.s1}
	case "adadelta":
		squares = map[string][]float32{"optimizer.slot1": o.s1, "optimizer.slot2": o.s2}
	}
	for name, s := range squares {
		for i, v := range s {
			if v < 0 {
				return fmt.Errorf("tensor %s holds %v at index %d: %s keeps a mean of squares there, never negative", name, v, i, o.name)
			}
		}
	}
	return nil
}
