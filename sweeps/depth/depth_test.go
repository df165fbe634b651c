package depth

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/report/reporttest"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// depthVariants is the depth preset's table of variants, as documented.
var depthVariants = []struct {
	name, activation, init string
	batchNorm, residual    bool
}{
	{"sigmoid", "sigmoid", "glorot_uniform", false, false},
	{"tanh", "tanh", "glorot_uniform", false, false},
	{"relu", "relu", "glorot_uniform", false, false},
	{"relu_he", "relu", "he_normal", false, false},
	{"sigmoid_bn", "sigmoid", "glorot_uniform", true, false},
	{"relu_bn", "relu", "glorot_uniform", true, false},
	{"sigmoid_residual", "sigmoid", "glorot_uniform", false, true},
	{"relu_residual", "relu", "glorot_uniform", false, true},
	{"relu_bn_residual", "relu", "glorot_uniform", true, true},
}

func TestDepthPreset(t *testing.T) {
	s, err := study.Preset("depth")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range depthVariants {
		names = append(names, v.name)
	}
	if !slices.Equal(s.Axes(), names) {
		t.Fatalf("variants %v, want %v", s.Axes(), names)
	}
	for _, v := range depthVariants {
		var depths []int
		for _, p := range s.Points {
			if p.Axis != v.name {
				continue
			}
			c := p.Params.Config(0)
			d := len(c.Hidden)
			depths = append(depths, d)
			if !slices.Equal(c.Hidden, slices.Repeat([]int{128}, d)) || c.Optimizer != "sgd" || c.LR != 0.01 || c.Batch != 128 || c.Epochs != 5 {
				t.Errorf("%s depth %d: %+v", v.name, d, c)
			}
			if c.Activation != v.activation || c.Init != v.init || c.BatchNorm != v.batchNorm || c.Residual != (v.residual && d > 1) {
				t.Errorf("%s depth %d: activation %s init %s batch_norm %v residual %v", v.name, d, c.Activation, c.Init, c.BatchNorm, c.Residual)
			}
		}
		if !slices.Equal(depths, []int{1, 2, 4, 8, 16}) {
			t.Errorf("%s: depths %v", v.name, depths)
		}
	}
}

func TestPlanDepth(t *testing.T) {
	s, _ := study.Preset("depth")
	if err := s.KeepAxes([]string{"sigmoid_residual", "relu_he"}); err != nil {
		t.Fatal(err)
	}
	plan, err := PlanDepth(s, []int{1, 3}, 16)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pt := range plan.Points {
		r := plan.Run(pt)
		got = append(got, r.Variant)
		c := r.Config
		if !slices.Equal(c.Hidden, slices.Repeat([]int{16}, r.Depth)) || c.Residual != (r.Variant == "sigmoid_residual" && r.Depth == 3) ||
			pt.Value != strconv.Itoa(r.Depth) {
			t.Errorf("%s depth %d (value %s): hidden %v residual %v", r.Variant, r.Depth, pt.Value, c.Hidden, c.Residual)
		}
		if c.Seed != sweeps.UnitSeed(42, pt.Params.Key(), 0) {
			t.Errorf("%s depth %d: seed %d is not fold 0's unit seed", r.Variant, r.Depth, c.Seed)
		}
	}
	if !slices.Equal(got, []string{"relu_he", "relu_he", "sigmoid_residual", "sigmoid_residual"}) {
		t.Errorf("runs in order %v (want study order, depth by depth)", got)
	}
	for _, depths := range [][]int{{0}, nil, {2, -1}} {
		s, _ := study.Preset("depth")
		if _, err := PlanDepth(s, depths, 0); err == nil {
			t.Errorf("depths %v: no error", depths)
		}
	}
}

