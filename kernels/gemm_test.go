package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSgemmBiasAct checks the fused epilogue on every ISA path (and
// OpenBLAS plus a separate pass under -tags netlib): C = act(op(A)·op(B) +
// bias) against the float64 product, with and without bias, over shapes
// with edge tiles and several k-blocks.
func TestSgemmBiasAct(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var backends []string
	for isa := Generic; isa <= DetectedISA(); isa++ {
		backends = append(backends, isa.String())
	}
	if netlibSgemm != nil {
		backends = append(backends, OpenBLAS.String())
	}
	for _, name := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := NewContext(1)
			if isa, err := ParseISA(name); err == nil {
				defer withISA(isa)()
				ctx.SetBackend(BLIS)
			} else if err := ctx.SetBackend(OpenBLAS); err != nil {
				t.Fatal(err)
			}
			for _, s := range []GEMMShape{{M: 13, N: 37, K: 300}, {M: 128, N: 10, K: 128}, {M: 7, N: 65, K: 5, TransA: true, TransB: true}} {
				for act := Linear; act <= SELU; act++ {
					for _, withBias := range []bool{true, false} {
						tc := gemmCase{transA: s.TransA, transB: s.TransB, m: s.M, n: s.N, k: s.K, alpha: 1, nanC: true, padC: 2}
						p := tc.problem(r)
						var bias []float32
						if withBias {
							bias = make([]float32, s.N)
							for j := range bias {
								bias[j] = float32(r.Float64()*4 - 2)
							}
						}
						c := newGuarded(s.M, s.N, p.ldc)
						copy(c.buf, p.c0)
						ctx.SgemmBiasAct(s.TransA, s.TransB, s.M, s.N, s.K, p.a.data, p.a.ld, p.b.data, p.b.ld, bias, act, c.data, c.ld)
						want := make([]float32, s.N) // one row of act(ref + bias)
						for i := 0; i < s.M; i++ {
							for j := range want {
								want[j] = float32(p.ref[i*s.N+j])
								if bias != nil {
									want[j] += bias[j]
								}
							}
							ActForward(act, want)
							for j, w := range want {
								// act is at most 2-Lipschitz (SELU's slope is ≤ 1.76).
								e := 2*gemmTolerance(s.K)*p.bound[i*s.N+j] + 1e-6*(1+math.Abs(float64(w)))
								if got := c.data[i*c.ld+j]; !(math.Abs(float64(got-w)) <= e) {
									t.Fatalf("%v act %d bias %v: C[%d,%d] = %v, want %v ± %.3g", s, act, withBias, i, j, got, w, e)
								}
							}
						}
						if err := c.checkGuards("C"); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		})
	}
}

// TestSgemmThreads checks that splitting C over threads (by columns and by
// rows) gives the single-threaded result bit for bit, on every ISA path.
func TestSgemmThreads(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for isa := Generic; isa <= DetectedISA(); isa++ {
		t.Run(isa.String(), func(t *testing.T) {
			defer withISA(isa)()
			for _, tc := range []gemmCase{
				{m: 150, n: 300, k: 290, alpha: 1, beta: 0.5},             // column split
				{m: 301, n: 70, k: 261, alpha: -1, beta: 0, transA: true}, // row split
				{m: 97, n: 203, k: 301, alpha: 2, beta: 1, transB: true},  // column split, 3 threads
			} {
				p := tc.problem(r)
				var results [][]float32
				for _, threads := range []int{1, 2, 3} {
					c := newGuarded(tc.m, tc.n, p.ldc)
					copy(c.buf, p.c0)
					ctx := NewContext(threads)
					ctx.sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, p.a.data, p.a.ld, p.b.data, p.b.ld, tc.beta, c.data, c.ld, nil, Linear, false)
					if ctx.call.parts != 0 {
						t.Fatal("call state not cleared")
					}
					results = append(results, c.buf)
				}
				for i, res := range results[1:] {
					for x := range res {
						if math.Float32bits(res[x]) != math.Float32bits(results[0][x]) {
							t.Fatalf("%v: %d threads differ from 1 at buffer index %d: %v vs %v", tc, i+2, x, res[x], results[0][x])
						}
					}
				}
				if err := p.check(gemmBackend{"threads", func(_ *Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
					NewContext(2).sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, Linear, false)
				}}, nil); err != nil {
					t.Fatalf("%v: %v", tc, err)
				}
			}
		})
	}
}

