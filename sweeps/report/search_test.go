package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// prunedStudy is a hand-built pruned study: 3 configurations × 2 folds,
// 3 epochs; b is pruned at epoch 1, c at epoch 1 too, a trained fully.
// Units finish in the order c, b, a (fold 0 before fold 1).
func prunedStudy(t *testing.T) sweeps.StudyResult {
	t.Helper()
	var points []study.Point
	for i, lr := range []float64{0.1, 0.01, 0.001} {
		p, err := study.NewParams(engine.Config{Hidden: []int{8}, Batch: 16, Epochs: 3, LR: lr})
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, study.Point{Axis: "random", Value: []string{"a", "b", "c"}[i], Params: p})
	}
	units := map[sweeps.UnitID]sweeps.UnitResult{}
	h := sweeps.Header{Name: "pruned", Folds: 2, Epochs: 3}
	finish := map[string]int64{"a": 30, "b": 20, "c": 10}
	acc := map[string]float64{"a": 0.9, "b": 0.95, "c": 0.5} // b's early accuracy beats a's final one
	for _, u := range sweeps.Plan(h, points) {
		v := u.Point.Value
		r := sweeps.UnitResult{Fold: u.ID.Fold, Accuracy: acc[v], ValLoss: 0.5, GFLOP: 1, Started: 5e9, Finished: (finish[v] + int64(u.ID.Fold)) * 1e9}
		n := 3
		if v != "a" {
			n, r.PrunedAt = 1, 1
		}
		for e := range n {
			r.Epochs = append(r.Epochs, engine.EpochStats{Epoch: e + 1, ValAccuracy: acc[v]})
		}
		r.GFLOP = float64(n)
		units[u.ID] = r
	}
	r := sweeps.Assemble(h, points, units, nil)
	r.Decisions = []sweeps.Decision{
		{Key: points[0].Params.Key(), Epoch: 1, Score: 0.9, Cutoff: 0.95, Promoted: true, Order: 0},
		{Key: points[1].Params.Key(), Epoch: 1, Score: 0.95, Cutoff: 0.95, Promoted: false, Order: 1},
		{Key: points[2].Params.Key(), Epoch: 1, Score: 0.5, Cutoff: 0.95, Promoted: false, Order: 2},
	}
	return r
}

// TestSearchOfAPrunedStudy: the trace counts compute unit by unit in
// finishing order and a configuration once all its folds are in and only
// when it was trained fully; pruned configurations rank after the others
// and say where they stopped; the rung table sums the decisions.
func TestSearchOfAPrunedStudy(t *testing.T) {
	r := prunedStudy(t)
	trace := SearchTrace(r)
	if len(trace) != 6 {
		t.Fatalf("%d points", len(trace))
	}
	wantGFLOP := []float64{1, 2, 3, 4, 7, 10}
	for i, p := range trace {
		if p.GFLOP != wantGFLOP[i] {
			t.Errorf("point %d: %v GFLOP, want %v", i, p.GFLOP, wantGFLOP[i])
		}
		if (i < 5) != math.IsNaN(p.Best) {
			t.Errorf("point %d: best %v", i, p.Best)
		}
	}
	if last := trace[5]; last.Best != 0.9 || last.Seconds != 26 || last.Key != r.Configs[0].Key {
		t.Errorf("last point %+v", last)
	}
	if r.Configs[0].Rank != 1 || r.Configs[1].Rank != 2 {
		t.Errorf("ranks %d %d: the configuration trained fully ranks first", r.Configs[0].Rank, r.Configs[1].Rank)
	}
	var buf bytes.Buffer
	if err := WriteTables(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"pruned at epoch 1", "pruned: 2 of 3 configurations (at epoch 1); 56 % of the epochs",
		"bracket  rung  epoch  judged  promoted  best score  cutoff", "0        0     1      3       1         0.9500      0.9500",
		"configurations ranked by mean accuracy"} {
		if !strings.Contains(out, want) {
			t.Errorf("tables lack %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	if err := WriteReport(dir, r); err != nil {
		t.Fatal(err)
	}
	html := readReport(t, dir) // the page's view, laid out as RenderPage does
	for _, want := range []string{`<section id="search">`, "best found: accuracy 0.9000 after 0.01 TFLOP", "best accuracy so far against wall time"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if n := plots(t, dir); n < 2 {
		t.Errorf("%d plots with points, want the search's two at least", n)
	}
}
