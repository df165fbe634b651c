package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// Group trains models in lockstep on the same batches: horizontally fused
// training (HFTA, Wang et al., MLSys 2021). Members share the input and
// output widths, the batch size, the epoch count and the batch order (the
// group's shuffle seed); everything else may differ per member: optimizer,
// learning rate, decay, activation, initializer, regularizers, dropout,
// hidden widths, batch norm, skip connections, seeds.
//
// The first layer of all members is one product: forward
//
//	[y_1^a | y_1^b | …] = x · [W_1^a | W_1^b | …]      [B×Σ H_1]
//
// and weight gradient
//
//	[dW_1^a | dW_1^b | …] = xᵀ · [dz_1^a | dz_1^b | …]   [In×Σ H_1]
//
// through kernels.SgemmBlocks, which reads the batch rows of x in place
// (by index, never copied) and packs them once for all members, while each
// member keeps its own buffers. Every output column's sum runs in the same
// order whatever the product's width, so each member's results (losses,
// weights, evaluations) are bit for bit those of the same model trained
// alone with Fit after SetShuffleSeed(shuffle seed), with the same kernels
// backend, ISA path and thread count. The deeper layers, the loss, the
// regularizers, dropout and the optimizer run per member.
//
// A member whose batch loss is NaN or infinite leaves the group (Fit); the
// others go on. The fused products run on the first member's kernels
// Context, each member's other work on its own. A Group and its members are
// used by one goroutine at a time.
type Group struct {
	members    []*Model
	all        []int                 // [M] 0 … M−1
	live       []int                 // [≤M] the members Fit still trains, ascending
	kc         *kernels.Context      // runs the fused products: the first member's
	shuffle    *pcgStream            // the batch order: own, or a model's own stream for its solo group
	own        pcgStream             // the stream of a group built by NewGroup
	order      []int                 // [n] this epoch's row order
	epoch      int                   // epochs the current Fit has completed (checkpoints)
	resume     bool                  // the next Fit continues after epoch with order (LoadCheckpoint, solo groups)
	t          []float32             // [B×Out] the batch's gathered one-hot targets
	classes    []int32               // [N] each training row's class, when every row of its Y is one-hot (oneHotClasses), else empty
	fwd, bwd   []kernels.ColumnBlock // [≤M] the fused products' blocks, one per member stepped
	loss       []float32             // [M] each member's last batch loss
	correct    []int                 // [M] each member's last correct rows
	lossSum    []float64             // [M] Fit: Σ rows·batch loss over the epoch
	correctSum []int                 // [M] Fit: correct rows over the epoch
	part       partClock             // Fit's calls within an epoch (SetProgress)

	evalSum                []evalSums // [M] Evaluate's running sums
	evalLoss, evalAccuracy []float64  // [M] Evaluate's results
}

// evalSums are one member's running sums over an evaluation's chunks.
type evalSums struct {
	xent, activity float64 // Σ cross-entropy; Σ (batch rows)·(batch activity penalty)
	correct        int
}

// NewGroup makes a group of models that will train on the batches of the
// shuffle stream seeded by shuffleSeed (see Model.SetShuffleSeed). The
// models must be distinct and share Inputs, Outputs, Batch and Epochs; the
// group keeps the slice's models, not the slice.
func NewGroup(models []*Model, shuffleSeed int64) (*Group, error) {
	g := &Group{}
	if err := g.Reset(models, shuffleSeed); err != nil {
		return nil, err
	}
	return g, nil
}

// Reset makes g the group NewGroup(models, shuffleSeed) would make, reusing
// its buffers (no allocation when it had as many members or more). Reset
// members (Model.Reset) before resetting their group. On error g is
// unchanged.
func (g *Group) Reset(models []*Model, shuffleSeed int64) error {
	if err := checkMembers(models); err != nil {
		return err
	}
	g.own.seed(shuffleSeed, streamShuffle)
	g.reset(models, &g.own)
	return nil
}

