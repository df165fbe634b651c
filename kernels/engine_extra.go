package kernels

import "math"

// Softmax replaces each of the rows rows of z (rows×n) by its softmax, in
// the stable form (the row maximum subtracted first), as SoftmaxXent's probs:
//
//	for r := 0; r < rows; r++ {
//		zr := z[r*n : r*n+n]
//		s := Σ_j exp(zr[j] − max(zr))
//		for j := range zr { zr[j] = exp(zr[j] − max(zr)) / s }
//	}
func Softmax(z []float32, rows, n int) {
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
