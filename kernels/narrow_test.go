//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// narrowCase is one product for TestNarrowSameBits.
type narrowCase struct {
	transA      bool
	m, n, k     int
	alpha, beta float32
	padA, padC  int
	bias        bool
	act         Activation
	epilogue    bool // SgemmBiasAct (alpha 1, beta 0, bias and act)
}

func (tc narrowCase) String() string {
	return fmt.Sprintf("%sN/m%dn%dk%d/alpha%g/beta%g/pad%d,%d/epilogue=%v,bias=%v,act%d",
		transLetter(tc.transA), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padC, tc.epilogue, tc.bias, tc.act)
}

// narrowCases draws products with n ≤ 16 (the narrow kernels and beyond
// them), m around the 32-row tile and MC, k from 1 to past KC (two
// k-blocks), both orientations of A, alpha and beta variants, padded
// leading dimensions and forward epilogues.
func narrowCases(r *rand.Rand, count, maxK int) []narrowCase {
	ms := []int{1, 2, 5, 16, 17, 31, 32, 33, 63, 100, 128, 130, 481, 784}
	ks := []int{1, 2, 3, 7, 16, 127, 128, 129, 300}
	alphas := []float32{1, -0.5, 2.5, 1e-3}
	betas := []float32{0, 1, -1, 0.3, float32(math.Copysign(0, -1))}
	cases := []narrowCase{
		{m: 128, n: 10, k: 128, alpha: 1},
		{m: 128, n: 10, k: 128, alpha: 1, transA: true},
		{m: 128, n: 10, k: 128, alpha: 1, epilogue: true, bias: true},
		{m: 97, n: 14, k: maxK, alpha: 0.7, beta: 0.4, transA: true},
		{m: 65, n: 3, k: maxK, alpha: 1, beta: 0, padA: 2},
	}
	for len(cases) < count {
		tc := narrowCase{transA: r.IntN(2) == 0, m: ms[r.IntN(len(ms))], n: 1 + r.IntN(16), k: ks[r.IntN(len(ks))],
			alpha: alphas[r.IntN(len(alphas))], beta: betas[r.IntN(len(betas))], padA: r.IntN(3), padC: r.IntN(3)}
		if r.IntN(4) == 0 {
			tc.epilogue, tc.alpha, tc.beta = true, 1, 0
			tc.bias, tc.act = r.IntN(2) == 0, Activation(r.IntN(int(SELU)+1))
		}
		cases = append(cases, tc)
	}
	return cases
}

// runNarrowCase runs tc on a fresh guarded C (NaN when beta is 0, so a
// read would show) and returns C's buffer, guards included.
func runNarrowCase(tc narrowCase, a, b, bias, c0 []float32, lda int) []float32 {
	ldc := tc.n + tc.padC
	c := newGuarded(tc.m, tc.n, ldc)
	copy(c.buf, c0)
	ctx := NewContext(1)
	if err := ctx.SetBackend(BLIS); err != nil { // the default under -tags netlib is OpenBLAS
		panic(err)
	}
	if tc.epilogue {
		ctx.SgemmBiasAct(tc.transA, false, tc.m, tc.n, tc.k, a, lda, b, tc.n, bias, tc.act, c.data, ldc)
	} else {
		ctx.Sgemm(tc.transA, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, tc.n, tc.beta, c.data, ldc)
	}
	return c.buf
}

