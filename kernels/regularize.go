package kernels

// L1L2Penalty returns l1·Σ|x| + l2·Σx², the Keras l1_l2 regularization term.
// The vector paths sum in 2·width float32 lanes, the Go twin in one; both
// are within n·2⁻²⁴ relative of the exact sums.
func L1L2Penalty(x []float32, l1, l2 float32) float32 {
	var abs, sq float32
	if v := vectorPath(); v != nil {
		abs, sq = v.absSqSum(x)
	} else {
		abs, sq = absSqSumGeneric(x)
	}
	return l1*abs + l2*sq
}

// absSqSumGeneric is the Go twin of the absSqSum kernels:
//
//	for _, v := range x { abs += |v|; sq += v * v }
func absSqSumGeneric(x []float32) (abs, sq float32) {
	for _, v := range x {
		if v < 0 {
			abs -= v
		} else {
			abs += v
		}
		sq += v * v
	}
	return abs, sq
}

// AddL1L2Grad adds the gradient of L1L2Penalty to g (d|x|/dx at 0 is 0):
//
//	for i := range x { g[i] += l1·sign(x[i]) + 2·l2·x[i] }
func AddL1L2Grad(x, g []float32, l1, l2 float32) {
	g = g[:len(x)]
	if v := vectorPath(); v != nil {
		v.addL1L2Grad(x, g, l1, 2*l2)
		return
	}
	addL1L2GradGeneric(x, g, l1, 2*l2)
}

// addL1L2GradGeneric is the Go twin of the addL1L2Grad kernels:
//
//	for i, v := range x {
//		s := float32(0)
//		if v > 0 { s = l1 } else if v < 0 { s = -l1 }
//		g[i] += s + twoL2*v
//	}
func addL1L2GradGeneric(x, g []float32, l1, twoL2 float32) {
	g = g[:len(x)]
	for i, v := range x {
		s := float32(0)
		if v > 0 {
			s = l1
		} else if v < 0 {
			s = -l1
		}
		g[i] += s + twoL2*v
	}
}

// Mul multiplies x by mask elementwise, in place; with a dropout mask of
// 0 and 1/(1−rate) it is inverted dropout, forward and backward.
//
//	for i := range x { x[i] *= mask[i] }
func Mul(x, mask []float32) {
	mask = mask[:len(x)]
	if v := vectorPath(); v != nil {
		v.mul(x, mask)
		return
	}
	mulGeneric(x, mask)
}

// mulGeneric is the Go twin of the mul kernels:
//
//	for i := range x { x[i] *= mask[i] }
func mulGeneric(x, mask []float32) {
	mask = mask[:len(x)]
	for i := range x {
		x[i] *= mask[i]
	}
}
