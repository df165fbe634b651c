// Package engine trains Keras-faithful multilayer perceptrons in float32:
// Dense layers with bias, one hidden activation, softmax output with
// categorical cross-entropy, kernel and activity regularizers, dropout and
// the Keras optimizers, with fit's batching and bookkeeping (see
// shared/keras-semantics.md). All numeric work goes through package kernels.
//
// Dimensions used in shape comments throughout the package:
//
//	B    training batch rows (cfg.Batch; the last batch of an epoch may be shorter)
//	E    evaluation chunk rows (a multiple of B near evalRows)
//	In   input features
//	H_l  width of hidden layer l (cfg.Hidden[l-1]), l = 1 … L−1
//	Out  classes (output width)
//	L    Dense layers = len(cfg.Hidden) + 1; layer l maps d_{l−1} → d_l with
//	     d_0 = In, d_l = H_l, d_L = Out
//	P    parameters = Σ_l (d_{l−1}·d_l + d_l), plus 2·Σ_l H_l with batch norm (γ_l, β_l)
//
// The network, in forward order, for l = 1 … L−1 (hidden layers):
//
//	y_l = act(a_{l−1}·W_l + b_l)        Dense + activation        [B×H_l]
//	    or act(BN_l(a_{l−1}·W_l + b_l)) with cfg.BatchNorm (batchnorm.go)
//	    + activity regularizer on y_l (loss term only)
//	a_l = y_l ⊙ mask_l                  inverted dropout          [B×H_l]
//	    + a_{l−1} with cfg.Residual, when l ≥ 2 and H_l = H_{l−1} (residual.go)
//
// with a_0 = x [B×In], then z = a_{L−1}·W_L + b_L [B×Out] and the loss
// mean_rows(xent(softmax(z), t)) + kernel and activity penalties.
//
// Randomness comes from cfg.Seed alone, through separate PCG streams for
// the initial weights, the epoch shuffles and the dropout masks: the same
// seed, kernels backend and thread count give bit-identical results.
//
// SGD's decay is the legacy tf.keras inverse-time decay lr/(1 + decay·t),
// t counted in optimizer steps; Keras 3 silently ignores decay=, but this is
// what a notebook passing it meant.
package engine

