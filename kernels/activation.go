package kernels

import "math"

// Activation names an elementwise activation function.
type Activation uint8

const (
	Linear  Activation = iota // f(x) = x
	ReLU                      // f(x) = max(x, 0)
	Tanh                      // f(x) = tanh(x)
	Sigmoid                   // f(x) = 1/(1+e^-x)
	ELU                       // f(x) = x if x > 0 else e^x − 1 (α = 1)
	SELU                      // f(x) = scale·(x if x > 0 else α(e^x − 1))
)

// SELU constants, as in Keras.
const (
	SELUAlpha = 1.6732632423543772848170429916717
	SELUScale = 1.0507009873554804934193349852946
)

// ActForward applies act in place:
//
//	for i := range x { x[i] = f(x[i]) }
//
// The vector paths compute tanh, sigmoid, ELU and SELU with a float32 exp
// (see the kernel docs) within a few ulp of the float64 reference loops.
func ActForward(act Activation, x []float32) {
	if v := vectorPath(); v != nil && int(act) < len(v.forward) && v.forward[act] != nil {
		v.forward[act](x)
		return
	}
	actForwardGeneric(act, x)
}

// actForwardGeneric is the Go twin of the forward activation kernels; each
// case is the reference loop of one of them.
func actForwardGeneric(act Activation, x []float32) {
	switch act {
	case Linear:
	case ReLU:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	case Tanh:
		for i, v := range x {
			x[i] = float32(math.Tanh(float64(v)))
		}
	case Sigmoid:
		for i, v := range x {
			x[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case ELU:
		for i, v := range x {
			if v <= 0 {
				x[i] = float32(math.Expm1(float64(v)))
			}
		}
	case SELU:
		for i, v := range x {
			if v > 0 {
				x[i] = SELUScale * v
			} else {
				x[i] = float32(SELUScale * SELUAlpha * math.Expm1(float64(v)))
			}
		}
	default:
		panic("kernels: unknown activation")
	}
}

// ActBackward computes dx = dy·f'(x), with f' written through the output
// y = f(x) (every supported f is monotone with f(x) > 0 ⇔ x > 0), so the
// forward pass keeps only its outputs. dx may alias dy.
//
//	relu: dy·[y>0]   tanh: dy·(1−y²)   sigmoid: dy·y(1−y)
//	elu:  dy·(1 if y>0 else y+1)       selu: dy·(scale if y>0 else y+scale·α)
func ActBackward(act Activation, y, dy, dx []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	if v := vectorPath(); v != nil && int(act) < len(v.backward) && v.backward[act] != nil {
		v.backward[act](y, dy, dx)
		return
	}
	actBackwardGeneric(act, y, dy, dx)
}

// actBackwardGeneric is the Go twin of the backward activation kernels
// (len(dy), len(dx) ≥ len(y)); each case is the reference loop of one.
func actBackwardGeneric(act Activation, y, dy, dx []float32) {
	switch act {
	case Linear:
		copy(dx, dy[:len(y)])
	case ReLU:
		for i, v := range y {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	case Tanh:
		for i, v := range y {
			dx[i] = dy[i] * (1 - v*v)
		}
	case Sigmoid:
		for i, v := range y {
			dx[i] = dy[i] * v * (1 - v)
		}
	case ELU:
		for i, v := range y {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = dy[i] * (v + 1)
			}
		}
	case SELU:
		for i, v := range y {
			if v > 0 {
				dx[i] = dy[i] * SELUScale
			} else {
				dx[i] = dy[i] * (v + SELUScale*SELUAlpha)
			}
		}
	default:
		panic("kernels: unknown activation")
	}
}
