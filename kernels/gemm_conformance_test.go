package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmBackend is one implementation the conformance suite checks: each ISA
// path of the BLIS GEMM this CPU and build can run, and OpenBLAS under
// -tags netlib. Run the suite with -tags purego for the purego build.
type gemmBackend struct {
	name  string
	sgemm func(ctx *Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

func gemmBackends() []gemmBackend {
	var backends []gemmBackend
	for isa := Generic; isa <= DetectedISA(); isa++ {
		backends = append(backends, gemmBackend{isa.String(),
			func(ctx *Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				defer withISA(isa)()
				ctx.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, Linear, false)
			}})
	}
	if DetectedISA() >= AVX512 && narrowKernels[1] != nil {
		backends = append(backends, gemmBackend{"avx512-narrow",
			func(ctx *Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				defer withISA(AVX512)()
				defer useNarrow(narrowMaxN, narrowKernels)()
				ctx.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, Linear, false)
			}})
	}
	if netlibSgemm != nil {
		backends = append(backends, gemmBackend{"openblas", onBackend(OpenBLAS)})
	}
	return backends
}

// useNarrow puts the narrow kernels ks in force up to n columns and
// returns the function restoring the previous ones.
func useNarrow(n int, ks [narrowMaxN + 1]narrowKernel) (restore func()) {
	prevN, prevKs := narrowN, narrowKernels
	narrowN, narrowKernels = n, ks
	return func() { narrowN, narrowKernels = prevN, prevKs }
}