import (
	"fmt"
	"math/rand/v2"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// evalRows is the target size of an evaluation chunk; large chunks keep the
// GEMMs efficient at inference.
const evalRows = 1024

// Model is an MLP with its parameters, optimizer state and all the
// workspaces training and evaluation need, allocated once in New. A Model is
// used by one goroutine at a time.
type Model struct {
	cfg     Config
	in, out int
	kc      *kernels.Context

	layers       []dense     // [L], input to output
	params       []float32   // [P] layer by layer: W_l, b_l, then γ_l, β_l with batch norm
	grads        []float32   // [P] same layout as params
	moving       []float32   // [2·Σ_l H_l] batch norm moving mean then variance, layer by layer (not parameters); nil without
	opt          *optimizer  // state slots of [P] each
	diag         Diagnostics // Diagnose's result buffers, reused (diagnose.go)
	diagX, diagT []float32   // [B×In], [B×Out] Fit's diagnostic batch (SetDiagnosticBatch); nil: none

	train workspace // B rows, with gradient buffers and dropout masks
	eval  workspace // E rows, inference only

	shuffleRNG *rand.Rand // permutes the training rows each epoch
	dropoutRNG *rand.Rand // draws the dropout masks
	shuffleSrc *rand.PCG  // the two generators' states (checkpoint.go)
	dropoutSrc *rand.PCG
	order      []int // [n] this epoch's row order (grown by Fit)
	epoch      int   // epochs the current Fit has completed
	resume     bool  // set by LoadCheckpoint: the next Fit continues after epoch with order
}

// New builds a model for inputs features and outputs classes with cfg
// (normalized first, see Config.Normalize) and initializes its weights from
// cfg.Seed. kc runs the kernels; nil means kernels.NewContext(1).
func New(cfg Config, inputs, outputs int, kc *kernels.Context) (*Model, error) {
	cfg, err := cfg.Normalize()
	if err != nil {
		return nil, err
	}
	if inputs < 1 || outputs < 2 {
		return nil, fmt.Errorf("engine: %d inputs and %d outputs (want ≥ 1 input and ≥ 2 classes)", inputs, outputs)
	}
	if kc == nil {
		kc = kernels.NewContext(1)
	}
	m := &Model{cfg: cfg, in: inputs, out: outputs, kc: kc}

	widths := append(append([]int{inputs}, cfg.Hidden...), outputs) // [L+1] d_0 … d_L
	p, moving := 0, 0
	for l := 1; l < len(widths); l++ {
		p += widths[l-1]*widths[l] + widths[l]
		if cfg.BatchNorm && l < len(widths)-1 {
			p += 2 * widths[l]
			moving += 2 * widths[l]
		}
	}
	m.params = make([]float32, p)
	m.grads = make([]float32, p)
	if moving > 0 {
		m.moving = make([]float32, moving)
	}
	hidden := activationOf[cfg.Activation]
	off, offMoving := 0, 0
	take := func(n int) (param, grad []float32) {
		param, grad = m.params[off:off+n], m.grads[off:off+n]
		off += n
		return param, grad
	}
	for l := 1; l < len(widths); l++ {
		d := dense{in: widths[l-1], out: widths[l], act: hidden, hidden: true}
		if l == len(widths)-1 {
			d.act, d.hidden = kernels.Linear, false // logits; softmax is fused into the loss
		}
		d.w, d.dw = take(d.in * d.out)
		d.b, d.db = take(d.out)
		if d.hidden && cfg.BatchNorm {
			bn := &batchNorm{}
			bn.gamma, bn.dgamma = take(d.out)
			bn.beta, bn.dbeta = take(d.out)
			bn.movingMean = m.moving[offMoving : offMoving+d.out]
			bn.movingVar = m.moving[offMoving+d.out : offMoving+2*d.out]
			offMoving += 2 * d.out
			for j := range bn.gamma {
				bn.gamma[j], bn.movingVar[j] = 1, 1
			}
			d.bn = bn
		}
		d.residual = d.hidden && cfg.Residual && skipFits(cfg.Hidden, l)
		m.layers = append(m.layers, d)
	}

	initRNG := newStream(cfg.Seed, streamInit)
	for i := range m.layers {
		init := cfg.Init
		if !m.layers[i].hidden {
			init = "glorot_uniform" // Keras Dense default for the output layer
		}
		initKernel(init, m.layers[i].w, m.layers[i].in, m.layers[i].out, initRNG)
	}
	m.shuffleSrc, m.dropoutSrc = newSource(cfg.Seed, streamShuffle), newSource(cfg.Seed, streamDropout)
	m.shuffleRNG, m.dropoutRNG = rand.New(m.shuffleSrc), rand.New(m.dropoutSrc)

	m.opt = newOptimizer(cfg, p)
	m.train = newWorkspace(m, cfg.Batch, true)
	m.eval = newWorkspace(m, evalChunk(cfg.Batch), false)
	m.diag = newDiagnostics(len(m.layers))
	return m, nil
}

// evalChunk is E: the largest multiple of the batch size B not above
// evalRows (B itself when B > evalRows), so that evaluation sees the same
// batches as Keras's validation pass for the activity-penalty bookkeeping.
func evalChunk(batch int) int {
	if batch >= evalRows {
		return batch
	}
	return evalRows / batch * batch
}

// Config returns the normalized configuration the model was built with.
func (m *Model) Config() Config {
	c := m.cfg
	c.Hidden = append([]int(nil), c.Hidden...)
	return c
}

// Params returns P, the number of trainable parameters (batch norm's γ and
// β included, its moving statistics not).
func (m *Model) Params() int { return len(m.params) }

// Inputs returns In, the number of input features.
func (m *Model) Inputs() int { return m.in }

// Outputs returns Out, the number of classes.
func (m *Model) Outputs() int { return m.out }

// FlopsPerSample returns the GEMM floating-point operations one training
// sample costs: the forward x·W (2·d_{l−1}·d_l per layer), the weight
// gradient aᵀ·dz (the same) and the input gradient dz·Wᵀ (the same, for
// every layer but the first). Elementwise work is not counted.
func (m *Model) FlopsPerSample() float64 {
	var f float64
	for l, d := range m.layers {
		mac := float64(d.in) * float64(d.out)
		f += 2 * mac * 2 // forward and weight gradient
		if l > 0 {
			f += 2 * mac // input gradient
		}
	}
	return f
}
