package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// randomStudy is 60 sampled configurations over lr (log-uniform, the
// accuracy peaks at 0.01), dropout (uniform) and batch (a choice of 3);
// only lr matters.
func randomStudy(axis string) sweeps.StudyResult {
	rng := rand.New(rand.NewPCG(3, 3))
	r := sweeps.StudyResult{Name: "demo-random", Folds: 2, Epochs: 4, Seed: 7}
	for range 60 {
		lr := math.Round(math.Exp(math.Log(1e-4)+math.Log(1e4)*rng.Float64())*1e6) / 1e6
		dropout := math.Round(0.5*rng.Float64()*1e4) / 1e4
		batch := []int{32, 64, 128}[rng.IntN(3)]
		l := math.Log10(lr) + 2
		acc := 0.97 - 0.05*l*l
		cfg := withParams(func(c *engine.Config) { c.LR, c.Dropout, c.Batch = lr, dropout, batch })
		value := "lr=" + strconv.FormatFloat(lr, 'g', -1, 64)
		r.Configs = append(r.Configs, fixtureConfig(axis, value, cfg, fixtureUnit{acc, 0.1, false}, fixtureUnit{acc, 0.1, false}))
	}
	return r
}

func TestImportanceRandomStudy(t *testing.T) {
	res, err := Importance(randomStudy("random"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if len(res) != 3 || res[0].Param != "lr" || res[0].Importance < 0.6 {
		t.Fatalf("importance %+v: want lr first with ≥ 60 %%", res)
	}
	// the inferred ranges: lr log-uniform, dropout uniform, batch a choice
	v, _ := newStudyView(randomStudy("random"))
	kinds := map[string]tpe.Kind{}
	for _, k := range v.varying {
		var xs []float64
		for i := range v.r.Configs {
			x, _ := strconv.ParseFloat(v.values[i][k].text, 64)
			xs = append(xs, x)
		}
		kinds[v.keys[k]] = numericRange(v.keys[k], xs).Kind
	}
	if kinds["lr"] != tpe.LogUniform || kinds["dropout"] != tpe.Uniform {
		t.Errorf("inferred kinds %v", kinds)
	}
	dir := writeReport(t, randomStudy("random"))
	page := readReport(t, dir)
	for _, want := range []string{`<section id="importance">`, "<td>lr</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	var tables strings.Builder
	if err := WriteTables(&tables, randomStudy("random")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tables.String(), "\nimportance (PED-ANOVA): lr 95.3 %, batch 2.9 %, dropout 1.8 %\n") {
		t.Errorf("tables:\n%s", tables.String())
	}
	if n := plots(t, dir); n != 4 {
		t.Errorf("%d plots, want 4 (accuracy, 2 curves, importance)", n)
	}
}

// TestImportanceOverConfigurationsTrainedFully: a pruner stops the
// configurations it judges hopeless at an early epoch, where any
// configuration scores lower. Here lr decides the accuracy and the pruner
// stopped every configuration of batch 32; counting their early scores
// beside the others' put dropout first (67 %) and batch level with lr
// (16 % each). As Optuna's
// importance counts complete trials only, they are left out.
func TestImportanceOverConfigurationsTrainedFully(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	r := sweeps.StudyResult{Name: "demo-pruned", Folds: 2, Epochs: 4, Seed: 7}
	for i := range 40 {
		lr, batch := []float64{0.01, 0.001}[i%2], []int{32, 64}[i/2%2]
		dropout := math.Round(0.5*rng.Float64()*1e4) / 1e4
		acc := 0.95 + 0.02*float64(i%2^1) + 0.001*rng.Float64()
		cfg := withParams(func(c *engine.Config) { c.LR, c.Batch, c.Dropout = lr, batch, dropout })
		c := fixtureConfig("random", fmt.Sprintf("sample %d", i), cfg, fixtureUnit{acc, 0.1, false}, fixtureUnit{acc, 0.1, false})
		if batch == 32 {
			c.PrunedAt, c.MeanAccuracy = 1, 0.5 // its score at epoch 1
		}
		r.Configs = append(r.Configs, c)
	}
	res, err := Importance(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if len(res) == 0 || res[0].Param != "lr" || res[0].Importance < 0.8 {
		t.Errorf("importance %+v: want lr first with ≥ 80 %%: the pruned configurations' early scores were counted", res)
	}
}

func TestImportanceGridAndAxes(t *testing.T) {
	g := gridStudy()
	for i := range g.Configs {
		g.Configs[i].Axis = "grid"
	}
	res, err := Importance(g)
	if err != nil || len(res) != 2 {
		t.Fatalf("grid: %+v, %v (want lr and batch)", res, err)
	}
	// two configurations: PED-ANOVA has no importance to give (every share
	// 0), and the report shows none rather than "lr 0.0 %, batch 0.0 %"
	two := g
	two.Configs = []sweeps.ConfigResult{g.Configs[0], g.Configs[3]} // lr and batch both vary
	if res, err := Importance(two); err != nil || res != nil {
		t.Errorf("two configurations: %+v, %v (want none)", res, err)
	}
	// one-axis studies and hand-built results without a sampler: none
	for _, r := range []sweeps.StudyResult{axisStudy(), gridStudy()} {
		if res, err := Importance(r); err != nil || res != nil {
			t.Errorf("%s: %+v, %v (want none)", r.Name, res, err)
		}
	}
}
