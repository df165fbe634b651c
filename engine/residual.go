package engine

// Skip connections (cfg.Residual) on the hidden layers l ≥ 2 as wide as
// the layer before (H_l = H_{l−1}) add the layer's input to its output,
// after the activation and dropout:
//
//	a_l = a_{l−1} + dropout(act(a_{l−1}·W_l + b_l))     [B×H_l]
//
// (with batch norm, act(BN(…))), so that ∂a_l/∂a_{l−1} = I + (the branch's
// Jacobian): the gradient reaches a_{l−1} undiminished through the
// identity, however small the branch's share. The activity regularizer
// sees the branch's output act(…), not the sum.

// residualForward adds the skip connection: a += prev, both [n].
func residualForward(prev, a []float32) {
	for i, v := range prev[:len(a)] {
		a[i] += v
	}
}

// residualBackward starts the gradient w.r.t. the skip connection's input
// a_{l−1} with the identity path's share: dprev = da, both [n]. The
// branch's share is added by the layer's denseBackward (dx += dz·Wᵀ).
func residualBackward(da, dprev []float32) {
	copy(dprev, da)
}
