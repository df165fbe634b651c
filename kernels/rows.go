package kernels

import "math"

// AddBias adds bias to every row of x (len(x) a multiple of len(bias)):
//
//	for r := 0; r < len(x)/n; r++ { for j := range bias { x[r*n+j] += bias[j] } }
func AddBias(x, bias []float32) {
	if len(bias) == 0 {
		return
	}
	rows := len(x) / len(bias)
	if v := vectorPath(); v != nil {
		v.addBias(x, bias, rows)
		return
	}
	addBiasGeneric(x, bias, rows)
}

// addBiasGeneric is the Go twin of the addBias kernels (rows·n ≤ len(x)):
//
//	for r := 0; r < rows; r++ { for j := range bias { x[r*n+j] += bias[j] } }
func addBiasGeneric(x, bias []float32, rows int) {
	n := len(bias)
	for r := 0; r < rows; r++ {
		row := x[r*n : r*n+n]
		for j, b := range bias {
			row[j] += b
		}
	}
}

// SumRows accumulates the column sums of dy (rows of len(db)) into db, the
// bias gradient of a Dense layer:
//
//	for r := 0; r < len(dy)/n; r++ { for j := range db { db[j] += dy[r*n+j] } }
//
// Every path adds in this order, so all give the same bits.
func SumRows(dy, db []float32) {
	if len(db) == 0 {
		return
	}
	rows := len(dy) / len(db)
	if v := vectorPath(); v != nil {
		v.sumRows(dy, db, rows)
		return
	}
	sumRowsGeneric(dy, db, rows)
}

// sumRowsGeneric is the Go twin of the sumRows kernels (rows·n ≤ len(dy)):
//
//	for r := 0; r < rows; r++ { for j := range db { db[j] += dy[r*n+j] } }
func sumRowsGeneric(dy, db []float32, rows int) {
	n := len(db)
	for r := 0; r < rows; r++ {
		row := dy[r*n : r*n+n]
		for j, v := range row {
			db[j] += v
		}
	}
}

// SoftmaxXent is the fused, stable softmax + categorical cross-entropy over
// rows×n logits with one-hot (or probability) targets y. It returns the sum
// over rows of −Σ_j y_j·log softmax(z)_j, and the number of rows whose
// argmax of z equals the argmax of y (first maximum; unspecified on rows
// holding NaN, whose loss is NaN). When dz is non-nil it also writes the
// gradient dz = (softmax(z) − y)·scale (scale is 1/B for a batch mean).
// When probs is non-nil it receives softmax(z). dz and probs may alias z.
//
// The vector paths run the max, exp, sum and gradient passes of a row in
// assembly (float32 exp, within 2 ulp) and the log and the loss sum in Go
// (float64).
func SoftmaxXent(z, y []float32, rows, n int, scale float32, dz, probs []float32) (loss float32, correct int) {
	if rows <= 0 || n <= 0 {
		return 0, 0
	}
	size := rows * n
	z, y = z[:size], y[:size]
	if dz != nil {
		dz = dz[:size]
	}
	if probs != nil {
		probs = probs[:size]
	}
	if v := vectorPath(); v != nil {
		return softmaxXentRows(v.softmaxRow, z, y, rows, n, scale, dz, probs)
	}
	return softmaxXentGeneric(z, y, rows, n, scale, dz, probs)
}

// Softmax replaces each of the rows rows of z (rows×n) by its softmax, in
// the stable form (the row maximum subtracted first), giving the same bits
// as SoftmaxXent's probs on the Generic path:
//
//	for r := 0; r < rows; r++ {
//		zr := z[r*n : r*n+n]
//		s := Σ_j exp(zr[j] − max(zr))
//		for j := range zr { zr[j] = exp(zr[j] − max(zr)) / s }
//	}
//
// It is scalar Go (float64 exp): evaluation calls it once per batch, off
// the training path.
func Softmax(z []float32, rows, n int) {
	if n <= 0 {
		return
	}
	for r := 0; r < rows; r++ {
		zr := z[r*n : r*n+n]
		zmax := zr[0]
		for _, v := range zr[1:] {
			zmax = max(zmax, v)
		}
		var sum float64
		for _, v := range zr {
			sum += math.Exp(float64(v - zmax))
		}
		logSum := math.Log(sum)
		for j, v := range zr {
			zr[j] = float32(math.Exp(float64(v-zmax) - logSum))
		}
	}
}

// softmaxXentRows is SoftmaxXent on a vector path: row does the passes over
// one row, and the loss of a row is Σy·log(Σ_j e^(z_j−max z)) − Σ_j y_j(z_j−max z).
func softmaxXentRows(row func(z, y []float32, scale float32, dz, probs []float32) (zarg, yarg int, sum, dot, ysum float32),
	z, y []float32, rows, n int, scale float32, dz, probs []float32) (loss float32, correct int) {
	var total float64
	for r := 0; r < rows; r++ {
		lo, hi := r*n, r*n+n
		var dzr, pr []float32
		if dz != nil {
			dzr = dz[lo:hi]
		}
		if probs != nil {
			pr = probs[lo:hi]
		}
		zarg, yarg, sum, dot, ysum := row(z[lo:hi], y[lo:hi], scale, dzr, pr)
		if zarg == yarg {
			correct++
		}
		total += float64(ysum)*math.Log(float64(sum)) - float64(dot)
	}
	return float32(total), correct
}

// softmaxXentGeneric is the Go twin of SoftmaxXent, in float64 (rows, n ≥ 1).
func softmaxXentGeneric(z, y []float32, rows, n int, scale float32, dz, probs []float32) (loss float32, correct int) {
	var total float64
	for r := 0; r < rows; r++ {
		zr, yr := z[r*n:r*n+n], y[r*n:r*n+n]
		zmax, zarg := zr[0], 0
		ymax, yarg := yr[0], 0
		for j := 1; j < n; j++ {
			if zr[j] > zmax {
				zmax, zarg = zr[j], j
			}
			if yr[j] > ymax {
				ymax, yarg = yr[j], j
			}
		}
		if zarg == yarg {
			correct++
		}
		var sum float64
		for _, v := range zr {
			sum += math.Exp(float64(v - zmax))
		}
		logSum := math.Log(sum)
		for j, v := range zr {
			if yr[j] != 0 {
				total -= float64(yr[j]) * (float64(v-zmax) - logSum)
			}
		}
		if dz == nil && probs == nil {
			continue
		}
		for j, v := range zr {
			p := float32(math.Exp(float64(v-zmax) - logSum))
			if probs != nil {
				probs[r*n+j] = p
			}
			if dz != nil {
				dz[r*n+j] = (p - yr[j]) * scale
			}
		}
	}
	return float32(total), correct
}
