package tpe

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/mlpsweep/mlpsweep/internal/gauss"
)

// parzen is a Parzen estimator over some of the space's parameters: a
// mixture of n+1 product kernels, one centred on each observation and a
// prior (uniform over choices, a normal as wide as the range centred on
// it). A kernel is a truncated normal for a real parameter (in log space
// for a log-uniform one), the same discretized to the integers' unit cells
// for an int, and a categorical distribution for a choice.
//
// Legend: N = observations, M = N+1 kernels (the last is the prior),
// D = parameters of the estimator, C = choices of a categorical.
type parzen struct {
	logW []float64 // [M] log mixture weights
	cumW []float64 // [M] cumulative mixture weights, for sampling
	dims []dimKernels
}

// dimKernels are the M kernels of one parameter.
type dimKernels struct {
	p Param
	// real and int parameters, in internal space (log for LogUniform)
	mu, sigma []float64 // [M]
	lo, hi    float64   // the truncation: the range, widened by half a unit for ints
	logZ      []float64 // [M] log mass of [lo, hi] under each kernel
	// choices
	logP [][]float64 // [M][C] log probabilities
	cumP [][]float64 // [M][C] cumulative probabilities
}

// internal maps an external value into the space the kernels live in.
func (p Param) internal(x float64) float64 {
	if p.Kind == LogUniform {
		return math.Log(x)
	}
	return x
}

// bounds are the kernels' truncation bounds in internal space.
func (p Param) bounds() (lo, hi float64) {
	switch p.Kind {
	case LogUniform:
		return math.Log(p.Low), math.Log(p.High)
	case Int:
		return p.Low - 0.5, p.High + 0.5
	}
	return p.Low, p.High
}

// newParzen fits an estimator to obs ([N][D] internal values of params)
// with the observations' weights w [N] (any positive scale).
func newParzen(params []Param, obs [][]float64, w []float64, o *Options) *parzen {
	n := len(obs)
	weights := []float64{1}
	if n > 0 {
		weights = append(slices.Clone(w), o.PriorWeight)
	}
	var total float64
	for _, x := range weights {
		total += x
	}
	pe := &parzen{logW: make([]float64, len(weights)), cumW: make([]float64, len(weights))}
	var cum float64
	for i, x := range weights {
		pe.logW[i] = math.Log(x / total)
		cum += x / total
		pe.cumW[i] = cum
	}
	pe.cumW[len(pe.cumW)-1] = 1
	col := make([]float64, n)
	for d, p := range params {
		for i := range obs {
			col[i] = obs[i][d]
		}
		if p.Kind == Choice {
			pe.dims = append(pe.dims, choiceKernels(p, col, o))
		} else {
			pe.dims = append(pe.dims, numericKernels(p, col, len(params), o))
		}
	}
	return pe
}

// choiceKernels puts, on each observation's row, weight 1 on the observed
// choice and prior/M on every choice; the prior's row is uniform.
func choiceKernels(p Param, col []float64, o *Options) dimKernels {
	k := dimKernels{p: p}
	m := len(col) + 1
	c := p.Choices
	rows := make([][]float64, 0, m)
	for i := range m {
		row := make([]float64, c)
		for j := range row {
			if len(col) == 0 {
				row[j] = 1
			} else {
				row[j] = o.PriorWeight / float64(m)
			}
		}
		if i < len(col) {
			row[int(col[i])]++
		}
		rows = append(rows, row)
		if len(col) == 0 {
			break
		}
	}
	for _, row := range rows {
		var sum float64
		for _, x := range row {
			sum += x
		}
		lp, cp := make([]float64, c), make([]float64, c)
		var cum float64
		for j, x := range row {
			lp[j] = math.Log(x / sum)
			cum += x / sum
			cp[j] = cum
		}
		cp[c-1] = 1
		k.logP = append(k.logP, lp)
		k.cumP = append(k.cumP, cp)
	}
	return k
}

