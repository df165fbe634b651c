package engine

import (
	"math"
	"math/rand/v2"
)

// truncatedStddevScale is the standard deviation of a unit normal truncated
// to ±2σ; Keras divides its VarianceScaling σ by it so that the truncated
// draws keep the intended variance.
const truncatedStddevScale = 0.87962566103423978

// initKernel fills w [fanIn×fanOut] with the Keras initializer name
// (canonical, see Initializers), drawing from r. Biases are zeros (Keras
// Dense default) and need no call.
//
//	glorot_uniform  U(±√(6/(fanIn+fanOut)))
//	glorot_normal   TN(σ = √(2/(fanIn+fanOut))/0.8796…)
//	he_uniform      U(±√(6/fanIn))
//	he_normal       TN(σ = √(2/fanIn)/0.8796…)
//	lecun_uniform   U(±√(3/fanIn))
//	lecun_normal    TN(σ = √(1/fanIn)/0.8796…)
//	random_uniform  U(±0.05)
//	random_normal   N(σ = 0.05), not truncated
//	zeros           0
//
// TN is a normal truncated at 2σ (draws beyond are redrawn).
func initKernel(name string, w []float32, fanIn, fanOut int, r *rand.Rand) {
	fanAvg := float64(fanIn+fanOut) / 2
	in := float64(fanIn)
	switch name {
	case "glorot_uniform":
		fillUniform(w, math.Sqrt(3/fanAvg), r)
	case "glorot_normal":
		fillTruncatedNormal(w, math.Sqrt(1/fanAvg)/truncatedStddevScale, r)
	case "he_uniform":
		fillUniform(w, math.Sqrt(6/in), r)
	case "he_normal":
		fillTruncatedNormal(w, math.Sqrt(2/in)/truncatedStddevScale, r)
	case "lecun_uniform":
		fillUniform(w, math.Sqrt(3/in), r)
	case "lecun_normal":
		fillTruncatedNormal(w, math.Sqrt(1/in)/truncatedStddevScale, r)
	case "random_uniform":
		fillUniform(w, 0.05, r)
	case "random_normal":
		for i := range w {
			w[i] = float32(0.05 * r.NormFloat64())
		}
	case "zeros":
		clear(w)
	default:
		panic("engine: initializer " + name + " passed Config.Normalize but is not implemented")
	}
}

// fillUniform draws w from U[−limit, limit).
func fillUniform(w []float32, limit float64, r *rand.Rand) {
	for i := range w {
		w[i] = float32((2*r.Float64() - 1) * limit)
	}
}

// fillTruncatedNormal draws w from N(0, σ²), redrawing beyond ±2σ.
func fillTruncatedNormal(w []float32, sigma float64, r *rand.Rand) {
	for i := range w {
		z := r.NormFloat64()
		for math.Abs(z) > 2 {
			z = r.NormFloat64()
		}
		w[i] = float32(sigma * z)
	}
}