// TestSgemmPlanSplits checks that the test shapes above do run split.
func TestSgemmPlanSplits(t *testing.T) {
	for _, c := range []struct {
		m, n, k, threads int
		parts            int
		rows             bool
	}{
		{150, 300, 290, 2, 2, false},
		{301, 70, 261, 2, 2, true},
		{97, 203, 301, 3, 3, false},
		{128, 10, 128, 2, 1, false}, // too small to pay
	} {
		g := gemm{m: c.m, n: c.n, k: c.k, blocks: blockTable[Generic]}
		g.plan(c.threads)
		if g.parts != c.parts || g.parts > 1 && g.splitRows != c.rows {
			t.Errorf("%dx%dx%d on %d threads: %d parts (rows %v), want %d (rows %v)", c.m, c.n, c.k, c.threads, g.parts, g.splitRows, c.parts, c.rows)
		}
	}
}

// TestSgemmAllocs checks that a warm Context allocates nothing per call,
// single- and multi-threaded.
func TestSgemmAllocs(t *testing.T) {
	a := make([]float32, 300*300)
	b := make([]float32, 300*300)
	c := make([]float32, 300*300)
	bias := make([]float32, 300)
	for _, threads := range []int{1, 2} {
		ctx := NewContext(threads)
		ctx.SetBackend(BLIS)
		for _, f := range []func(){
			func() { ctx.Sgemm(false, false, 200, 300, 250, 1, a, 250, b, 300, 0, c, 300) },
			func() { ctx.Sgemm(true, true, 300, 100, 250, 1, a, 300, b, 250, 1, c, 100) },
			func() { ctx.SgemmBiasAct(false, false, 128, 128, 300, a, 300, b, 128, bias, ReLU, c, 128) },
		} {
			f() // warm: size the workspaces, start the helpers
			if n := testing.AllocsPerRun(10, f); n != 0 {
				t.Errorf("%d threads: %v allocations per call, want 0", threads, n)
			}
		}
	}
	if raceEnabled {
		return // the package-level Sgemm's Context pool drops Contexts at random
	}
	if n := testing.AllocsPerRun(10, func() { Sgemm(false, false, 20, 30, 40, 1, a, 40, b, 30, 0, c, 30) }); n != 0 {
		t.Errorf("package-level Sgemm: %v allocations per call, want 0", n)
	}
}

// TestSgemmBadArguments checks that invalid calls fail with a message
// naming the problem instead of reading or writing out of bounds.
func TestSgemmBadArguments(t *testing.T) {
	x := make([]float32, 100)
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, x, 2, x, 2, 0, x, 2) }, "negative size"},
		{"lda < k", func() { Sgemm(false, false, 2, 2, 3, 1, x, 2, x, 2, 0, x, 2) }, "ldA=2"},
		{"ldb < n (transB: k)", func() { Sgemm(false, true, 2, 2, 3, 1, x, 3, x, 2, 0, x, 2) }, "ldB=2"},
		{"ldc < n", func() { Sgemm(false, false, 2, 5, 2, 1, x, 2, x, 5, 0, x, 4) }, "ldC=4"},
		{"short a", func() { Sgemm(true, false, 10, 10, 11, 1, x, 10, x, 10, 0, x, 10) }, "len(A)=100"},
		{"short c", func() { Sgemm(false, false, 11, 10, 2, 1, x, 2, x, 10, 0, x, 10) }, "len(C)=100"},
		{"short bias", func() { NewContext(1).SgemmBiasAct(false, false, 2, 3, 2, x, 2, x, 3, x[:2], ReLU, x, 3) }, "len(bias)=2"},
	} {
		func() {
			defer func() {
				err, _ := recover().(error)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
				}
			}()
			c.call()
		}()
	}
	Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1) // empty: fine
}

