package engine

import (
	"math"
	"testing"
)

// TestBatchNormInferenceByHand checks the inference formula
// γ·(z − moving_μ)/√(moving_σ² + ε) + β on numbers chosen so that the
// square roots are exact: moving_σ² + ε = 4 and 0.25.
func TestBatchNormInferenceByHand(t *testing.T) {
	bn := &batchNorm{
		gamma: []float32{2, 1}, beta: []float32{0.5, -1},
		movingMean: []float32{1, 2}, movingVar: []float32{4 - bnEpsilon, 0.25 - bnEpsilon},
	}
	z := []float32{5, 2.5, 1, 1} // [2×2]
	batchNormInference(bn, z, 2)
	// row 0: 2·(5−1)/2 + 0.5 = 4.5, 1·(2.5−2)/0.5 − 1 = 0; row 1: 2·0/2 + 0.5 = 0.5, (1−2)/0.5 − 1 = −3
	want := []float32{4.5, 0, 0.5, -3}
	for i := range want {
		if math.Abs(float64(z[i]-want[i])) > 1e-6 {
			t.Fatalf("inference batch norm gives %v, want %v", z, want)
		}
	}
}

// TestBatchNormTrainingStep checks, after one training step from the
// initial state (moving mean 0, variance 1), that the moving statistics
// are 0.01·μ and 0.99 + 0.01·σ² with μ and the biased σ² of the first
// Dense output x·W + b computed by hand before the step; that the
// optimizer moved γ and β but not the moving statistics; and that
// Evaluate and Predict then use the moving statistics (float64 reference
// in inference mode).
func TestBatchNormTrainingStep(t *testing.T) {
	cfg := Config{Hidden: []int{5, 4}, Activation: "tanh", BatchNorm: true, Optimizer: "sgd", LR: 0.1, Batch: 6, Seed: 4}
	m := newTestModel(t, cfg, 3, 2)
	x, y := testBatch(6, 3, 2, 21)
	d := m.layers[0]
	mean, variance := make([]float64, 5), make([]float64, 5)
	for r := 0; r < 6; r++ {
		for j := 0; j < 5; j++ {
			z := float64(d.b[j])
			for k := 0; k < 3; k++ {
				z += float64(x[r*3+k]) * float64(d.w[k*5+j])
			}
			mean[j] += z / 6
			variance[j] += z * z / 6
		}
	}
	gamma := float64s(d.bn.gamma)
	if _, _, err := m.TrainBatch(Data{X: x}, rowRange(0, 6), y); err != nil {
		t.Fatal(err)
	}
	for j := range mean {
		variance[j] -= mean[j] * mean[j]
		if got, want := float64(d.bn.movingMean[j]), 0.01*mean[j]; math.Abs(got-want) > 1e-6 {
			t.Errorf("unit %d: moving mean %.8g, want 0.01·μ = %.8g", j, got, want)
		}
		if got, want := float64(d.bn.movingVar[j]), 0.99+0.01*variance[j]; math.Abs(got-want) > 1e-6 {
			t.Errorf("unit %d: moving variance %.8g, want 0.99 + 0.01·σ² = %.8g (biased σ²)", j, got, want)
		}
		if float64(d.bn.gamma[j]) == gamma[j] {
			t.Errorf("unit %d: γ did not move", j)
		}
	}
	if len(m.moving) != 2*(5+4) || m.Params() != 3*5+5+2*5+5*4+4+2*4+4*2+2 {
		t.Errorf("%d moving statistics and %d parameters", len(m.moving), m.Params())
	}

	probs := make([]float32, 6*2)
	if err := m.Predict(x, 6, probs); err != nil {
		t.Fatal(err)
	}
	logits, _ := refForward(m, float64s(m.params), x, 6, false, nil)
	for r := 0; r < 6; r++ {
		for j, want := range refSoftmax(logits[r*2 : r*2+2]) {
			if got := float64(probs[r*2+j]); math.Abs(got-want) > 1e-6 {
				t.Fatalf("row %d class %d: Predict %.8g, reference with moving statistics %.8g", r, j, got, want)
			}
		}
	}
	loss, _ := m.Evaluate(Data{X: x, Y: y})
	if want := refLoss(m, float64s(m.params), x, y, 6, false, nil); math.Abs(loss-want) > 1e-5*want {
		t.Errorf("Evaluate loss %.8g, reference with moving statistics %.8g", loss, want)
	}
	if trainLoss := refLoss(m, float64s(m.params), x, y, 6, true, nil); math.Abs(trainLoss-loss) < 1e-3 {
		t.Errorf("inference loss %.6g equals the batch-statistics loss %.6g: moving statistics unused?", loss, trainLoss)
	}
}
