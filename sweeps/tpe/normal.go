package tpe

import "math"

// The standard normal's CDF, its logarithm and the log of its mass over an
// interval, accurate in the tails: a kernel σ is at least 1/100 of the
// range, so a discrete value's interval can sit 100 σ from a kernel's mean,
// where Φ underflows. The case split follows SciPy's truncnorm (which
// Optuna's TPE uses): work in the left tail, where Φ is small and exact.

var logSqrt2Pi = 0.5 * math.Log(2*math.Pi)

// normCDF is Φ(x).
func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// normQuantile is Φ⁻¹(p) for p in (0, 1).
func normQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// logNormCDF is log Φ(x), by the asymptotic series of the Mills ratio
// below x = -20, where Φ(x) < 3e-89 loses digits to underflow.
func logNormCDF(x float64) float64 {
	switch {
	case x > 6:
		return -normCDF(-x) // log(1 - ε) = -ε to double precision
	case x > -20:
		return math.Log(normCDF(x))
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
	return -0.5*x*x - math.Log(-x) - logSqrt2Pi + math.Log(sum)
}

// logNormMass is log(Φ(b) - Φ(a)) for a ≤ b.
func logNormMass(a, b float64) float64 {
	switch {
	case b <= 0: // left tail: both Φ small
		lb, la := logNormCDF(b), logNormCDF(a)
		return lb + math.Log1p(-math.Exp(la-lb))
	case a > 0: // right tail: mirror into the left
		return logNormMass(-b, -a)
	default: // a ≤ 0 < b: the mass is at least the complement of two small tails
		return math.Log1p(-normCDF(a) - normCDF(-b))
	}
}

// truncNormal draws from the normal N(mu, sigma²) truncated to [lo, hi]
// by inverting the CDF at a uniform u in [0, 1).
func truncNormal(u, mu, sigma, lo, hi float64) float64 {
	a, b := (lo-mu)/sigma, (hi-mu)/sigma
	flip := a > 0 // both bounds right of the mean: draw the mirror image from the left tail
	if flip {
		a, b = -b, -a
	}
	pa, pb := normCDF(a), normCDF(b)
	var z float64
	if pb > pa {
		z = normQuantile(pa + (pb-pa)*u)
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