// blobsData is 300 blobs, the first 240 rows trained on and the last 60 held out.
func blobsData(t testing.TB) (*datasets.Dataset, DepthData) {
	data := datasets.Blobs(300, 12, 3)
	dd, err := NewData(data, nil, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	dd.Describe = "blobs"
	return data, dd
}

// blobsPlan is the depth preset's variants, at depths of width 8, for
// epochs epochs: a plan small enough for blobsData.
func blobsPlan(t testing.TB, epochs int, variants []string, depths []int) *DepthPlan {
	t.Helper()
	s, _ := study.Preset("depth")
	s.SetEpochs(epochs)
	if err := s.KeepAxes(variants); err != nil {
		t.Fatal(err)
	}
	plan, err := PlanDepth(s, depths, 8)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// runBlobs runs plan on dd into dir and returns the result and the
// scheduler's status at the end.
func runBlobs(t testing.TB, plan *DepthPlan, dd DepthData, dir string, workers int) (*DepthStudyResult, scheduler.Status) {
	var last scheduler.Status
	r, err := RunDepth(context.Background(), plan, dd, scheduler.Options{Dir: dir, Workers: workers,
		Progress: func(e scheduler.Event) { last = e.Status }})
	if err != nil {
		t.Fatal(err)
	}
	return r, last
}

// TestRunDepth runs three variants at depths 1 and 3 on blobs and checks
// the results' shape, that they do not depend on the worker count, that
// the initial diagnostics are the engine's on the first batch, that a
// rerun trains nothing and renders the same report, and that the report,
// JSON and tables come out.
func TestRunDepth(t *testing.T) {
	data, dd := blobsData(t)
	plan := blobsPlan(t, 2, []string{"sigmoid", "sigmoid_bn", "relu_residual"}, []int{1, 3})
	var results []*DepthStudyResult
	dirs := []string{t.TempDir(), t.TempDir()}
	for i, workers := range []int{1, 2} {
		r, st := runBlobs(t, plan, dd, dirs[i], workers)
		if st.UnitsDone != 6 || st.UnitsTotal != 6 || len(r.Runs) != 6 || r.TrainRows != 240 || r.Classes != 3 || r.Epochs != 2 ||
			!slices.Equal(r.Depths, []int{1, 3}) || !slices.Equal(r.Variants, []string{"sigmoid", "sigmoid_bn", "relu_residual"}) {
			t.Fatalf("workers %d: status %+v, result %+v", workers, st, r)
		}
		results = append(results, r)
	}
	for i, run := range results[0].Runs {
		other := results[1].Runs[i]
		if len(run.Init.GradNorm) != run.Depth+1 || len(run.Init.Hidden) != run.Depth || len(run.Epochs) != 2 || run.Error != "" || run.Trainable == 0 {
			t.Fatalf("%s depth %d: %+v", run.Variant, run.Depth, run)
		}
		for _, e := range run.Epochs {
			if e.Diagnostics == nil || len(e.Diagnostics.GradNorm) != run.Depth+1 {
				t.Fatalf("%s depth %d epoch %d: diagnostics %+v", run.Variant, run.Depth, e.Epoch, e.Diagnostics)
			}
		}
		if !(run.TrainAccuracy > 0) || run.TrainAccuracy != other.TrainAccuracy {
			t.Errorf("%s depth %d: final training accuracy %v and %v", run.Variant, run.Depth, run.TrainAccuracy, other.TrainAccuracy)
		}
		if run.Accuracy != run.Epochs[1].ValAccuracy || !slices.Equal(run.Init.GradNorm, other.Init.GradNorm) ||
			run.Accuracy != other.Accuracy || run.Epochs[1].Loss != other.Epochs[1].Loss {
			t.Errorf("%s depth %d: results differ between 1 and 2 workers", run.Variant, run.Depth)
		}
		m, err := engine.New(run.Config, 12, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		first := engine.DataOf(data, nil).Head(128, 12)
		d, err := m.Diagnose(first, first.Rows, data.Y[:128*3])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.GradNorm, run.Init.GradNorm) || d.Loss != run.Init.Loss {
			t.Errorf("%s depth %d: initial diagnostics %v, the engine on the first batch gives %v", run.Variant, run.Depth, run.Init.GradNorm, d.GradNorm)
		}
	}

	r := results[0]
	dir := dirs[0]
	if err := WriteDepthReport(dir, r); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, DepthReportFile))
	if err != nil {
		t.Fatal(err)
	}
	// 2 by depth, 1 per depth ≥ 2, 2 of activations, 2 of training.
	if n := reporttest.CheckImages(t, string(page)); n != 7 {
		t.Errorf("%d plots in depth.html, want 7", n)
	}
	for _, want := range []string{"What the measurements say", "Vanishing gradients", "sigmoid_bn", "Every run"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("depth.html lacks %q", want)
		}
	}
	js, err := os.ReadFile(filepath.Join(dir, DepthJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(js, &list); err != nil || len(list) != 6 {
		t.Fatalf("depth.json: %v, %d entries", err, len(list))
	}
	if ratio, ok := list[0]["grad_ratio_init"].(float64); !ok || ratio != GradRatio(r.Runs[0].Init) {
		t.Errorf("depth.json grad_ratio_init %v, want %v", list[0]["grad_ratio_init"], GradRatio(r.Runs[0].Init))
	}
	var text bytes.Buffer
	if err := WriteDepthTables(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"every run", "findings", "relu_residual  3"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("tables lack %q:\n%s", want, text.String())
		}
	}

	// A rerun trains nothing and renders the same report, byte for byte.
	again, st := runBlobs(t, plan, dd, dir, 2)
	if st.UnitsReused != 6 || st.UnitsToRun != 0 {
		t.Errorf("rerun: status %+v, want every unit reused", st)
	}
	if err := WriteDepthReport(dir, again); err != nil {
		t.Fatal(err)
	}
	if page2, err := os.ReadFile(filepath.Join(dir, DepthReportFile)); err != nil || !bytes.Equal(page, page2) {
		t.Errorf("rerun: depth.html differs (%v)", err)
	}
	var text2 bytes.Buffer
	if err := WriteDepthTables(&text2, again); err != nil || text2.String() != text.String() {
		t.Errorf("rerun: tables differ (%v):\n%s\n%s", err, text.String(), text2.String())
	}
}

