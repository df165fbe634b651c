package engine

import (
	"context"
	"math"
	"slices"
	"testing"
)

// TestDiagnoseActivationStats checks the activation statistics of a 2-3-2
// net with hand-set weights on two rows.
func TestDiagnoseActivationStats(t *testing.T) {
	sigmoid := func(u float64) float64 { return 1 / (1 + math.Exp(-u)) }
	for _, c := range []struct {
		act    string
		w, b   []float32 // [2×3], [3]
		y      []float64 // [2×3] activation outputs
		wantIn float64   // inactive outputs
		dead   float64   // dead units
	}{
		{
			// pre-activations: unit 0 = x0+x1 (3, 4), unit 1 = −x0−x1−1 (−4, −5), unit 2 = x0−x1 (−1, 2)
			act: "relu", w: []float32{1, -1, 1, 1, -1, -1}, b: []float32{0, -1, 0},
			y:      []float64{3, 0, 0, 4, 0, 2},
			wantIn: 3.0 / 6, dead: 1.0 / 3, // the zeros; unit 1 is zero on both rows
		},
		{
			// pre-activations: unit 0 (30, 40) and unit 1 (−50, −40) saturate, unit 2 (−1, 2) does not
			act: "sigmoid", w: []float32{10, -10, 1, 10, -10, -1}, b: []float32{0, -10, 0},
			y:      []float64{sigmoid(30), sigmoid(-50), sigmoid(-1), sigmoid(40), sigmoid(-40), sigmoid(2)},
			wantIn: 4.0 / 6, dead: 2.0 / 3,
		},
	} {
		m := mustNew(t, Config{Hidden: []int{3}, Activation: c.act, Batch: 2}, 2, 2)
		copy(m.layers[0].w, c.w)
		copy(m.layers[0].b, c.b)
		d, err := m.Diagnose(Data{X: []float32{1, 2, 3, 1}}, []int{0, 1}, []float32{1, 0, 0, 1})
		if err != nil {
			t.Fatal(err)
		}
		var sum, sumSq float64
		for _, v := range c.y {
			sum += v
			sumSq += v * v
		}
		mean := sum / 6
		std := math.Sqrt(sumSq/6 - mean*mean)
		got := d.Hidden[0]
		if math.Abs(got.Mean-mean) > 1e-6 || math.Abs(got.Std-std) > 1e-6 || got.Inactive != c.wantIn || got.Dead != c.dead {
			t.Errorf("%s: got %+v, want mean %.6g std %.6g inactive %.4g dead %.4g", c.act, got, mean, std, c.wantIn, c.dead)
		}
		if len(d.GradNorm) != 2 || len(d.Hidden) != 1 {
			t.Errorf("%s: %d gradient norms and %d hidden layers", c.act, len(d.GradNorm), len(d.Hidden))
		}
	}
}

// TestDiagnoseGradNorms compares Diagnose's loss and per-layer gradient
// norms with the float64 reference: the loss without dropout and the
// Frobenius norm of central differences over each kernel, on a net with
// batch norm, skip connections and dropout (which Diagnose leaves out).
func TestDiagnoseGradNorms(t *testing.T) {
	cfg := Config{Hidden: []int{4, 4, 3}, Activation: "sigmoid", BatchNorm: true, Residual: true, Dropout: 0.4,
		L2: 0.01, Batch: 4, Seed: 6}
	m := newTestModel(t, cfg, 5, 3)
	x, y := testBatch(3, 5, 3, 31)
	d, err := m.Diagnose(Data{X: x}, rowRange(0, 3), y)
	if err != nil {
		t.Fatal(err)
	}
	p := float64s(m.params)
	if want := refLoss(m, p, x, y, 3, true, nil); math.Abs(d.Loss-want) > 1e-5*want {
		t.Errorf("loss %.8g, reference without dropout %.8g", d.Loss, want)
	}
	off := 0
	for l, layer := range m.layers {
		var sumSq float64
		for i := off; i < off+layer.in*layer.out; i++ {
			const h = 1e-6
			saved := p[i]
			p[i] = saved + h
			up := refLoss(m, p, x, y, 3, true, nil)
			p[i] = saved - h
			down := refLoss(m, p, x, y, 3, true, nil)
			p[i] = saved
			g := (up - down) / (2 * h)
			sumSq += g * g
		}
		if want := math.Sqrt(sumSq); math.Abs(d.GradNorm[l]-want) > 1e-3*want+1e-7 {
			t.Errorf("layer %d: gradient norm %.6g, reference %.6g", l+1, d.GradNorm[l], want)
		}
		off += len(layer.w) + len(layer.b)
		if layer.bn != nil {
			off += 2 * layer.out
		}
	}
}

