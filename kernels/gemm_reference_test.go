package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// sgemmRef64 is the plain triple loop that defines Sgemm, in float64:
// ref = alpha·op(A)·op(B) + beta·C (C not read when beta = 0), and bound,
// per element, the magnitude |alpha|·Σ|a||b| + |beta·c| that float32
// rounding errors scale with.
func sgemmRef64(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (ref, bound []float64) {
	ref = make([]float64, m*n)   // [m×n]
	bound = make([]float64, m*n) // [m×n]
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum, mag float64
			for p := 0; p < k; p++ {
				ai, bj := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bj = j*ldb + p
				}
				aip, bpj := a[ai], b[bj]
				sum += float64(aip) * float64(bpj)
				mag += math.Abs(float64(aip) * float64(bpj))
			}
			r, e := float64(alpha)*sum, math.Abs(float64(alpha))*mag
			if beta != 0 {
				cij := float64(beta) * float64(c[i*ldc+j])
				r += cij
				e += math.Abs(cij)
			}
			ref[i*n+j], bound[i*n+j] = r, e
		}
	}
	return ref, bound
}

// gemmTolerance is the allowed |got − ref| of one element relative to its
// bound: a k-term float32 dot product plus the alpha and beta roundings,
// u·(k+2) with u = 2⁻²⁴, doubled for slack. The fast paths block k and use
// FMA, which only tightens the classical bound.
func gemmTolerance(k int) float64 { return 2 * float64(k+2) * 0x1p-24 }

// sentinel marks guard bands: a NaN with a payload no computation yields.
var sentinel = math.Float32frombits(0x7fc0dead)

// guardBand is the number of sentinels before and after each matrix.
const guardBand = 37

// guarded is a rows×cols row-major matrix with leading dimension ld inside a
// buffer of sentinels: guard bands before and after, and the ld−cols tail of
// every row. data is exactly the slice BLAS may touch (capacity too), so a
// Go path that overreaches panics and an asm path that does breaks a guard.
type guarded struct {
	buf            []float32
	data           []float32
	rows, cols, ld int
}

func newGuarded(rows, cols, ld int) *guarded {
	size := 0
	if rows > 0 && cols > 0 {
		size = (rows-1)*ld + cols
	}
	g := &guarded{buf: make([]float32, guardBand+size+guardBand), rows: rows, cols: cols, ld: ld}
	for i := range g.buf {
		g.buf[i] = sentinel
	}
	g.data = g.buf[guardBand : guardBand+size : guardBand+size]
	return g
}

// fill sets every element from f.
func (g *guarded) fill(f func() float32) {
	for i := 0; i < g.rows; i++ {
		for j := 0; j < g.cols; j++ {
			g.data[i*g.ld+j] = f()
		}
	}
}

// inside reports whether buf index x is an element of the matrix.
func (g *guarded) inside(x int) bool {
	x -= guardBand
	return x >= 0 && x < len(g.data) && x%g.ld < g.cols
}

// checkGuards reports the first sentinel that changed.
func (g *guarded) checkGuards(name string) error {
	for x, v := range g.buf {
		if !g.inside(x) && math.Float32bits(v) != math.Float32bits(sentinel) {
			return fmt.Errorf("%s: guard at buffer index %d (matrix offset %d) overwritten with %v", name, x, x-guardBand, v)
		}
	}
	return nil
}

// clone returns a copy of the whole buffer, guards included.
func (g *guarded) clone() []float32 { return append([]float32(nil), g.buf...) }

// uniform returns values uniform in [-1, 1) from r.
func uniform(r *rand.Rand) func() float32 {
	return func() float32 { return float32(r.Float64()*2 - 1) }
}