// checkNarrowSameBits runs every case with the narrow kernels ks (n ≤
// narrowMaxN) and without (the 12×16 and 6×16 kernels of the path's
// tuning), and fails on the first bit that differs, C's guards included.
func checkNarrowSameBits(t *testing.T, ks [narrowMaxN + 1]narrowKernel, cases []narrowCase) {
	r := rand.New(rand.NewPCG(7, 8))
	u := uniform(r)
	ran := 0
	for n, kern := range ks {
		if kern != nil {
			ks[n] = func(k int, alpha float32, a []float32, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m int, tile *[512]float32) {
				ran++
				kern(k, alpha, a, csA, psA, b, csB, beta, c, ldc, m, tile)
			}
		}
	}
	for _, tc := range cases {
		aRows, aCols := tc.m, tc.k
		if tc.transA {
			aRows, aCols = tc.k, tc.m
		}
		lda := aCols + tc.padA
		ga, gb := newGuarded(aRows, aCols, lda), newGuarded(tc.k, tc.n, tc.n)
		ga.fill(u)
		gb.fill(u)
		bias := make([]float32, tc.n)
		for j := range bias {
			bias[j] = u()
		}
		if !tc.bias {
			bias = nil
		}
		gc := newGuarded(tc.m, tc.n, tc.n+tc.padC)
		if tc.beta == 0 {
			gc.fill(func() float32 { return float32(math.NaN()) })
		} else {
			gc.fill(u)
		}
		restore := useNarrow(0, ks)
		want := runNarrowCase(tc, ga.data, gb.data, bias, gc.buf, lda)
		narrowN = narrowMaxN
		got := runNarrowCase(tc, ga.data, gb.data, bias, gc.buf, lda)
		restore()
		for x := range want {
			if math.Float32bits(want[x]) != math.Float32bits(got[x]) {
				t.Fatalf("%v: C buffer index %d: %v narrow, %v on the 12×32 path's kernels", tc, x, got[x], want[x])
			}
		}
	}
	if ran < len(cases)/4 {
		t.Fatalf("the narrow kernels ran %d times in %d cases", ran, len(cases))
	}
}

// TestNarrowSameBits checks that the narrow kernels give C bit for bit as
// the AVX-512 path's other kernels do (with its column edges on either
// kernel), guards untouched, for n 1…16, m around the 32-row tile, k 1…300
// and past KC, both orientations of A, alpha and beta variants and the
// forward epilogue.
func TestNarrowSameBits(t *testing.T) {
	if DetectedISA() < AVX512 {
		t.Skip("CPU has no AVX-512 (TestNarrowEmulated checks the kernels)")
	}
	defer withISA(AVX512)()
	defer func(v bool) { edgesAVX2 = v }(edgesAVX2)
	r := rand.New(rand.NewPCG(5, 6))
	for _, edges := range []bool{false, true} {
		edgesAVX2 = edges
		checkNarrowSameBits(t, narrowKernels, narrowCases(r, 600, 1500))
	}
}

// TestNarrowEmulated checks the narrow kernels interpreted, against the
// native kernels where the CPU has AVX-512 and against the AVX-512 path
// with its other kernels interpreted where it does not.
func TestNarrowEmulated(t *testing.T) {
	var ks [narrowMaxN + 1]narrowKernel
	for n := 1; n <= narrowMaxN; n++ {
		ks[n] = emuNarrowKernel(t, fmt.Sprintf("gemm32x%dNarrowAVX512", n))
	}
	if DetectedISA() < AVX512 {
		defer emulateAVX512(t)()
	} else {
		defer func(isa ISA) { activeISA = isa }(activeISA)
		activeISA = AVX512
	}
	r := rand.New(rand.NewPCG(9, 10))
	var cases []narrowCase
	for _, tc := range narrowCases(r, 120, 1100) {
		if tc.m*tc.n*tc.k <= 200_000 { // the interpreter is slow
			cases = append(cases, tc)
		}
	}
	checkNarrowSameBits(t, ks, cases)
}

// TestNarrowGo checks the Go twin against the narrow kernels (to
// rounding: Go may not fuse its multiply-adds) on A packed and in place.
func TestNarrowGo(t *testing.T) {
	if DetectedISA() < AVX512 {
		t.Skip("CPU has no AVX-512")
	}
	r := rand.New(rand.NewPCG(11, 12))
	u := uniform(r)
	var tile [512]float32
	for _, m := range []int{1, 31, 32, 45, 96} {
		for n := 1; n <= narrowMaxN; n++ {
			k, lda := 37, m+3
			a, b := make([]float32, k*lda), make([]float32, k*n)
			for _, x := range [][]float32{a, b} {
				for i := range x {
					x[i] = u()
				}
			}
			c0 := make([]float32, m*(n+1))
			for i := range c0 {
				c0[i] = u()
			}
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			narrowKernels[n](k, 0.5, a, lda, narrowRows, b, n, -1, got, n+1, m, &tile)
			narrowGo(n)(k, 0.5, a, lda, narrowRows, b, n, -1, want, n+1, m, &tile)
			for x := range got {
				if math.Abs(float64(got[x]-want[x])) > 1e-5*float64(k) {
					t.Fatalf("m %d n %d: c[%d] = %v, Go twin %v", m, n, x, got[x], want[x])
				}
			}
		}
	}
}