// TestSharedConfigurationTrainsOnce: a depth-1 residual network is a plain
// one (Normalize clears the switch), so sigmoid and sigmoid_residual share
// their depth-1 unit.
func TestSharedConfigurationTrainsOnce(t *testing.T) {
	_, dd := blobsData(t)
	plan := blobsPlan(t, 1, []string{"sigmoid", "sigmoid_residual"}, []int{1, 2})
	r, st := runBlobs(t, plan, dd, t.TempDir(), 2)
	if st.UnitsTotal != 3 || st.UnitsDone != 3 || len(r.Runs) != 4 {
		t.Fatalf("status %+v and %d runs; want 3 units for 4 runs", st, len(r.Runs))
	}
	plain, res := r.Run("sigmoid", 1), r.Run("sigmoid_residual", 1)
	if plain.Config.Residual || res.Config.Residual || plain.Accuracy != res.Accuracy || !slices.Equal(plain.Init.GradNorm, res.Init.GradNorm) {
		t.Errorf("depth 1: sigmoid %+v and sigmoid_residual %+v differ", plain, res)
	}
	if !r.Run("sigmoid_residual", 2).Config.Residual {
		t.Error("sigmoid_residual depth 2 has no skip connection")
	}
}

// TestCheckOutput: a directory where the report goes is refused before
// any work.
func TestCheckOutput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	if err := CheckOutput(dir); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("CheckOutput did not create %s: %v", dir, err)
	}
	if err := os.Mkdir(filepath.Join(dir, DepthReportFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckOutput(dir); err == nil || !strings.Contains(err.Error(), DepthReportFile) {
		t.Errorf("depth.html is a directory: error %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckOutput(file); err == nil {
		t.Error("a file as the output directory: no error")
	}
}

// depthFixture is a hand-made study: sigmoid, relu_he and sigmoid_bn at
// depths 1 and 16, 2 epochs on 1000 rows with batch 100 (20 steps).
func depthFixture() *DepthStudyResult {
	r := &DepthStudyResult{Study: "fixture", Data: "toy data", TrainRows: 1000, Classes: 10, Epochs: 2,
		Variants: []string{"sigmoid", "relu_he", "sigmoid_bn"}, Depths: []int{1, 16}}
	add := func(variant string, depth int, bn bool, norms []float64, std, train, val float64) {
		c := engine.Config{Hidden: slices.Repeat([]int{32}, depth), Activation: "sigmoid", Init: "glorot_uniform", BatchNorm: bn,
			Optimizer: "sgd", LR: 0.01, Batch: 100, Epochs: 2}
		run := DepthResult{DepthRun: DepthRun{Variant: variant, Depth: depth, Config: c}, Trainable: 1000 * depth, TrainAccuracy: val + 0.01}
		run.Accuracy = val
		if variant == "relu_he" && depth == 16 {
			run.TrainAccuracy = 0.95
		}
		run.Init.GradNorm = norms
		for range depth {
			run.Init.Hidden = append(run.Init.Hidden, engine.ActivationStats{Mean: 0.5, Std: std})
		}
		for e := 1; e <= 2; e++ {
			run.Epochs = append(run.Epochs, engine.EpochStats{Epoch: e, Accuracy: train, ValAccuracy: val - 0.1*float64(2-e), Seconds: float64(depth)})
		}
		r.Runs = append(r.Runs, run)
	}
	grads := func(first, last float64, depth int) []float64 {
		g := slices.Repeat([]float64{1}, depth+1)
		g[0], g[depth] = first, last
		return g
	}
	add("sigmoid", 1, false, grads(0.5, 1, 1), 0.2, 0.9, 0.91)
	add("sigmoid", 16, false, grads(1e-10, 1, 16), 0.2, 0.12, 0.11)
	add("relu_he", 1, false, grads(2, 1, 1), 0.3, 0.9, 0.92)
	add("relu_he", 16, false, grads(2, 1, 16), 0.3, 0.95, 0.93)
	add("sigmoid_bn", 1, true, grads(1, 1, 1), 0.2, 0.9, 0.9)
	add("sigmoid_bn", 16, true, grads(1.5, 1, 16), 0.2, 0.9, 0.2)
	return r
}

// TestDepthFindingsQuoteTheNumbers checks the findings against numbers
// worked out by hand from the fixture.
func TestDepthFindingsQuoteTheNumbers(t *testing.T) {
	text := strings.Join(depthFixture().Findings(), "\n")
	for _, want := range []string{
		// (1e-10/0.5)^(1/15) = 0.2257
		"‖∂L/∂W₁‖ is 0.5 of the last layer's ‖∂L/∂W_L‖ at depth 1 and 1e-10 at depth 16, a factor of 0.226 per added hidden layer",
		"relu_he 2 (+10.3 orders of magnitude), sigmoid_bn 1.5 (+10.2 orders of magnitude)", // log10(2e10), log10(1.5e10)
		"relu_he 0.9300, sigmoid_bn 0.2000, sigmoid 0.1100",
		"1 of 3 variants reach 90% held-out accuracy (relu_he after 2 epochs)",
		"sigmoid stays near chance (10% for 10 classes)",
		"after the run's 20 steps still weigh their initial values (mean 0, variance 1) by 0.99^20 = 0.818", // 0.99^20 = 0.8179
		"accuracy on the first 1000 training rows and on the held-out rows is +0.0200 (relu_he at depth 16: 0.9500 against 0.9300), so in these runs depth hurts through optimization",
		"an epoch took 1.00 s at depth 1 and 16.00 s at depth 16 on average over the variants (16.0×), for up to 16000 against 1000 parameters",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("findings lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Diverged") || strings.Contains(text, "not the whole story") {
		t.Errorf("findings report a divergence or signal change the fixture does not have:\n%s", text)
	}
	if math.Abs(math.Pow(1e-10/0.5, 1.0/15)-0.2257) > 1e-4 {
		t.Fatal("hand arithmetic")
	}
}

// TestRunDepthPixels runs the depth study on image data held as pixels
// alone, as an IDX data set holds them, and on their float32 copy: every
// run's stored unit (losses, accuracies, each epoch's diagnostics, the
// initial diagnostics and training accuracy in its record) is the same,
// bit for bit, but for the wall times.
func TestRunDepthPixels(t *testing.T) {
	blobs := datasets.Blobs(300, 12, 3)
	px := *blobs
	px.X, px.Pixels = nil, make([]uint8, len(blobs.X))
	for i, v := range blobs.X {
		px.Pixels[i] = uint8(min(255, max(0, math.Round(float64(v)*40+128))))
	}
	fl := px
	fl.Pixels, fl.X = nil, make([]float32, len(px.Pixels))
	kernels.PixelsToFloats(fl.X, px.Pixels)
	plan := blobsPlan(t, 2, []string{"sigmoid_bn", "relu_residual"}, []int{1, 3})
	var units [2][][]byte
	for i, d := range []*datasets.Dataset{&px, &fl} {
		dd, err := NewData(d, nil, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := runBlobs(t, plan, dd, t.TempDir(), 1)
		for _, run := range r.Runs {
			u := run.UnitResult
			u.Seconds, u.Epochs = 0, slices.Clone(u.Epochs)
			for e := range u.Epochs {
				u.Epochs[e].Seconds, u.Epochs[e].SamplesPerSecond = 0, 0
				if u.Epochs[e].Diagnostics == nil {
					t.Fatalf("%s depth %d epoch %d: no diagnostics", run.Variant, run.Depth, e+1)
				}
			}
			b, err := json.Marshal(u)
			if err != nil {
				t.Fatal(err)
			}
			units[i] = append(units[i], b)
		}
	}
	if len(units[0]) != 4 || !slices.EqualFunc(units[0], units[1], bytes.Equal) {
		t.Errorf("runs on pixels and on their float32 copy differ:\n%s\n%s", bytes.Join(units[0], []byte("\n")), bytes.Join(units[1], []byte("\n")))
	}
}

// TestModelPool: a run's model is a freed one reset to its configuration,
// with the numbers of a new model, and taking and giving back a model of a
// shape it held allocates nothing.
func TestModelPool(t *testing.T) {
	deep, err := engine.Config{Hidden: []int{16, 16, 16}, Activation: "relu", BatchNorm: true, Residual: true, Batch: 8, Seed: 1}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	shallow, err := engine.Config{Hidden: []int{16}, Activation: "sigmoid", Batch: 8, Seed: 2}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	var p modelPool
	kc := kernels.NewContext(1)
	m, err := p.get(deep, 12, 3, kc)
	if err != nil {
		t.Fatal(err)
	}
	p.put(m)
	again, err := p.get(shallow, 12, 3, kc)
	if err != nil {
		t.Fatal(err)
	}
	if again != m {
		t.Fatal("the pool made a new model with one free")
	}
	fresh, err := engine.NewNormalized(shallow, 12, 3, kc)
	if err != nil {
		t.Fatal(err)
	}
	data := engine.DataOf(datasets.Blobs(20, 12, 3), nil)
	rows := data.Head(8, 12).Rows
	a, err := again.Diagnose(data, rows, data.Y)
	if err != nil {
		t.Fatal(err)
	}
	a = a.Clone()
	b, err := fresh.Diagnose(data, rows, data.Y)
	if err != nil {
		t.Fatal(err)
	}
	if a.Loss != b.Loss || !slices.Equal(a.GradNorm, b.GradNorm) || again.Params() != fresh.Params() {
		t.Errorf("reset model: loss %v grad norms %v, new model %v %v", a.Loss, a.GradNorm, b.Loss, b.GradNorm)
	}
	p.put(again)
	if n := testing.AllocsPerRun(5, func() {
		m, err := p.get(shallow, 12, 3, kc)
		if err != nil {
			t.Fatal(err)
		}
		p.put(m)
	}); n != 0 {
		t.Errorf("a run's model allocates %v times", n)
	}
	if m, err := p.get(shallow, 10, 3, kc); err != nil || m == again || m.Inputs() != 10 {
		t.Errorf("a model for other inputs: %v (the free one: %v)", err, m == again)
	}
}
