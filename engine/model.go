// Package engine trains Keras-faithful multilayer perceptrons in float32:
// Dense layers with bias, one hidden activation, softmax output with
// categorical cross-entropy, kernel and activity regularizers, dropout and
// the Keras optimizers, with fit's batching and bookkeeping (see
// docs/keras-semantics.md). All numeric work goes through package kernels.
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
//	M    members of a Group (group.go)
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
// Randomness comes from separate PCG streams for the initial weights, the
// dropout masks (both from cfg.Seed) and the epoch shuffles, from the
// shuffle seed: cfg.Seed unless Model.SetShuffleSeed or NewGroup gives
// another. The same seeds, kernels backend, ISA path and thread count give
// bit-identical results.
//
// Models that share the training rows, the batch size, the epoch count and
// the shuffle seed see the same batches, and a Group trains them fused
// (group.go): the first layer of all members is one product, and each
// member's results are bit for bit those it gets trained alone. Model.Fit
// is a group of one, so there is one training step.
//
// SGD's decay is the legacy tf.keras inverse-time decay lr/(1 + decay·t),
// t counted in optimizer steps; Keras 3 silently ignores decay=, but this is
// what a notebook passing it meant.
package engine

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// evalRows is the target size of an evaluation chunk; large chunks keep the
// GEMMs efficient at inference.
const evalRows = 1024

// Model is an MLP with its parameters, optimizer state and all the
// workspaces training and evaluation need, allocated once in New (and
// reused by Reset). A Model is used by one goroutine at a time.
type Model struct {
	cfg     Config
	in, out int
	kc      *kernels.Context

	layers []dense     // [L], input to output
	params []float32   // [P] layer by layer: W_l, b_l, then γ_l, β_l with batch norm
	grads  []float32   // [P] same layout as params
	moving []float32   // [2·Σ_l H_l] batch norm moving mean then variance, layer by layer (not parameters); empty without
	opt    *optimizer  // state slots of [P] each
	diag   Diagnostics // Diagnose's result buffers, reused (diagnose.go)

	// Fit's diagnostic batch of b rows (SetDiagnosticBatch), none while
	// diagRows is empty; the buffers are kept for the next one.
	diagX    []float32 // [b×In] its inputs as floats, or empty
	diagPx   []uint8   // [b×In] its inputs as pixels, or empty
	diagRows []int     // [b] 0 … b−1, the rows Diagnose reads
	diagT    []float32 // [b×Out] its one-hot targets

	train workspace // B rows, with gradient buffers and dropout masks
	eval  workspace // E rows, inference only

	initRNG    pcgStream // draws the initial weights
	shuffleRNG pcgStream // permutes the training rows each epoch (Fit)
	dropoutRNG pcgStream // draws the dropout masks

	solo  *Group // the group of this model alone: Fit, TrainBatch and Diagnose run through it
	fitBy *Group // the group whose Fit last trained the model (SaveCheckpoint needs solo)

	// Storage kept for Reset to reuse.
	widths      []int       // [L+1] d_0 … d_L
	bnStore     []batchNorm // [L−1] the layers' batch norms (dense.bn points here)
	spareHidden []int       // the next cfg.Hidden's storage
}

// New builds a model for inputs features and outputs classes with cfg
// (normalized first, see Config.Normalize) and initializes its weights from
// cfg.Seed. kc runs the kernels; nil means kernels.NewContext(1).
func New(cfg Config, inputs, outputs int, kc *kernels.Context) (*Model, error) {
	n, err := cfg.normalizeInto(nil) // a copy of Hidden the model owns
	if err != nil {
		return nil, err
	}
	return newModel(n, inputs, outputs, kc)
}

// NewNormalized is New for a configuration normalized already, which it
// trusts.
func NewNormalized(cfg Normalized, inputs, outputs int, kc *kernels.Context) (*Model, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	c := cfg.cfg
	c.Hidden = append([]int{}, c.Hidden...) // the model's own copy
	return newModel(c, inputs, outputs, kc)
}

// newModel is New for cfg normalized, its Hidden the model's own.
func newModel(cfg Config, inputs, outputs int, kc *kernels.Context) (*Model, error) {
	m := &Model{}
	if err := m.reset(cfg, inputs, outputs); err != nil {
		return nil, err
	}
	if kc == nil {
		kc = kernels.NewContext(1)
	}
	m.kc = kc
	m.solo = &Group{}
	m.solo.reset([]*Model{m}, &m.shuffleRNG)
	return m, nil
}

// Reset rebuilds m for cfg, with the same inputs, outputs and kernels
// Context, exactly as New would (fresh weights from cfg.Seed, fresh
// optimizer, shuffle stream from cfg.Seed, no diagnostic batch), reusing
// m's buffers: a reset to a configuration of the same or a smaller shape
// (parameters, widths, batch size) allocates nothing, so that a worker
// training unit after unit does not pay for fresh memory and its page
// faults each time. On error m is unchanged.
func (m *Model) Reset(cfg Config) error {
	n, err := cfg.normalizeInto(m.spareHidden) // Hidden copied into m's spare storage
	if err != nil {
		return err
	}
	return m.resetTo(n)
}