// TestDiagnoseLeavesTrainingUnchanged interleaves Diagnose with training
// steps and checks that weights, optimizer state and moving statistics
// come out bit-identical, and that Fit with a diagnostic batch trains
// exactly as without and attaches diagnostics to every epoch.
func TestDiagnoseLeavesTrainingUnchanged(t *testing.T) {
	cfg := Config{Hidden: []int{8, 8}, Activation: "relu", BatchNorm: true, Residual: true, Dropout: 0.2,
		Optimizer: "adam", Batch: 8, Epochs: 3, Seed: 9}
	data := blobs(50, 6, 3, 12)
	plain, diagnosed := mustNew(t, cfg, 6, 3), mustNew(t, cfg, 6, 3)
	for s := 0; s < 4; s++ {
		if _, err := diagnosed.Diagnose(data, rowRange(40, 48), data.Y[40*3:]); err != nil {
			t.Fatal(err)
		}
		for _, m := range []*Model{plain, diagnosed} {
			if _, _, err := m.TrainBatch(data, rowRange(s*8, s*8+8), data.Y[s*8*3:]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slices.Equal(plain.params, diagnosed.params) || !slices.Equal(plain.moving, diagnosed.moving) ||
		!slices.Equal(plain.opt.s1, diagnosed.opt.s1) {
		t.Error("Diagnose between steps changed training")
	}

	fit := func(diagnose bool) (*Model, History) {
		m := mustNew(t, cfg, 6, 3)
		if diagnose {
			if err := m.SetDiagnosticBatch(data, rowRange(0, 8), data.Y); err != nil {
				t.Fatal(err)
			}
		}
		h, err := m.Fit(context.Background(), data, &data, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m, h
	}
	m1, h1 := fit(false)
	m2, h2 := fit(true)
	if !slices.Equal(m1.params, m2.params) || !sameHistory(h1, h2) {
		t.Error("Fit with a diagnostic batch trained differently")
	}
	for _, e := range h1.Epochs {
		if e.Diagnostics != nil {
			t.Errorf("epoch %d has diagnostics without a diagnostic batch", e.Epoch)
		}
	}
	for _, e := range h2.Epochs {
		if e.Diagnostics == nil || len(e.Diagnostics.GradNorm) != 3 || e.Diagnostics.GradNorm[0] <= 0 {
			t.Fatalf("epoch %d: diagnostics %+v", e.Epoch, e.Diagnostics)
		}
	}
	if &h2.Epochs[0].Diagnostics.GradNorm[0] == &h2.Epochs[1].Diagnostics.GradNorm[0] {
		t.Error("epochs share their diagnostics' buffers")
	}
	if err := m2.SetDiagnosticBatch(data, rowRange(0, 9), data.Y); err == nil {
		t.Error("SetDiagnosticBatch accepted more rows than the batch size")
	}
	if _, err := m2.Diagnose(data, []int{}, data.Y); err == nil {
		t.Error("Diagnose accepted 0 rows")
	}
	if _, err := m2.Diagnose(data, []int{3, 50}, data.Y); err == nil {
		t.Error("Diagnose accepted a row outside the data")
	}
	if err := m2.SetDiagnosticBatch(data, []int{3, 4}, data.Y[:5]); err == nil {
		t.Error("SetDiagnosticBatch accepted short targets")
	}
}