// onBackend returns Context.Sgemm run on GEMM backend be.
func onBackend(be GEMMBackend) func(ctx *Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	return func(ctx *Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if err := ctx.SetBackend(be); err != nil {
			panic(err)
		}
		ctx.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// withISA switches the kernels to isa and returns the function restoring
// the previous path.
func withISA(isa ISA) (restore func()) {
	prev := ActiveISA()
	if err := SetISA(isa); err != nil {
		panic(err)
	}
	return func() { SetISA(prev) }
}

// gemmCase is one conformance problem.
type gemmCase struct {
	transA, transB   bool
	m, n, k          int
	alpha, beta      float32
	padA, padB, padC int  // leading dimension minus stored row length
	nanC             bool // C starts as NaN (beta must be 0: C not read)
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("%s%s/m%dn%dk%d/alpha%g/beta%g/pad%d,%d,%d/nanC=%v",
		transLetter(tc.transA), transLetter(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC, tc.nanC)
}

// gemmProblem is a case with its operands drawn and its reference
// computed, ready to be checked on every backend.
type gemmProblem struct {
	gemmCase
	a, b       *guarded
	c0         []float32 // C's buffer, guards included, before the call
	ldc        int
	ref, bound []float64 // [m×n] float64 result and its error scale
}

// problem draws A, B and C from r (C NaN when tc.nanC) inside guard bands.
func (tc gemmCase) problem(r *rand.Rand) *gemmProblem {
	aRows, aCols := tc.m, tc.k
	if tc.transA {
		aRows, aCols = tc.k, tc.m
	}
	bRows, bCols := tc.k, tc.n
	if tc.transB {
		bRows, bCols = tc.n, tc.k
	}
	p := &gemmProblem{gemmCase: tc,
		a: newGuarded(aRows, aCols, max(1, aCols+tc.padA)),
		b: newGuarded(bRows, bCols, max(1, bCols+tc.padB)),
	}
	p.a.fill(uniform(r))
	p.b.fill(uniform(r))
	c := newGuarded(tc.m, tc.n, max(1, tc.n+tc.padC))
	if tc.nanC {
		c.fill(func() float32 { return float32(math.NaN()) })
	} else {
		c.fill(uniform(r))
	}
	p.c0, p.ldc = c.buf, c.ld
	p.ref, p.bound = sgemmRef64(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, p.a.data, p.a.ld, p.b.data, p.b.ld, tc.beta, c.data, c.ld)
	return p
}

// check runs one backend on p: C must match the float64 reference within
// gemmTolerance, A and B stay unchanged, all guards intact.
func (p *gemmProblem) check(be gemmBackend, ctx *Context) error {
	c := newGuarded(p.m, p.n, p.ldc)
	copy(c.buf, p.c0)
	a0, b0 := p.a.clone(), p.b.clone()
	be.sgemm(ctx, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a.data, p.a.ld, p.b.data, p.b.ld, p.beta, c.data, c.ld)
	tol := gemmTolerance(p.k)
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.n; j++ {
			got, want, e := float64(c.data[i*c.ld+j]), p.ref[i*p.n+j], tol*p.bound[i*p.n+j]
			if !(math.Abs(got-want) <= e) {
				return fmt.Errorf("C[%d,%d] = %v, want %v ± %.3g", i, j, got, want, e)
			}
		}
	}
	for _, x := range []struct {
		name   string
		g      *guarded
		before []float32
	}{{"A", p.a, a0}, {"B", p.b, b0}} {
		for i, v := range x.g.buf {
			if math.Float32bits(v) != math.Float32bits(x.before[i]) {
				return fmt.Errorf("%s modified at buffer index %d", x.name, i)
			}
		}
	}
	return c.checkGuards("C")
}

// conformanceCases lists the shapes every backend must get right: tiny and
// prime sizes, both sides of every ISA's MR, NR, KC, MC and NC, all four
// transpose combinations, padded leading dimensions, special alpha and beta
// (with NaN-filled C for beta = 0), and a few large problems.
func conformanceCases(short bool) []gemmCase {
	r := rand.New(rand.NewPCG(1, 2))
	alphas := []float32{1, 0, -1, 0.7, 2.5}
	betas := []float32{0, 1, -1, 0.3, 0}
	var cases []gemmCase
	addTrans := func(tr, m, n, k int) { // tr: bit 0 transA, bit 1 transB
		tc := gemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: m, n: n, k: k,
			alpha: alphas[len(cases)%len(alphas)], beta: betas[len(cases)/len(alphas)%len(betas)],
			padA: r.IntN(4), padB: r.IntN(4), padC: r.IntN(4)}
		tc.nanC = tc.beta == 0 && len(cases)%2 == 0
		cases = append(cases, tc)
	}
	add := func(m, n, k int) {
		for tr := 0; tr < 4; tr++ {
			addTrans(tr, m, n, k)
		}
	}
	pick := func(xs []int) int { return xs[r.IntN(len(xs))] }
	small := []int{1, 2, 3, 5, 7}
	for _, m := range small {
		for _, n := range small {
			for _, k := range small {
				add(m, n, k)
			}
		}
	}
	add(0, 5, 3)
	add(4, 0, 3)
	add(4, 5, 0)
	tileM := []int{3, 4, 5, 6, 7, 8, 11, 12, 13, 20, 23, 25}      // around MR 4, 6, 12 and the 8- and 4-row AVX-512 edges
	tileN := []int{3, 4, 5, 15, 16, 17, 31, 32, 33, 47, 65}       // around NR 4, 16, 32
	depth := []int{1, 8, 17, 255, 256, 257, 511, 513, 1023, 1025} // around KC 256 and 1024
	for i := 0; i < 150; i++ {
		add(pick(tileM), pick(tileN), pick(depth))
	}
	for i := 0; i < 40; i++ { // MC 128, 168, 480
		add(pick([]int{127, 128, 129, 167, 168, 169, 479, 480, 481}), pick(tileN), pick([]int{7, 64, 257}))
	}
	add(5, 4097, 9)  // NC 4096
	add(13, 4081, 3) // NC 4080
	add(3, 6145, 2)  // NC 6144
	for i := 0; i < 60; i++ {
		add(1+r.IntN(200), 1+r.IntN(200), 1+r.IntN(300))
	}
	addTrans(0, 1000, 700, 31)
	addTrans(1, 1500, 37, 600)
	addTrans(2, 29, 1499, 513)
	if !short {
		addTrans(3, 1024, 1024, 64)
		addTrans(0, 611, 1013, 257)
	}
	return cases
}

// TestSgemmConformance runs every case on every backend, single-threaded.
func TestSgemmConformance(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var problems []*gemmProblem
	for _, tc := range conformanceCases(testing.Short()) {
		problems = append(problems, tc.problem(r))
	}
	for _, be := range gemmBackends() {
		t.Run(be.name, func(t *testing.T) {
			ctx := NewContext(1)
			fails := 0
			for _, p := range problems {
				if err := p.check(be, ctx); err != nil {
					t.Errorf("%v: %v", p.gemmCase, err)
					if fails++; fails == 10 {
						t.Fatal("too many failures")
					}
				}
			}
		})
	}
}