// ResetNormalized is Reset for a configuration normalized already, which
// it trusts; it allocates nothing either.
func (m *Model) ResetNormalized(cfg Normalized) error {
	if err := cfg.check(); err != nil {
		return err
	}
	c := cfg.cfg
	c.Hidden = append(m.spareHidden[:0], c.Hidden...) // m's own copy: cfg's is never written
	return m.resetTo(c)
}

// resetTo is Reset for cfg normalized, its Hidden in m.spareHidden.
func (m *Model) resetTo(cfg Config) error {
	if err := m.reset(cfg, m.in, m.out); err != nil {
		return err
	}
	m.solo.epoch, m.solo.resume, m.fitBy = 0, false, nil
	return nil
}

// SetContext makes m run its kernels on kc from now on: a model trained
// in pieces (Group.FitTo) by whichever worker is free takes that worker's
// Context. The numbers do not change with the Context, only the threads.
func (m *Model) SetContext(kc *kernels.Context) {
	m.kc = kc
	m.solo.kc = kc
}

// reset is New and Reset without the Context and the solo group: cfg is
// normalized, and its Hidden is storage m owns (fresh, or m.spareHidden).
func (m *Model) reset(cfg Config, inputs, outputs int) error {
	if inputs < 1 || outputs < 2 {
		return fmt.Errorf("engine: %d inputs and %d outputs (want ≥ 1 input and ≥ 2 classes)", inputs, outputs)
	}
	if err := checkMemory(inputs, cfg.Hidden, outputs, cfg.Batch); err != nil {
		return err
	}
	m.spareHidden = m.cfg.Hidden // the previous config's copy becomes the next one's storage
	m.cfg, m.in, m.out = cfg, inputs, outputs

	m.widths = append(append(append(m.widths[:0], inputs), cfg.Hidden...), outputs)
	widths := m.widths
	p, moving := 0, 0
	for l := 1; l < len(widths); l++ {
		p += widths[l-1]*widths[l] + widths[l]
		if cfg.BatchNorm && l < len(widths)-1 {
			p += 2 * widths[l]
			moving += 2 * widths[l]
		}
	}
	m.params = resize(m.params, p)
	m.grads = resize(m.grads, p)
	m.moving = resize(m.moving, moving)
	m.bnStore = resize(m.bnStore, len(cfg.Hidden))
	hidden := activationOf[cfg.Activation]
	off, offMoving := 0, 0
	take := func(n int) (param, grad []float32) {
		param, grad = m.params[off:off+n], m.grads[off:off+n]
		off += n
		return param, grad
	}
	m.layers = m.layers[:0]
	for l := 1; l < len(widths); l++ {
		d := dense{in: widths[l-1], out: widths[l], act: hidden, hidden: true}
		if l == len(widths)-1 {
			d.act, d.hidden = kernels.Linear, false // logits; softmax is fused into the loss
		}
		d.w, d.dw = take(d.in * d.out)
		d.b, d.db = take(d.out)
		if d.hidden && cfg.BatchNorm {
			bn := &m.bnStore[l-1]
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

	m.initRNG.seed(cfg.Seed, streamInit)
	for i := range m.layers {
		init := cfg.Init
		if !m.layers[i].hidden {
			init = "glorot_uniform" // Keras Dense default for the output layer
		}
		initKernel(init, m.layers[i].w, m.layers[i].in, m.layers[i].out, m.initRNG.rng)
	}
	m.shuffleRNG.seed(cfg.Seed, streamShuffle)
	m.dropoutRNG.seed(cfg.Seed, streamDropout)

	if m.opt == nil {
		m.opt = &optimizer{}
	}
	m.opt.reset(cfg, p)
	m.train.plan(cfg.Batch, true)
	m.eval.plan(evalChunk(cfg.Batch), false)
	m.diag.GradNorm = resize(m.diag.GradNorm, len(m.layers))
	m.diag.Hidden = resize(m.diag.Hidden, len(m.layers)-1)
	m.diagRows = m.diagRows[:0] // no diagnostic batch
	return nil
}

// SetShuffleSeed restarts the stream that orders the training rows of
// Fit's epochs from seed, instead of cfg.Seed. Models trained with the
// same shuffle seed on the same rows see the same batches, which is what
// lets them train fused (NewGroup takes the shuffle seed for all its
// members); the initial weights and dropout masks still come from cfg.Seed.
func (m *Model) SetShuffleSeed(seed int64) {
	m.shuffleRNG.seed(seed, streamShuffle)
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

// ResumeRows returns the number of training rows of the checkpoint the
// next Fit resumes (LoadCheckpoint), or 0 when it starts afresh: a caller
// can check its data against it before training.
func (m *Model) ResumeRows() int {
	if !m.solo.resume {
		return 0
	}
	return len(m.solo.order)
}

// Normalized is the model's configuration as a Normalized, which it is.
func (m *Model) Normalized() Normalized { return Normalized{cfg: m.Config(), ok: true} }

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