// reset sets g's members (checked by the caller) and batch order stream.
func (g *Group) reset(models []*Model, shuffle *pcgStream) {
	n := len(models)
	g.members = append(g.members[:0], models...)
	g.all = g.all[:0]
	for i := range n {
		g.all = append(g.all, i)
	}
	g.live = resize(g.live, n)[:0]
	g.kc = models[0].kc
	g.shuffle = shuffle
	g.epoch, g.resume = 0, false
	g.fwd, g.bwd = resize(g.fwd, n)[:0], resize(g.bwd, n)[:0]
	g.loss, g.correct = resize(g.loss, n), resize(g.correct, n)
	g.lossSum, g.correctSum = resize(g.lossSum, n), resize(g.correctSum, n)
	g.evalSum = resize(g.evalSum, n)
	g.evalLoss, g.evalAccuracy = resize(g.evalLoss, n), resize(g.evalAccuracy, n)
}

// checkMembers reports whether models can train as a group.
func checkMembers(models []*Model) error {
	if len(models) == 0 {
		return fmt.Errorf("engine: a group needs at least one model")
	}
	for i, m := range models {
		if m == nil {
			return fmt.Errorf("engine: group member %d is nil", i)
		}
		for j := range i {
			if models[j] == m {
				return fmt.Errorf("engine: group members %d and %d are the same model", j, i)
			}
		}
		m0 := models[0]
		if m.in != m0.in || m.out != m0.out || m.cfg.Batch != m0.cfg.Batch || m.cfg.Epochs != m0.cfg.Epochs {
			return fmt.Errorf("engine: group member %d has %d inputs, %d outputs, batch %d, %d epochs; member 0 has %d, %d, %d, %d",
				i, m.in, m.out, m.cfg.Batch, m.cfg.Epochs, m0.in, m0.out, m0.cfg.Batch, m0.cfg.Epochs)
		}
	}
	return nil
}

// Len returns the number of members.
func (g *Group) Len() int { return len(g.members) }

// Fit trains every member for the shared number of epochs on train, as
// Model.Fit trains one model: every epoch reshuffles the training rows
// (from the group's shuffle stream) and runs ceil(n/B) steps, each a step
// of every member still training on the same batch. After each epoch it
// evaluates val (if non-nil) with each member still training and calls
// onEpoch (if non-nil) with the member's index and figures; Seconds and
// SamplesPerSecond are the whole group's.
//
// It returns one History per member, in order. A member whose batch loss
// is NaN or infinite stops there (its History has the completed epochs,
// Diverged set and where); the others go on. Invalid data or an invalid
// group (members reset to different batch sizes or epochs) is an error;
// cancelling ctx (checked before every step) returns ctx.Err() with the
// completed epochs. Calling Fit again continues training every member from
// its current weights and optimizer state.
func (g *Group) Fit(ctx context.Context, train Data, val *Data, onEpoch func(member int, s EpochStats)) ([]History, error) {
	return g.fitTo(ctx, train, val, 0, onEpoch)
}

// FitTo is Fit that stops after epoch last (1 ≤ last ≤ Epochs): the next
// Fit or FitTo continues with epoch last+1, in the same batch order, so
// that training in pieces gives the numbers of one Fit bit for bit. A
// pruner stops a study's members at a rung this way and continues those
// it promotes. The histories hold this call's epochs.
func (g *Group) FitTo(ctx context.Context, train Data, val *Data, last int, onEpoch func(member int, s EpochStats)) ([]History, error) {
	if len(g.members) > 0 && (last < 1 || last > g.members[0].cfg.Epochs) {
		return make([]History, len(g.members)), fmt.Errorf("engine: FitTo epoch %d of %d", last, g.members[0].cfg.Epochs)
	}
	return g.fitTo(ctx, train, val, last, onEpoch)
}

