package engine

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// blobs returns n rows of a separable problem: in features ~ N(centre_c, 1)
// with out class centres 3 apart, one-hot targets.
func blobs(n, in, out int, seed uint64) Data {
	r := rand.New(rand.NewPCG(seed, 2))
	d := Data{X: make([]float32, n*in), Y: make([]float32, n*out)}
	for i := 0; i < n; i++ {
		c := r.IntN(out)
		d.Y[i*out+c] = 1
		for j := 0; j < in; j++ {
			centre := 0.0
			if j%out == c {
				centre = 3
			}
			d.X[i*in+j] = float32(centre + r.NormFloat64())
		}
	}
	return d
}

func mustNew(t testing.TB, cfg Config, in, out int) *Model {
	t.Helper()
	m, err := New(cfg, in, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// withoutTimes blanks the wall-clock fields so histories compare exactly.
func withoutTimes(h History) History {
	h.Epochs = slices.Clone(h.Epochs)
	for i := range h.Epochs {
		h.Epochs[i].Seconds, h.Epochs[i].SamplesPerSecond = 0, 0
	}
	return h
}

func sameHistory(a, b History) bool {
	a, b = withoutTimes(a), withoutTimes(b)
	if a.Diverged != b.Diverged || a.Divergence != b.Divergence || len(a.Epochs) != len(b.Epochs) {
		return false
	}
	for i := range a.Epochs {
		x, y := a.Epochs[i], b.Epochs[i]
		if x.Epoch != y.Epoch || x.Loss != y.Loss || x.Accuracy != y.Accuracy ||
			math.Float64bits(x.ValLoss) != math.Float64bits(y.ValLoss) || math.Float64bits(x.ValAccuracy) != math.Float64bits(y.ValAccuracy) {
			return false
		}
	}
	return true
}

func TestFitDeterminism(t *testing.T) {
	cfg := Config{Hidden: []int{9, 7}, Activation: "elu", Init: "he_normal", Optimizer: "adam", LR: 0.01, Batch: 8, Epochs: 8,
		Dropout: 0.25, L2: 1e-3, ActivityL1: 1e-4, Seed: 11}
	train, val := blobs(61, 6, 3, 1), blobs(30, 6, 3, 2)
	fit := func(seed int64) (*Model, History) {
		c := cfg
		c.Seed = seed
		m := mustNew(t, c, 6, 3)
		h, err := m.Fit(context.Background(), train, &val, nil)
		if err != nil || h.Diverged {
			t.Fatalf("Fit: %v %+v", err, h)
		}
		return m, h
	}
	m1, h1 := fit(11)
	m2, h2 := fit(11)
	if !slices.Equal(m1.params, m2.params) || !sameHistory(h1, h2) {
		t.Errorf("same seed, different results:\n%+v\n%+v", withoutTimes(h1), withoutTimes(h2))
	}
	m3, h3 := fit(12)
	if slices.Equal(m1.params, m3.params) || sameHistory(h1, h3) {
		t.Error("seeds 11 and 12 gave identical results")
	}
	if last := h1.Epochs[len(h1.Epochs)-1]; len(h1.Epochs) != 8 || last.Accuracy < 0.8 || last.ValAccuracy < 0.8 {
		t.Errorf("blobs not learned: %+v", withoutTimes(h1))
	}

	// Dropout draws from its own stream: the initial weights do not move.
	noDrop := cfg
	noDrop.Dropout = 0
	if !slices.Equal(mustNew(t, cfg, 6, 3).params, mustNew(t, noDrop, 6, 3).params) {
		t.Error("turning dropout off changed the initial weights")
	}
}

// TestEpochBookkeeping replays Fit's steps by hand (same shuffle stream,
// TrainBatch per batch) and checks the step count, the partial last batch
// and the batch-size-weighted epoch means.
func TestEpochBookkeeping(t *testing.T) {
	cfg := Config{Hidden: []int{5}, Optimizer: "sgd", LR: 0.1, Batch: 4, Epochs: 2, ActivityL2: 0.01, ActivityUndivided: true, Seed: 5}
	data := blobs(15, 4, 3, 3)
	data.Rows = []int{14, 0, 3, 5, 6, 7, 9, 10, 12, 2} // n = 10: batches of 4, 4, 2

	fitted := mustNew(t, cfg, 4, 3)
	h, err := fitted.Fit(context.Background(), data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	replay := mustNew(t, cfg, 4, 3)
	order := slices.Clone(data.Rows)
	shuffleRNG := newStream(cfg.Seed, streamShuffle)
	y := make([]float32, 4*3)
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		shuffle(shuffleRNG, order)
		var sizes []int
		var weighted float64
		correct := 0
		for start := 0; start < len(order); start += cfg.Batch {
			rows := order[start:min(start+cfg.Batch, len(order))]
			data.Targets(rows, y, 3)
			loss, c, err := replay.TrainBatch(data, rows, y)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(rows))
			weighted += float64(len(rows)) * float64(loss)
			correct += c
		}
		if !slices.Equal(sizes, []int{4, 4, 2}) {
			t.Fatalf("batch sizes %v", sizes)
		}
		got := h.Epochs[epoch]
		if got.Loss != weighted/10 || got.Accuracy != float64(correct)/10 {
			t.Errorf("epoch %d: loss %.9g accuracy %g, replay %.9g %g", epoch+1, got.Loss, got.Accuracy, weighted/10, float64(correct)/10)
		}
		if !math.IsNaN(got.ValLoss) || !math.IsNaN(got.ValAccuracy) {
			t.Errorf("epoch %d: validation figures %g %g without validation data", epoch+1, got.ValLoss, got.ValAccuracy)
		}
	}
	if fitted.opt.t != 6 {
		t.Errorf("%d optimizer steps, want 2 epochs × ceil(10/4) = 6", fitted.opt.t)
	}
	if !slices.Equal(fitted.params, replay.params) {
		t.Error("replayed weights differ from Fit's")
	}
}

// TestEvaluateMatchesReference compares Evaluate, whose chunks (E = 1022
// rows for B = 7) do not align with the 1100 rows, with the float64
// reference loss summed over Keras's B-row batches, weighted by rows.
func TestEvaluateMatchesReference(t *testing.T) {
	for _, undivided := range []bool{false, true} {
		cfg := Config{Hidden: []int{7}, Activation: "sigmoid", Batch: 7, L1: 0.01, L2: 0.02,
			ActivityL1: 0.01, ActivityL2: 0.03, ActivityUndivided: undivided, Dropout: 0.5, Seed: 2}
		m := newTestModel(t, cfg, 5, 4)
		d := blobs(1200, 5, 4, 4)
		d.Rows = make([]int, 1100)
		for i := range d.Rows {
			d.Rows[i] = 1199 - i
		}
		loss, acc := m.Evaluate(d)

		p := float64s(m.params)
		x, y := make([]float32, 7*5), make([]float32, 7*4)
		var want float64
		for start := 0; start < 1100; start += 7 {
			rows := d.Rows[start:min(start+7, 1100)]
			gatherRows(d.X, 5, rows, x)
			d.Targets(rows, y, 4)
			want += float64(len(rows)) * refLoss(m, p, x, y, len(rows), false, nil)
		}
		want /= 1100
		if math.Abs(loss-want) > 1e-5*want {
			t.Errorf("undivided %v: Evaluate loss %.8g, reference %.8g", undivided, loss, want)
		}
		probs := make([]float32, 1200*4)
		if err := m.Predict(d.X, 1200, probs); err != nil {
			t.Fatal(err)
		}
		correct := 0
		for _, r := range d.Rows {
			if Argmax(probs[r*4:r*4+4]) == Argmax(d.Y[r*4:r*4+4]) {
				correct++
			}
		}
		if acc != float64(correct)/1100 {
			t.Errorf("Evaluate accuracy %g, Predict gives %g", acc, float64(correct)/1100)
		}
	}
}

func TestDivergence(t *testing.T) {
	m := mustNew(t, Config{Hidden: []int{16}, Optimizer: "sgd", LR: 1e4, Batch: 4, Epochs: 50, Seed: 1}, 6, 3)
	h, err := m.Fit(context.Background(), blobs(32, 6, 3, 5), nil, nil)
	if err != nil {
		t.Fatalf("Fit returned an error on divergence: %v", err)
	}
	if !h.Diverged || !strings.HasPrefix(h.Divergence, "diverged at epoch ") || !strings.Contains(h.Divergence, ", step ") {
		t.Fatalf("want a divergence, got %+v", withoutTimes(h))
	}
	t.Log(h.Divergence)
}

func TestFitCancellation(t *testing.T) {
	m := mustNew(t, Config{Hidden: []int{4}, Batch: 4, Epochs: 5}, 6, 3)
	data := blobs(20, 6, 3, 6)
	ctx, cancel := context.WithCancel(context.Background())
	h, err := m.Fit(ctx, data, nil, func(EpochStats) { cancel() })
	if !errors.Is(err, context.Canceled) || len(h.Epochs) != 1 {
		t.Errorf("cancelled after epoch 1: err %v, %d epochs", err, len(h.Epochs))
	}
	if _, err := m.Fit(ctx, data, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit on a cancelled context: %v", err)
	}
}

func TestBadData(t *testing.T) {
	m := mustNew(t, Config{Hidden: []int{4}, Batch: 4, Epochs: 1}, 3, 2)
	good := Data{X: make([]float32, 5*3), Y: make([]float32, 5*2)}
	bad := map[string]Data{
		"empty":         {},
		"ragged X":      {X: make([]float32, 14), Y: good.Y},
		"short Y":       {X: good.X, Y: make([]float32, 8)},
		"row too large": {X: good.X, Y: good.Y, Rows: []int{0, 5}},
		"negative row":  {X: good.X, Y: good.Y, Rows: []int{-1}},
		"empty Rows":    {X: good.X, Y: good.Y, Rows: []int{}},
	}
	for name, d := range bad {
		if _, err := m.Fit(context.Background(), d, nil, nil); err == nil {
			t.Errorf("%s: Fit accepted it", name)
		}
		if _, err := m.Fit(context.Background(), good, &d, nil); err == nil {
			t.Errorf("%s: Fit accepted it as validation data", name)
		}
		if m.CheckData(d) == nil {
			t.Errorf("%s: CheckData accepted it", name)
		}
		if loss, acc := m.Evaluate(d); !math.IsNaN(loss) || !math.IsNaN(acc) {
			t.Errorf("%s: Evaluate gave %g, %g", name, loss, acc)
		}
	}
	if err := m.CheckData(good); err != nil {
		t.Error(err)
	}
	for _, rows := range [][]int{nil, {0, 1, 2, 3, 4}} {
		if _, _, err := m.TrainBatch(Data{X: make([]float32, 15)}, rows, make([]float32, 10)); err == nil {
			t.Errorf("TrainBatch accepted %d rows with batch 4", len(rows))
		}
	}
	if _, _, err := m.TrainBatch(Data{X: make([]float32, 5)}, []int{0, 1}, make([]float32, 8)); err == nil {
		t.Error("TrainBatch accepted short x")
	}
	if err := m.Predict(make([]float32, 6), 2, make([]float32, 3)); err == nil {
		t.Error("Predict accepted short probs")
	}
	if _, err := New(Config{}, 0, 2, nil); err == nil {
		t.Error("New accepted 0 inputs")
	}
	if _, err := New(Config{Activation: "swish"}, 3, 2, nil); err == nil {
		t.Error("New accepted an unknown activation")
	}
}

// TestNoAllocations checks that a warm training step, Evaluate and Predict
// allocate nothing, for every optimizer with dropout and every regularizer.
func TestNoAllocations(t *testing.T) {
	for _, opt := range Optimizers {
		cfg := Config{Hidden: []int{12, 9}, Optimizer: opt, Batch: 16, Dropout: 0.2,
			L1: 1e-4, L2: 1e-4, ActivityL1: 1e-5, ActivityL2: 1e-5}
		if opt == "sgd" {
			cfg.Momentum, cfg.Nesterov, cfg.Decay = 0.9, true, 1e-3
		}
		m := mustNew(t, cfg, 10, 4)
		d := blobs(40, 10, 4, 7)
		rows := rowRange(0, 16)
		if a := testing.AllocsPerRun(10, func() { m.TrainBatch(d, rows, d.Y) }); a != 0 {
			t.Errorf("%s: TrainBatch allocates %v times per step", opt, a)
		}
		if a := testing.AllocsPerRun(5, func() { m.TrainBatch(d, rows[:7], d.Y) }); a != 0 {
			t.Errorf("%s: a partial TrainBatch allocates %v times", opt, a)
		}
		d.Rows = []int{3, 1, 4, 1, 5, 9, 2, 6}
		if a := testing.AllocsPerRun(5, func() { m.Evaluate(d) }); a != 0 {
			t.Errorf("%s: Evaluate allocates %v times", opt, a)
		}
		probs := make([]float32, 40*4)
		if a := testing.AllocsPerRun(5, func() { m.Predict(d.X, 40, probs) }); a != 0 {
			t.Errorf("%s: Predict allocates %v times", opt, a)
		}
	}
	m := mustNew(t, Config{Hidden: []int{12, 12, 9}, BatchNorm: true, Residual: true, Dropout: 0.2, Batch: 16}, 10, 4)
	d := blobs(40, 10, 4, 7)
	rows := rowRange(0, 16)
	for name, f := range map[string]func(){
		"TrainBatch": func() { m.TrainBatch(d, rows, d.Y) },
		"Diagnose":   func() { m.Diagnose(d, rows, d.Y) },
		"Evaluate":   func() { m.Evaluate(d) },
	} {
		if a := testing.AllocsPerRun(5, f); a != 0 {
			t.Errorf("batch norm and residual: %s allocates %v times", name, a)
		}
	}
}

func TestFlopsPerSample(t *testing.T) {
	m := mustNew(t, Config{Hidden: []int{128}}, 784, 10)
	// forward 2·(784·128 + 128·10), weight gradients the same, input gradient of layer 2 only.
	want := 2.0*(784*128+128*10)*2 + 2*128*10
	if got := m.FlopsPerSample(); got != want {
		t.Errorf("FlopsPerSample = %g, want %g", got, want)
	}
}

// TestFitAllocations checks that Fit's allocations do not grow with the
// number of steps: the per-step path allocates nothing, with a progress
// hook called after every step (SetProgress) as without one.
func TestFitAllocations(t *testing.T) {
	m := mustNew(t, Config{Hidden: []int{8}, Batch: 4, Epochs: 1, Dropout: 0.1}, 6, 3)
	big, small := blobs(400, 6, 3, 8), blobs(40, 6, 3, 9)
	val := blobs(30, 6, 3, 10)
	fit := func(d Data) func() {
		return func() { m.Fit(context.Background(), d, &val, nil) }
	}
	fit(big)() // grows the row-order buffer once
	without := testing.AllocsPerRun(3, fit(big))
	if a := testing.AllocsPerRun(3, fit(small)); a != without {
		t.Errorf("Fit allocates %v times for 100 steps and %v times for 10", without, a)
	}
	calls := 0
	m.SetProgress(0, func(EpochPart) { calls++ })
	if a, b := testing.AllocsPerRun(3, fit(big)), testing.AllocsPerRun(3, fit(small)); a != without || b != without {
		t.Errorf("with a progress hook Fit allocates %v times for 100 steps and %v times for 10; %v without", a, b, without)
	}
	if calls == 0 {
		t.Error("the progress hook was not called")
	}
	g := m.solo
	g.part.begin(1, 100, time.Now())
	if a := testing.AllocsPerRun(50, func() { g.part.next = 1; g.part.tick() }); a != 0 {
		t.Errorf("a read of the progress clock allocates %v times", a)
	}
}

// TestDropoutMask checks the mask's values and keep rate, and that dropout
// is the identity at inference.
func TestDropoutMask(t *testing.T) {
	for _, rate := range []float64{0.1, 0.5, 0.8} {
		m := mustNew(t, Config{Hidden: []int{8}, Dropout: rate, Seed: 3}, 6, 3)
		mask := make([]float32, 100001)
		m.dropoutMask(mask)
		kept := 0
		for _, v := range mask {
			switch v {
			case float32(1 / (1 - rate)):
				kept++
			case 0:
			default:
				t.Fatalf("rate %g: mask value %g", rate, v)
			}
		}
		n := float64(len(mask))
		if frac, sd := float64(kept)/n, math.Sqrt(rate*(1-rate)/n); math.Abs(frac-(1-rate)) > 4*sd {
			t.Errorf("rate %g: kept %.4f of the units, want %.4f ± %.4f", rate, frac, 1-rate, 4*sd)
		}

		plain := mustNew(t, Config{Hidden: []int{8}, Seed: 3}, 6, 3)
		d := blobs(50, 6, 3, 11)
		l1, a1 := m.Evaluate(d)
		l2, a2 := plain.Evaluate(d)
		if l1 != l2 || a1 != a2 {
			t.Errorf("rate %g: Evaluate %g %g with dropout, %g %g without", rate, l1, a1, l2, a2)
		}
	}
}

// TestPredictMatchesReference compares Predict's probabilities, over more
// rows than one evaluation chunk, with the float64 reference.
func TestPredictMatchesReference(t *testing.T) {
	m := newTestModel(t, Config{Hidden: []int{7, 5}, Activation: "relu", Batch: 100, Dropout: 0.5, Seed: 8}, 5, 4)
	const rows = 2345
	x, _ := testBatch(rows, 5, 4, 12)
	probs := make([]float32, rows*4)
	if err := m.Predict(x, rows, probs); err != nil {
		t.Fatal(err)
	}
	logits, _ := refForward(m, float64s(m.params), x, rows, false, nil)
	for r := 0; r < rows; r++ {
		for j, want := range refSoftmax(logits[r*4 : r*4+4]) {
			if got := float64(probs[r*4+j]); math.Abs(got-want) > 1e-6+1e-5*want {
				t.Fatalf("row %d class %d: probability %.8g, reference %.8g", r, j, got, want)
			}
		}
	}
}
