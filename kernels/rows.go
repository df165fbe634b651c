package kernels

import "math"

// AddBias adds bias to every row of x (len(x) a multiple of len(bias)):
//
//	for r := 0; r < len(x)/n; r++ { for j := range bias { x[r*n+j] += bias[j] } }
func AddBias(x, bias []float32) {
	n := len(bias)
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		for j, b := range bias {
			row[j] += b
		}
	}
}

// SumRows accumulates the column sums of dy (rows of len(db)) into db, the
// bias gradient of a Dense layer:
//
//	for r := 0; r < len(dy)/n; r++ { for j := range db { db[j] += dy[r*n+j] } }
func SumRows(dy, db []float32) {
	n := len(db)
	for r := 0; r+n <= len(dy); r += n {
		row := dy[r : r+n]
		for j, v := range row {
			db[j] += v
		}
	}
}

// SoftmaxXent is the fused, stable softmax + categorical cross-entropy over
// rows×n logits with one-hot (or probability) targets y. It returns the sum
// over rows of −Σ_j y_j·log softmax(z)_j, and the number of rows whose
// argmax of z equals the argmax of y. When dz is non-nil it also writes the
// gradient dz = (softmax(z) − y)·scale (scale is 1/B for a batch mean).
// When probs is non-nil it receives softmax(z). dz and probs may alias z.
func SoftmaxXent(z, y []float32, rows, n int, scale float32, dz, probs []float32) (loss float32, correct int) {
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