// numericKernels centres a kernel on each observation with σ the larger
// gap to its sorted neighbours (the range's ends counting as neighbours
// when consider_endpoints, else the outermost take their inner gap), or
// Scott's σ for an estimator over d parameters, clipped to
// [range/min(100, 1+M), range] with the magic clip, and adds the prior
// N(mid, range²).
func numericKernels(p Param, col []float64, d int, o *Options) dimKernels {
	lo, hi := p.bounds()
	n := len(col)
	k := dimKernels{p: p, lo: lo, hi: hi, mu: make([]float64, n+1), sigma: make([]float64, n+1), logZ: make([]float64, n+1)}
	copy(k.mu, col)
	if n > 0 {
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(col[a], col[b]) })
		at := func(j int) float64 { // sorted observations with the ends at -1 and n
			switch j {
			case -1:
				return lo
			case n:
				return hi
			}
			return col[order[j]]
		}
		sorted := make([]float64, n)
		for j := range n {
			sorted[j] = max(at(j)-at(j-1), at(j+1)-at(j))
		}
		if !o.ConsiderEndpoints && n >= 2 {
			sorted[0] = at(1) - at(0)
			sorted[n-1] = at(n-1) - at(n-2)
		}
		if o.Bandwidth == Scott {
			s := 0.2 * math.Pow(float64(n), -1/float64(d+4)) * (hi - lo)
			for j := range sorted {
				sorted[j] = s
			}
		}
		minSigma := 1e-12
		if !o.NoMagicClip {
			minSigma = (hi - lo) / min(100, 1+float64(n+1))
		}
		for j, i := range order {
			k.sigma[i] = min(max(sorted[j], minSigma), hi-lo)
		}
	}
	k.mu[n], k.sigma[n] = 0.5*(lo+hi), hi-lo
	for i := range k.mu {
		k.logZ[i] = gauss.LogMass((lo-k.mu[i])/k.sigma[i], (hi-k.mu[i])/k.sigma[i])
	}
	return k
}

// sample draws one point (external values, [D]) into x.
func (pe *parzen) sample(rng *rand.Rand, x []float64) {
	c := pick(pe.cumW, rng.Float64())
	for d, k := range pe.dims {
		if k.p.Kind == Choice {
			x[d] = float64(pick(k.cumP[c], rng.Float64()))
			continue
		}
		v := gauss.TruncNormal(rng.Float64(), k.mu[c], k.sigma[c], k.lo, k.hi)
		switch k.p.Kind {
		case LogUniform:
			v = math.Exp(v)
		case Int:
			v = math.Round(v)
		}
		x[d] = min(max(v, k.p.Low), k.p.High)
	}
}

// pick is the first index whose cumulative probability is at least u.
func pick(cum []float64, u float64) int {
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

// logPDF is the log density of the point x (external values, [D]) under
// the mixture; for ints the log probability of x's unit cell.
func (pe *parzen) logPDF(x []float64) float64 {
	best := math.Inf(-1)
	terms := make([]float64, len(pe.logW))
	for c, lw := range pe.logW {
		t := lw
		for d, k := range pe.dims {
			switch k.p.Kind {
			case Choice:
				t += k.logP[c][int(x[d])]
			case Int:
				mu, s := k.mu[c], k.sigma[c]
				t += gauss.LogMass((x[d]-0.5-mu)/s, (x[d]+0.5-mu)/s) - k.logZ[c]
			default:
				z := (k.p.internal(x[d]) - k.mu[c]) / k.sigma[c]
				t += -0.5*z*z - gauss.LogSqrt2Pi - math.Log(k.sigma[c]) - k.logZ[c]
			}
		}
		terms[c] = t
		best = max(best, t)
	}
	if math.IsInf(best, -1) {
		return best
	}
	var sum float64
	for _, t := range terms {
		sum += math.Exp(t - best)
	}
	return best + math.Log(sum)
}