// Seek positions a group fresh from NewGroup or Reset after epoch epochs
// of a Fit on train: the next Fit or FitTo continues with epoch epochs+1
// in the batch order one Fit would have used. Its members must be the
// models as they were after that epoch (trained alone or in any group of
// the same shuffle seed, and continued with SetContext where another
// worker takes them on): regrouping the members of several groups at a
// rung keeps their numbers. Seek draws the epochs' row orders again (a
// shuffle of the training rows each); it allocates nothing once the group
// has held as many rows.
func (g *Group) Seek(train Data, epochs int) error {
	if err := checkMembers(g.members); err != nil {
		return err
	}
	m0 := g.members[0]
	n, err := train.Size(m0.in, m0.out)
	if err != nil {
		return fmt.Errorf("training data: %w", err)
	}
	if epochs < 0 || epochs > m0.cfg.Epochs || g.epoch != 0 || g.resume {
		return fmt.Errorf("engine: Seek to epoch %d of %d on a group that trained %d", epochs, m0.cfg.Epochs, g.epoch)
	}
	if epochs == 0 {
		return nil
	}
	g.order = g.order[:0]
	for i := range n {
		g.order = append(g.order, train.Row(i))
	}
	for range epochs {
		shuffle(g.shuffle.rng, g.order)
	}
	g.epoch, g.resume = epochs, true
	return nil
}

