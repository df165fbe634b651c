// Package gauss is the standard normal distribution as Parzen estimators
// (sweeps/tpe, sweeps/importance) need it: Φ, its logarithm and the log of
// its mass over an interval, accurate in the tails, and draws from a
// truncated normal. A TPE kernel's σ can be 1/100 of the range, so a
// discrete value's interval can sit 100 σ from a kernel's mean, where Φ
// underflows. The case split follows SciPy's truncnorm (which Optuna's TPE
// uses): work in the left tail, where Φ is small and exact.
package gauss

import "math"

// LogSqrt2Pi is log √(2π), the log normalizer of the standard normal density.
var LogSqrt2Pi = 0.5 * math.Log(2*math.Pi)

// CDF is Φ(x).
func CDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// Quantile is Φ⁻¹(p) for p in (0, 1).
func Quantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// LogCDF is log Φ(x), by the asymptotic series of the Mills ratio
// below x = -20, where Φ(x) < 3e-89 loses digits to underflow.
func LogCDF(x float64) float64 {
	switch {
	case x > 6:
		return -CDF(-x) // log(1 - ε) = -ε to double precision
	case x > -20:
		return math.Log(CDF(x))
	}
	// Φ(x) = φ(x)/(-x) · (1 - 1/x² + 3/x⁴ - 15/x⁶ + …)
	sum, term := 1.0, 1.0
	inv2 := 1 / (x * x)
	for i := 1; i < 20; i++ {
		term *= -float64(2*i-1) * inv2
		if math.Abs(term) < 1e-17 {
			break
		}
		sum += term
	}
	return -0.5*x*x - math.Log(-x) - LogSqrt2Pi + math.Log(sum)
}

// LogMass is log(Φ(b) - Φ(a)) for a ≤ b.
func LogMass(a, b float64) float64 {
	switch {
	case b <= 0: // left tail: both Φ small
		lb, la := LogCDF(b), LogCDF(a)
		return lb + math.Log1p(-math.Exp(la-lb))
	case a > 0: // right tail: mirror into the left
		return LogMass(-b, -a)
	default: // a ≤ 0 < b: the mass is at least the complement of two small tails
		return math.Log1p(-CDF(a) - CDF(-b))
	}
}

// TruncNormal draws from the normal N(mu, sigma²) truncated to [lo, hi]
// by inverting the CDF at a uniform u in [0, 1).
func TruncNormal(u, mu, sigma, lo, hi float64) float64 {
	a, b := (lo-mu)/sigma, (hi-mu)/sigma
	flip := a > 0 // both bounds right of the mean: draw the mirror image from the left tail
	if flip {
		a, b = -b, -a
	}
	pa, pb := CDF(a), CDF(b)
	var z float64
	if pb > pa {
		z = Quantile(pa + (pb-pa)*u)
	} else { // an interval too far in the tail for Φ: uniform over it
		z = a + (b-a)*u
	}
	if math.IsNaN(z) || math.IsInf(z, 0) {
		z = a + (b-a)*u
	}
	z = min(max(z, a), b)
	if flip {
		z = -z
	}
	return min(max(mu+sigma*z, lo), hi)
}
