package engine

import "math"

// Batch normalization, as Keras's BatchNormalization with its defaults,
// sits between a hidden Dense layer and its activation (cfg.BatchNorm).
// For each unit j of the layer, over the rows r of the batch:
//
//	training:  μ_j = mean_r z_rj      σ²_j = mean_r (z_rj − μ_j)²  (biased)
//	           ẑ_rj = (z_rj − μ_j)/√(σ²_j + ε)      u_rj = γ_j·ẑ_rj + β_j
//	           after the step: moving_μ ← m·moving_μ + (1−m)·μ, moving_σ² likewise
//	inference: u_rj = γ_j·(z_rj − moving_μ_j)/√(moving_σ²_j + ε) + β_j
//
// with momentum m = 0.99 and ε = 1e-3. γ (initially 1) and β (initially 0)
// are trainable, in the flat parameter buffer after the layer's bias; the
// moving mean and variance (initially 0 and 1) are not parameters: they
// have no gradient and the optimizer never sees them.
const (
	bnMomentum = 0.99
	bnEpsilon  = 1e-3
)

// batchNorm is the batch normalization of one hidden layer of width H. Its
// slices are views into the model's flat buffers.
type batchNorm struct {
	gamma, dgamma         []float32 // [H] scale γ and its gradient
	beta, dbeta           []float32 // [H] offset β and its gradient
	movingMean, movingVar []float32 // [H] inference statistics (views into Model.moving)
}

// bnBatch is one batch normalization's state in a training pass.
type bnBatch struct {
	hat                    []float32 // [B×H] normalized pre-activations ẑ, kept for the backward pass
	mean, variance, invStd []float32 // [H] batch μ, σ² and 1/√(σ² + ε)
	sumDu, sumDuHat        []float32 // [H] backward scratch: Σ_r du_rj and Σ_r du_rj·ẑ_rj
}

// reset sizes st for rows rows of width h, reusing its storage.
func (st *bnBatch) reset(rows, h int) {
	st.hat = resize(st.hat, rows*h)
	st.mean, st.variance, st.invStd = resize(st.mean, h), resize(st.variance, h), resize(st.invStd, h)
	st.sumDu, st.sumDuHat = resize(st.sumDu, h), resize(st.sumDuHat, h)
}

// batchNormForward normalizes z [rows×H] in place with the batch's
// statistics, z ← γ·ẑ + β, and keeps ẑ and the statistics in st. The
// moving statistics are updated separately (updateMoving), after the step.
func batchNormForward(bn *batchNorm, st *bnBatch, z []float32, rows int) {
	h := len(bn.gamma)
	mean, variance, invStd := st.mean, st.variance, st.invStd
	clear(mean)
	clear(variance)
	for r := 0; r < rows; r++ {
		for j, v := range z[r*h : (r+1)*h] {
			mean[j] += v
		}
	}
	inv := 1 / float32(rows)
	for j := range mean {
		mean[j] *= inv
	}
	for r := 0; r < rows; r++ {
		for j, v := range z[r*h : (r+1)*h] {
			d := v - mean[j]
			variance[j] += d * d
		}
	}
	for j := range variance {
		variance[j] *= inv
		invStd[j] = float32(1 / math.Sqrt(float64(variance[j]+bnEpsilon)))
	}
	for r := 0; r < rows; r++ {
		row, hat := z[r*h:(r+1)*h], st.hat[r*h:(r+1)*h]
		for j, v := range row {
			hat[j] = (v - mean[j]) * invStd[j]
			row[j] = bn.gamma[j]*hat[j] + bn.beta[j]
		}
	}
}

// batchNormInference normalizes z [rows×H] in place with the moving
// statistics.
func batchNormInference(bn *batchNorm, z []float32, rows int) {
	h := len(bn.gamma)
	for r := 0; r < rows; r++ {
		row := z[r*h : (r+1)*h]
		for j, v := range row {
			row[j] = bn.gamma[j]*(v-bn.movingMean[j])/float32(math.Sqrt(float64(bn.movingVar[j]+bnEpsilon))) + bn.beta[j]
		}
	}
}

// batchNormBackward takes du [rows×H], the gradient w.r.t. the normalized
// output u, accumulates
//
//	dγ_j += Σ_r du_rj·ẑ_rj     dβ_j += Σ_r du_rj
//
// and turns du in place into the gradient w.r.t. the input z:
//
//	dz_rj = γ_j/√(σ²_j + ε) · (du_rj − mean_r du_rj − ẑ_rj · mean_r du_rj·ẑ_rj)
func batchNormBackward(bn *batchNorm, st *bnBatch, du []float32, rows int) {
	h := len(bn.gamma)
	sumDu, sumDuHat := st.sumDu, st.sumDuHat
	clear(sumDu)
	clear(sumDuHat)
	for r := 0; r < rows; r++ {
		hat := st.hat[r*h : (r+1)*h]
		for j, g := range du[r*h : (r+1)*h] {
			sumDu[j] += g
			sumDuHat[j] += g * hat[j]
		}
	}
	for j := range sumDu {
		bn.dbeta[j] += sumDu[j]
		bn.dgamma[j] += sumDuHat[j]
	}
	inv := 1 / float32(rows)
	for r := 0; r < rows; r++ {
		row, hat := du[r*h:(r+1)*h], st.hat[r*h:(r+1)*h]
		for j, g := range row {
			row[j] = bn.gamma[j] * st.invStd[j] * (g - inv*sumDu[j] - hat[j]*inv*sumDuHat[j])
		}
	}
}

// updateMoving folds the batch statistics of st into the moving ones.
func (bn *batchNorm) updateMoving(st *bnBatch) {
	for j := range bn.movingMean {
		bn.movingMean[j] = bn.movingMean[j]*bnMomentum + st.mean[j]*(1-bnMomentum)
		bn.movingVar[j] = bn.movingVar[j]*bnMomentum + st.variance[j]*(1-bnMomentum)
	}
}