// fitTo is Fit (last 0: every epoch) and FitTo.
func (g *Group) fitTo(ctx context.Context, train Data, val *Data, last int, onEpoch func(member int, s EpochStats)) ([]History, error) {
	hists := make([]History, len(g.members))
	if err := checkMembers(g.members); err != nil {
		return hists, err
	}
	m0 := g.members[0]
	if last == 0 {
		last = m0.cfg.Epochs
	}
	in, out := m0.in, m0.out
	n, err := train.Size(in, out)
	if err != nil {
		return hists, fmt.Errorf("training data: %w", err)
	}
	if val != nil {
		if _, err := val.Size(in, out); err != nil {
			return hists, fmt.Errorf("validation data: %w", err)
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	batch := m0.cfg.Batch
	if cap(g.t) < batch*out {
		g.t = make([]float32, batch*out)
	}
	g.classes = oneHotClasses(train.Y, out, g.classes)
	for _, m := range g.members {
		m.train.sizeFor(min(batch, n))
	}
	first := 1
	if g.resume {
		if err := checkOrder(g.order, train, n); err != nil {
			return hists, err
		}
		g.resume = false
		first = g.epoch + 1
	} else {
		g.order = g.order[:0]
		for i := range n {
			g.order = append(g.order, train.Row(i))
		}
	}
	g.epoch = first - 1
	for _, m := range g.members {
		m.fitBy = g
	}
	g.live = append(g.live[:0], g.all...)
	steps := (n + batch - 1) / batch
	defer func() {
		// Stopped before the last epoch: the next Fit continues from here.
		g.resume = g.epoch >= first && g.epoch < m0.cfg.Epochs && g.epoch == last
	}()
	for epoch := first; epoch <= last; epoch++ {
		shuffle(g.shuffle.rng, g.order)
		start := time.Now()
		g.part.begin(epoch, steps, start)
		clear(g.lossSum)
		clear(g.correctSum)
		for s := range steps {
			if err := ctx.Err(); err != nil {
				return hists, err
			}
			rows := g.order[s*batch : min((s+1)*batch, n)]
			b := len(rows)
			t := g.t[:b*out]
			g.targets(train.Y, out, rows, t)
			g.step(g.live, train.input(), rows, t, b)
			live := g.live[:0] // filtered in place: the members that did not diverge
			for _, i := range g.live {
				loss := float64(g.loss[i])
				if math.IsNaN(loss) || math.IsInf(loss, 0) {
					hists[i].Diverged = true
					hists[i].Divergence = fmt.Sprintf("diverged at epoch %d, step %d", epoch, s+1)
					continue
				}
				g.lossSum[i] += float64(b) * loss
				g.correctSum[i] += g.correct[i]
				live = append(live, i)
			}
			g.live = live
			if len(live) == 0 {
				return hists, nil
			}
			if s+1 == g.part.next { // the clock is read every few steps only
				g.part.tick()
			}
		}
		seconds := time.Since(start).Seconds()
		if val != nil {
			g.evaluate(g.live, *val)
		}
		g.epoch = epoch
		for _, i := range g.live {
			m := g.members[i]
			stats := EpochStats{
				Epoch: epoch, Loss: g.lossSum[i] / float64(n), Accuracy: float64(g.correctSum[i]) / float64(n),
				ValLoss: math.NaN(), ValAccuracy: math.NaN(),
				Seconds: seconds, SamplesPerSecond: float64(n) / seconds,
			}
			if val != nil {
				stats.ValLoss, stats.ValAccuracy = g.evalLoss[i], g.evalAccuracy[i]
			}
			stats.Diagnostics = m.diagnoseEpoch()
			hists[i].Epochs = append(hists[i].Epochs, stats)
			if onEpoch != nil {
				onEpoch(i, stats)
			}
		}
	}
	return hists, nil
}

// ErrResumeMismatch is returned (wrapped) by a Fit resuming a checkpoint
// on other training rows than the checkpointed run's.
var ErrResumeMismatch = errors.New("the checkpoint is of a run on other training rows")

// checkOrder reports whether a checkpoint's row order is a permutation of
// the rows train uses (n of them), so that a resumed Fit sees the same data.
func checkOrder(order []int, train Data, n int) error {
	if len(order) != n {
		return fmt.Errorf("resuming: %w: it trained on %d rows, this data has %d", ErrResumeMismatch, len(order), n)
	}
	want := make([]int, n)
	for i := range want {
		want[i] = train.Row(i)
	}
	got := slices.Clone(order)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("resuming: %w: its training rows differ from this data's", ErrResumeMismatch)
	}
	return nil
}

// Evaluate returns each member's loss and accuracy on d in inference mode
// (no dropout), as Keras's validation pass reports them with batches of B
// rows: mean cross-entropy plus the kernel penalty plus the activity
// penalties, each batch's weighted by its rows. It runs in chunks of E rows
// on preallocated buffers, the first layer's product fused for all members
// as in training (so each member's figures are bit for bit those of its
// Evaluate alone), and allocates nothing. The slices are the group's,
// overwritten by the next call. Invalid data (see Model.CheckData) or an
// invalid group (see NewGroup) gives NaN, NaN for every member.
func (g *Group) Evaluate(d Data) (loss, accuracy []float64) {
	g.evaluate(g.all, d)
	return g.evalLoss, g.evalAccuracy
}

// evaluate is Evaluate for the members live (indices, ascending), leaving
// their results in g.evalLoss and g.evalAccuracy.
func (g *Group) evaluate(live []int, d Data) {
	m0 := g.members[0]
	in, out := m0.in, m0.out
	n, err := d.Size(in, out)
	if err == nil {
		err = checkMembers(g.members)
	}
	if err != nil {
		for _, i := range live {
			g.evalLoss[i], g.evalAccuracy[i] = math.NaN(), math.NaN()
		}
		return
	}
	for _, i := range live {
		g.evalSum[i] = evalSums{}
		m := g.members[i]
		m.eval.sizeFor(min(evalChunk(m.cfg.Batch), n))
		m.use(&m.eval)
	}
	chunk := m0.use(&m0.eval).rows // E, the same for all members: it depends on B alone; m0's targets buffer serves all
	for start := 0; start < n; start += chunk {
		e := min(chunk, n-start)
		x, idx, t := chunkOf(d, in, out, start, e, m0.eval.t, m0.eval.iota)
		g.fwd = g.fwd[:0]
		for _, i := range live {
			m := g.members[i]
			g.fwd = append(g.fwd, m.firstForward(&m.eval))
		}
		firstProduct(g.kc, false, e, in, in, x, idx, g.fwd, true)
		for _, i := range live {
			m, sums := g.members[i], &g.evalSum[i]
			ws := &m.eval
			m.forwardAbove(ws, e, false)
			sum, c := m.xentForward(ws.y[len(m.layers)-1], t, e, nil)
			sums.xent += float64(sum)
			sums.correct += c
			sums.activity += m.activityTerms(ws, e)
		}
	}
	for _, i := range live {
		sums := &g.evalSum[i]
		g.evalLoss[i] = (sums.xent+sums.activity)/float64(n) + float64(g.members[i].kernelRegForward())
		g.evalAccuracy[i] = float64(sums.correct) / float64(n)
	}
}

// TrainBatch runs one training step of every member on the batch whose
// rows are rows (indices into d's inputs, X or Pixels [N×In],
// 1 ≤ len(rows) ≤ B), read in place, with one-hot targets t
// [len(rows)×Out] in the batch's order (d.Y and d.Rows are not read). It
// returns each member's batch loss and correct rows, measured before the
// update, in slices that are the group's and overwritten by the next step.
// Members whose loss is not finite stay in the group (Fit is what drops
// them). Once the group exists, TrainBatch allocates nothing.
func (g *Group) TrainBatch(d Data, rows []int, t []float32) (loss []float32, correct []int, err error) {
	if err := checkMembers(g.members); err != nil {
		return nil, nil, err
	}
	m0 := g.members[0]
	if err := m0.checkBatch("TrainBatch", d, rows, t); err != nil {
		return nil, nil, err
	}
	b := len(rows)
	g.step(g.all, d.input(), rows, t[:b*m0.out], b)
	return g.loss, g.correct, nil
}

// step is one training step of the members live (indices, ascending) on
// rows rows: x [rows×In] itself when idx is nil, else rows idx[r] of
// x [N×In]; t [rows×Out]. Each member's loss and correct rows go to
// g.loss and g.correct.
func (g *Group) step(live []int, x input, idx []int, t []float32, rows int) {
	for _, i := range live {
		m := g.members[i]
		m.train.atLeast(rows, m.cfg.Batch)
		m.use(&m.train)
		m.beginStep(rows)
	}
	g.lossAndGrad(live, x, idx, t, rows)
	for _, i := range live {
		g.members[i].endStep()
	}
}

// lossAndGrad is step without the new dropout masks and the update: the
// forward and backward passes of the members live, leaving each one's loss
// gradient in its grads (see step.go for the phases).
func (g *Group) lossAndGrad(live []int, x input, idx []int, t []float32, rows int) {
	in := g.members[0].in
	g.fwd = g.fwd[:0]
	for _, i := range live {
		m := g.members[i]
		g.fwd = append(g.fwd, m.firstForward(&m.train))
	}
	firstProduct(g.kc, false, rows, in, in, x, idx, g.fwd, true)
	g.bwd = g.bwd[:0]
	for _, i := range live {
		m := g.members[i]
		g.loss[i], g.correct[i] = m.lossAndGradAbove(t, rows)
		g.bwd = append(g.bwd, m.firstBackward(&m.train))
	}
	firstProduct(g.kc, true, in, rows, in, x, idx, g.bwd, false)
	for _, i := range live {
		g.members[i].kernelRegBackward()
	}
}

// targets writes the one-hot targets of rows rows into t [len(rows)×out]:
// from g.classes when Fit found y's rows one-hot (a class a row, where
// copying rows of y reads a line from all over it), else copied from y
// [N×out]. Either way t holds the same bits.
func (g *Group) targets(y []float32, out int, rows []int, t []float32) {
	if len(g.classes) == 0 {
		gatherRows(y, out, rows, t)
		return
	}
	clear(t)
	for k, r := range rows {
		t[k*out+int(g.classes[r])] = 1
	}
}

// oneHotClasses returns, in classes[:0] (grown as needed), the class of
// each row of y [N×out] when every row holds one 1 and +0 elsewhere, bit
// for bit; otherwise an empty slice.
func oneHotClasses(y []float32, out int, classes []int32) []int32 {
	classes = classes[:0]
	for r := 0; r < len(y)/out; r++ {
		c := int32(-1)
		for j, v := range y[r*out : (r+1)*out] {
			switch math.Float32bits(v) {
			case 0:
			case math.Float32bits(1):
				if c >= 0 {
					return classes[:0]
				}
				c = int32(j)
			default:
				return classes[:0]
			}
		}
		if c < 0 {
			return classes[:0]
		}
		classes = append(classes, c)
	}
	return classes
}

// gatherRows copies rows rows[k] of y [N×width] into dst [len(rows)×width].
func gatherRows(y []float32, width int, rows []int, dst []float32) {
	for k, r := range rows {
		copy(dst[k*width:(k+1)*width], y[r*width:(r+1)*width])
	}
}