// TestNarrowAllocs checks that a warm Context runs narrow products, A in
// place and packed, without allocating.
func TestNarrowAllocs(t *testing.T) {
	if DetectedISA() < AVX512 || raceEnabled {
		t.Skip("CPU has no AVX-512, or the race detector allocates")
	}
	defer withISA(AVX512)()
	defer useNarrow(narrowMaxN, narrowKernels)()
	ctx := NewContext(1)
	if err := ctx.SetBackend(BLIS); err != nil { // the default under -tags netlib is OpenBLAS
		t.Fatal(err)
	}
	a, b, c := make([]float32, 128*128), make([]float32, 128*10), make([]float32, 128*10)
	bias := make([]float32, 10)
	for _, transA := range []bool{false, true} {
		run := func() {
			ctx.Sgemm(transA, false, 128, 10, 128, 1, a, 128, b, 10, 0, c, 10)
			ctx.SgemmBiasAct(transA, false, 128, 10, 128, a, 128, b, 10, bias, ReLU, c, 10)
		}
		run()
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Errorf("transA %v: %v allocations per call", transA, n)
		}
	}
}

// TestPackTranspose32AVX512 checks the AVX-512 transposing packer of
// 32-row panels, interpreted and (where the CPU has AVX-512) native,
// against the documented layout, nothing written past the panel.
func TestPackTranspose32AVX512(t *testing.T) {
	packers := map[string]func(panel, src []float32, ld, cols int){"emulated": emuPacker(t, "packTranspose32AVX512")}
	if DetectedISA() >= AVX512 {
		packers["native"] = packTranspose32AVX512
	}
	for name, pack := range packers {
		for _, cols := range []int{0, 1, 10, 15, 16, 31, 48} {
			const w = narrowRows
			ld := cols + 5
			src := make([]float32, (w-1)*ld+cols) // the last row ends at cols: reading past it would fault
			for i := range src {
				src[i] = float32(i + 1)
			}
			panel := make([]float32, w*cols+1)
			panel[len(panel)-1] = sentinel
			pack(panel, src, ld, cols)
			for p := 0; p < cols; p++ {
				for j := 0; j < w; j++ {
					if got, want := panel[p*w+j], src[j*ld+p]; got != want {
						t.Fatalf("%s cols %d: panel[%d·%d+%d] = %v, want %v", name, cols, p, w, j, got, want)
					}
				}
			}
			if math.Float32bits(panel[len(panel)-1]) != math.Float32bits(sentinel) {
				t.Fatalf("%s cols %d: wrote past the panel", name, cols)
			}
		}
	}
}

// TestNarrowFull pins which heights go to the narrow kernels (the
// figures of bench/NOTES.md "Narrow products").
func TestNarrowFull(t *testing.T) {
	for _, c := range []struct {
		m       int
		inPlace bool
		want    bool
	}{
		{128, false, true}, {128, true, true}, {784, false, true}, {784, true, true},
		{32, false, true}, {56, false, true}, {112, false, true},
		{24, false, false}, {40, false, false}, {48, false, false}, {72, false, false}, {100, false, false},
		{12, true, false}, {13, true, true}, {40, true, true}, {72, true, true}, {100, true, true},
	} {
		if got := narrowFull(c.m, 12, c.inPlace); got != c.want {
			t.Errorf("narrowFull(%d, 12, %v) = %v, want %v", c.m, c.inPlace, got, c.want)
		}
	}
}
