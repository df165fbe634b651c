package kernels

// L1L2Penalty returns l1·Σ|x| + l2·Σx², the Keras l1_l2 regularization term.
func L1L2Penalty(x []float32, l1, l2 float32) float32 {
	var s1, s2 float32
	for _, v := range x {
		if v < 0 {
			s1 -= v
		} else {
			s1 += v
		}
		s2 += v * v
	}
	return l1*s1 + l2*s2
}

// AddL1L2Grad adds the gradient of L1L2Penalty to g (d|x|/dx at 0 is 0):
//
//	for i := range x { g[i] += l1·sign(x[i]) + 2·l2·x[i] }
func AddL1L2Grad(x, g []float32, l1, l2 float32) {
	g = g[:len(x)]
	for i, v := range x {
		s := float32(0)
		if v > 0 {
			s = l1
		} else if v < 0 {
			s = -l1
		}
		g[i] += s + 2*l2*v
	}
}

// Mul multiplies x by mask elementwise, in place; with a dropout mask of
// 0 and 1/(1−rate) it is inverted dropout, forward and backward.
//
//	for i := range x { x[i] *= mask[i] }
func Mul(x, mask []float32) {
	mask = mask[:len(x)]
	for i := range x {
		x[i] *= mask[i]
	}
}