// TestContextHelpers checks the persistent pool: a parallel call starts
// threads−1 helpers once, later calls reuse them, and SetThreads ends them.
// It inspects the pool rather than counting goroutines, which the helpers
// of other tests' collected Contexts change at any time.
func TestContextHelpers(t *testing.T) {
	a, c := make([]float32, 300*300), make([]float32, 300*300)
	ctx := NewContext(3)
	ctx.SetBackend(BLIS) // the helpers are the BLIS GEMM's
	ctx.Sgemm(false, false, 300, 300, 300, 1, a, 300, a, 300, 0, c, 300)
	p := ctx.pool
	if p == nil || len(p.jobs) != 2 {
		t.Fatalf("after a parallel call on 3 threads: pool %+v, want 2 helpers", p)
	}
	for i := 0; i < 2; i++ {
		ctx.Sgemm(false, false, 300, 300, 300, 1, a, 300, a, 300, 0, c, 300)
	}
	if ctx.pool != p {
		t.Fatal("a later call started a new pool")
	}
	ctx.SetThreads(1)
	if ctx.pool != nil {
		t.Fatal("SetThreads(1) kept the pool")
	}
	for h, jobs := range p.jobs {
		select {
		case _, open := <-jobs:
			if !open {
				continue
			}
		default:
		}
		t.Fatalf("helper %d's job channel still open after SetThreads(1)", h)
	}
}

// TestSgemmColumnsIndependentOfN checks, on every ISA path, that each
// column of C comes out bit for bit the same whatever the width of the
// product it is computed in: a wide product (1 and 2 threads; its loop
// order, packing and passes depend on n) against products of 1 and 5
// columns of it. Fused training relies on this: every output column sums
// along k in one order, whatever the GEMM's width.
func TestSgemmColumnsIndependentOfN(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	shapes := []GEMMShape{
		{M: 37, N: 1100, K: 300}, {M: 37, N: 1100, K: 300, TransA: true},
		{M: 37, N: 1100, K: 300, TransB: true}, {M: 37, N: 1100, K: 300, TransA: true, TransB: true},
		{M: 600, N: 1100, K: 130, TransA: true}, // more rows than MC
		{M: 128, N: 300, K: 2000},               // op(A) too deep to stay in L2
	}
	if !testing.Short() {
		shapes = append(shapes, GEMMShape{M: 128, N: 4224, K: 784})
	}
	for isa := Generic; isa <= DetectedISA(); isa++ {
		t.Run(isa.String(), func(t *testing.T) {
			defer withISA(isa)()
			for _, s := range shapes {
				for _, ab := range [][2]float32{{1, 0}, {0.7, -0.3}} {
					testColumnsIndependentOfN(t, r, s, ab[0], ab[1])
				}
			}
		})
	}
}

func testColumnsIndependentOfN(t *testing.T, r *rand.Rand, s GEMMShape, alpha, beta float32) {
	lda, ldb, ldc := s.K+1, s.N+3, s.N+2
	if s.TransA {
		lda = s.M + 1
	}
	if s.TransB {
		ldb = s.K + 3
	}
	aRows, bRows := s.M, s.K
	if s.TransA {
		aRows = s.K
	}
	if s.TransB {
		bRows = s.N
	}
	a, b, c0 := make([]float32, aRows*lda), make([]float32, bRows*ldb), make([]float32, s.M*ldc)
	for _, x := range [][]float32{a, b, c0} {
		for i := range x {
			x[i] = float32(r.Float64()*2 - 1)
		}
	}
	for _, threads := range []int{1, 2} {
		wide := append([]float32(nil), c0...)
		NewContext(threads).sgemm(s.TransA, s.TransB, s.M, s.N, s.K, alpha, a, lda, b, ldb, beta, wide, ldc, nil, Linear, false)
		for _, j := range []int{0, 1, 31, 32, 127, 128, 129, s.N/2 + 5, s.N - 5, s.N - 1} {
			for _, w := range []int{1, 5} {
				w = min(w, s.N-j)
				bj := b[j:] // columns j… of op(B)
				if s.TransB {
					bj = b[j*ldb:]
				}
				narrow := make([]float32, s.M*w) // [m×w]
				for i := 0; i < s.M; i++ {
					copy(narrow[i*w:i*w+w], c0[i*ldc+j:])
				}
				NewContext(1).sgemm(s.TransA, s.TransB, s.M, w, s.K, alpha, a, lda, bj, ldb, beta, narrow, w, nil, Linear, false)
				for i := 0; i < s.M; i++ {
					for q := 0; q < w; q++ {
						if got, want := narrow[i*w+q], wide[i*ldc+j+q]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%v alpha %v beta %v, %d threads: C[%d,%d] = %v in a %d-column product, %v in the full one", s, alpha, beta, threads, i, j+q, got, w, want)
						}
					}
				}
			}
		}
	}
}
