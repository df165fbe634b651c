//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// kernelCase is one micro-kernel call on random panels: packed (rsA 1,
// csA MR, csB NR) or A in place (either orientation), C inside guards.
// m rows of C make one tile (m ≤ MR) or a column of them.
type kernelCase struct {
	k, m, nr    int
	alpha, beta float32
	inPlaceA    int // 0 packed, 1 rows contiguous (rsA = lda), 2 columns contiguous (csA = lda)
	ldc         int
}

// kernelOperands draws a, b and a guarded c for tc on an MR×NR kernel.
// A has all the rows of the tiles (m rounded up to MR), as the contract
// lets a kernel read them.
func (tc kernelCase) operands(r *rand.Rand, bs blockSizes) (a []float32, rsA, csA, psA int, b []float32, c *guarded) {
	u := uniform(r)
	rows := (tc.m + bs.mr - 1) / bs.mr * bs.mr
	lda := rows + tc.k + 3
	switch tc.inPlaceA {
	case 0:
		a, rsA, csA, psA = make([]float32, rows*tc.k), 1, bs.mr, bs.mr*tc.k
	case 1:
		a, rsA, csA, psA = make([]float32, (rows-1)*lda+tc.k), lda, 1, bs.mr*lda
	case 2:
		a, rsA, csA, psA = make([]float32, max(0, tc.k-1)*lda+rows), 1, lda, bs.mr
	}
	b = make([]float32, tc.k*bs.nr)
	for _, x := range [][]float32{a, b} {
		for i := range x {
			x[i] = u()
		}
	}
	c = newGuarded(tc.m, tc.nr, tc.ldc)
	if tc.beta == 0 {
		c.fill(func() float32 { return float32(math.NaN()) })
	} else {
		c.fill(u)
	}
	return a, rsA, csA, psA, b, c
}

// kernelCases covers full and edge tiles, columns of tiles ending full or
// partial (for the AVX-512 path's row edges: the last tile 1, 6 or 8 rows
// of 12), k = 0 and 1, alpha and beta special values and A in place.
func kernelCases(bs blockSizes) []kernelCase {
	var cases []kernelCase
	for _, m := range []int{bs.mr, 1, bs.mr - 1, bs.mr / 2, 3 * bs.mr, 2*bs.mr + 1, 2*bs.mr + bs.mr*2/3} {
		for _, nr := range []int{bs.nr, 1, bs.nr - 1, bs.nr / 2, bs.nr/2 + 1, 6, 10} { // 6, 10: every piece of a partial AVX2 vector
			for i, k := range []int{0, 1, 7, 64} {
				cases = append(cases, kernelCase{k: k, m: m, nr: nr,
					alpha: []float32{1, -0.5, 2, 0}[i], beta: []float32{0, 1, -0.3, 0}[(i+m)%4],
					inPlaceA: (i + nr) % 3, ldc: nr + i})
			}
		}
	}
	return cases
}

// checkKernel runs kernel on every case and compares with the float64
// contract; guards around C must stay intact.
func checkKernel(t *testing.T, kernel microKernel, bs blockSizes) {
	r := rand.New(rand.NewPCG(12, 13))
	for _, tc := range kernelCases(bs) {
		a, rsA, csA, psA, b, c := tc.operands(r, bs)
		c0 := c.clone()
		kernel(tc.k, tc.alpha, a, rsA, csA, psA, b, bs.nr, tc.beta, c.data, c.ld, tc.m, tc.nr)
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.nr; j++ {
				var ab, mag float64
				for p := 0; p < tc.k; p++ {
					x := float64(a[i/bs.mr*psA+i%bs.mr*rsA+p*csA]) * float64(b[p*bs.nr+j])
					ab, mag = ab+x, mag+math.Abs(x)
				}
				want, bound := float64(tc.alpha)*ab, math.Abs(float64(tc.alpha))*mag
				if tc.beta != 0 {
					cij := float64(tc.beta) * float64(c0[guardBand+i*c.ld+j])
					want, bound = want+cij, bound+math.Abs(cij)
				}
				got := float64(c.data[i*c.ld+j])
				if !(math.Abs(got-want) <= gemmTolerance(tc.k)*bound) {
					t.Fatalf("%+v: C[%d,%d] = %v, want %v", tc, i, j, got, want)
				}
			}
		}
		if err := c.checkGuards("C"); err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
	}
}

// TestMicroKernelsEmulated checks every asm micro-kernel, interpreted,
// against the contract: on CPUs without AVX-512 this is where the AVX-512
// kernels are tested.
func TestMicroKernelsEmulated(t *testing.T) {
	for _, k := range []struct {
		name string
		bs   blockSizes
	}{
		{"gemm6x16AVX2", blockTable[AVX2]},
		{"gemm6x16AheadAVX2", blockTable[AVX2]},
		{"gemm4x16AheadAVX2", blockSizes{mr: 4, nr: 16}},
		{"gemm2x16AheadAVX2", blockSizes{mr: 2, nr: 16}},
		{"gemm12x32AVX512", blockTable[AVX512]},
		{"gemm12x32NextAVX512", blockTable[AVX512]},
		{"gemm12x16AVX512", blockSizes{mr: 12, nr: 16}},
		{"gemm8x32AVX512", blockSizes{mr: 8, nr: 32}},
		{"gemm4x32AVX512", blockSizes{mr: 4, nr: 32}},
	} {
		t.Run(k.name, func(t *testing.T) { checkKernel(t, emuMicroKernel(t, k.name), k.bs) })
	}
}

// TestMicroKernelsNative checks the micro-kernels this CPU runs.
func TestMicroKernelsNative(t *testing.T) {
	for isa := AVX2; isa <= DetectedISA(); isa++ {
		t.Run(isa.String(), func(t *testing.T) { checkKernel(t, microKernels[isa], blockTable[isa]) })
	}
	if DetectedISA() >= AVX2 {
		t.Run("gemm6x16AVX2", func(t *testing.T) { checkKernel(t, gemm6x16AVX2, blockTable[AVX2]) })
		t.Run("gemm4x16AheadAVX2", func(t *testing.T) { checkKernel(t, gemm4x16AheadAVX2, blockSizes{mr: 4, nr: 16}) })
		t.Run("gemm2x16AheadAVX2", func(t *testing.T) { checkKernel(t, gemm2x16AheadAVX2, blockSizes{mr: 2, nr: 16}) })
	}
	if DetectedISA() >= AVX512 {
		t.Run("gemm12x32NextAVX512", func(t *testing.T) { checkKernel(t, gemm12x32NextAVX512, blockTable[AVX512]) })
		t.Run("gemm12x16AVX512", func(t *testing.T) { checkKernel(t, gemm12x16AVX512, blockSizes{mr: 12, nr: 16}) })
		t.Run("gemm8x32AVX512", func(t *testing.T) { checkKernel(t, gemm8x32AVX512, blockSizes{mr: 8, nr: 32}) })
		t.Run("gemm4x32AVX512", func(t *testing.T) { checkKernel(t, gemm4x32AVX512, blockSizes{mr: 4, nr: 32}) })
	}
}

// TestNextKernelSameBits checks that the 12×32 kernel for B in place,
// which only adds prefetches, gives the bits of the 12×32 kernel.
func TestNextKernelSameBits(t *testing.T) {
	if DetectedISA() < AVX512 {
		t.Skip("CPU has no AVX-512")
	}
	r := rand.New(rand.NewPCG(18, 19))
	bs := blockTable[AVX512]
	for _, tc := range kernelCases(bs) {
		a, rsA, csA, psA, b, c := tc.operands(r, bs)
		c2 := append([]float32(nil), c.buf...)
		gemm12x32AVX512(tc.k, tc.alpha, a, rsA, csA, psA, b, bs.nr, tc.beta, c.data, c.ld, tc.m, tc.nr)
		gemm12x32NextAVX512(tc.k, tc.alpha, a, rsA, csA, psA, b, bs.nr, tc.beta, c2[guardBand:guardBand+len(c.data)], c.ld, tc.m, tc.nr)
		for i := range c.buf {
			if math.Float32bits(c.buf[i]) != math.Float32bits(c2[i]) {
				t.Fatalf("%+v: buffer index %d: %v, next-panel kernel %v", tc, i, c.buf[i], c2[i])
			}
		}
	}
}

// asmKernel is one asm micro-kernel: its name in the asm, the native
// function and its tile.
type asmKernel struct {
	name   string
	native microKernel
	bs     blockSizes
}

// TestEmulatorMatchesHardware checks the interpreter: the micro-kernels
// this CPU runs and the packers, interpreted and native, must agree bit
// for bit.
func TestEmulatorMatchesHardware(t *testing.T) {
	if DetectedISA() < AVX2 {
		t.Skip("CPU has no AVX2")
	}
	r := rand.New(rand.NewPCG(14, 15))
	kernels := []asmKernel{{"gemm6x16AVX2", gemm6x16AVX2, blockTable[AVX2]},
		{"gemm6x16AheadAVX2", gemm6x16AheadAVX2, blockTable[AVX2]},
		{"gemm4x16AheadAVX2", gemm4x16AheadAVX2, blockSizes{mr: 4, nr: 16}}, {"gemm2x16AheadAVX2", gemm2x16AheadAVX2, blockSizes{mr: 2, nr: 16}}}
	if DetectedISA() >= AVX512 {
		kernels = append(kernels, asmKernel{"gemm12x32AVX512", gemm12x32AVX512, blockTable[AVX512]},
			asmKernel{"gemm12x32NextAVX512", gemm12x32NextAVX512, blockTable[AVX512]},
			asmKernel{"gemm8x32AVX512", gemm8x32AVX512, blockSizes{mr: 8, nr: 32}})
	}
	for _, kn := range kernels {
		emu, bs := emuMicroKernel(t, kn.name), kn.bs
		for _, tc := range kernelCases(bs) {
			a, rsA, csA, psA, b, c := tc.operands(r, bs)
			c2 := append([]float32(nil), c.buf...)
			kn.native(tc.k, tc.alpha, a, rsA, csA, psA, b, bs.nr, tc.beta, c.data, c.ld, tc.m, tc.nr)
			emu(tc.k, tc.alpha, a, rsA, csA, psA, b, bs.nr, tc.beta, c2[guardBand:guardBand+len(c.data)], c.ld, tc.m, tc.nr)
			for i := range c.buf {
				if math.Float32bits(c.buf[i]) != math.Float32bits(c2[i]) {
					t.Fatalf("%s %+v: buffer index %d: native %v, emulated %v", kn.name, tc, i, c.buf[i], c2[i])
				}
			}
		}
	}
	type packer struct {
		name   string
		native func(panel, src []float32, ld, cols int)
		w      int
		trans  bool
	}
	var packers []packer
	for w, f := range simdPackers {
		if f.copy == nil {
			continue
		}
		onePanel := func(panel, src []float32, ld, cols int) { f.copy(panel, src, ld, cols, 1) }
		packers = append(packers, packer{fmt.Sprintf("packCopy%dAVX2", w), onePanel, w, false},
			packer{fmt.Sprintf("packTranspose%dAVX2", w), f.transpose, w, true})
	}
	for w, f := range simdPackers {
		if f.copyMasked == nil {
			continue
		}
		name := fmt.Sprintf("packCopyMasked%dAVX2", w)
		emu := emuMaskedPacker(t, name)
		for _, h := range []int{1, w/2 + 1, w - 1} {
			const cols = 5
			ld := h + 3
			src := make([]float32, (cols-1)*ld+h) // the last row ends at h: reading past it would fault
			for i := range src {
				src[i] = float32(i + 1)
			}
			want, got := make([]float32, w*cols), make([]float32, w*cols)
			f.copyMasked(want, src, ld, cols, h)
			emu(got, src, ld, cols, h)
			for p := 0; p < cols; p++ {
				for j := 0; j < w; j++ {
					x := float32(0)
					if j < h {
						x = src[p*ld+j]
					}
					if want[p*w+j] != x || math.Float32bits(got[p*w+j]) != math.Float32bits(want[p*w+j]) {
						t.Fatalf("%s h %d: panel[%d·%d+%d]: native %v, emulated %v, want %v", name, h, p, w, j, want[p*w+j], got[p*w+j], x)
					}
				}
			}
		}
	}
	for _, p := range packers {
		emu := emuPacker(t, p.name)
		for _, cols := range []int{0, 8, 24} {
			ld := p.w + cols + 5
			src := make([]float32, (max(p.w, cols))*ld)
			for i := range src {
				src[i] = float32(i)
			}
			want, got := make([]float32, p.w*cols+1), make([]float32, p.w*cols+1)
			want[len(want)-1], got[len(got)-1] = sentinel, sentinel
			p.native(want, src, ld, cols)
			emu(got, src, ld, cols)
			for i := range want {
				if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
					t.Fatalf("%s cols %d: index %d: native %v, emulated %v", p.name, cols, i, want[i], got[i])
				}
			}
			for q := 0; q < cols; q++ { // and the layout is the documented one
				for j := 0; j < p.w; j++ {
					x := src[q*ld+j]
					if p.trans {
						x = src[j*ld+q]
					}
					if want[q*p.w+j] != x {
						t.Fatalf("%s: panel[%d·%d+%d] = %v, want %v", p.name, q, p.w, j, want[q*p.w+j], x)
					}
				}
			}
		}
	}
}

// emulateAVX512 makes the AVX-512 path the active one on a CPU without
// AVX-512 (bypassing SetISA's CPU check) with its micro-kernels
// interpreted, and returns what restores the path. Only GEMMs may run
// meanwhile: the elementwise kernels of its epilogues are those of the
// detected path (the same bits on every path), and the packers are Go
// where the CPU lacks AVX2 (gemm.setISA).
func emulateAVX512(t testing.TB) (restore func()) {
	isa, ks, e, vk := activeISA, avx512Kernels, edgesAVX2, vectorKernelsByISA[AVX512]
	avx512Kernels.wide, avx512Kernels.half = emuMicroKernel(t, "gemm12x32AVX512"), emuMicroKernel(t, "gemm12x16AVX512")
	avx512Kernels.wideNext = emuMicroKernel(t, "gemm12x32NextAVX512")
	avx512Kernels.rows8, avx512Kernels.rows4 = emuMicroKernel(t, "gemm8x32AVX512"), emuMicroKernel(t, "gemm4x32AVX512")
	edgesAVX2 = false // the AVX2 kernel is native; TestAVX512EdgeKernels compares it
	vectorKernelsByISA[AVX512] = vectorKernelsByISA[detectedISA]
	activeISA = AVX512
	return func() { activeISA, avx512Kernels, edgesAVX2, vectorKernelsByISA[AVX512] = isa, ks, e, vk }
}

// TestSgemmConformanceAVX512Emulated runs the conformance suite on the
// AVX-512 path (its block sizes, packing and edge handling) with the
// micro-kernels interpreted, on CPUs that cannot run them.
func TestSgemmConformanceAVX512Emulated(t *testing.T) {
	if DetectedISA() >= AVX512 {
		t.Skip("the AVX-512 path runs natively in TestSgemmConformance")
	}
	defer emulateAVX512(t)()
	var narrow [narrowMaxN + 1]narrowKernel
	for n := 1; n <= narrowMaxN; n++ {
		narrow[n] = emuNarrowKernel(t, fmt.Sprintf("gemm32x%dNarrowAVX512", n))
	}
	defer useNarrow(narrowMaxN, narrow)() // the narrow kernels on n ≤ 14, op(B) not transposed
	r := rand.New(rand.NewPCG(3, 4))
	ctx := NewContext(1)
	be := gemmBackend{"avx512-emulated", func(ctx *Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		ctx.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, Linear, false)
	}}
	for _, tc := range conformanceCases(true) {
		if tc.m*tc.n*tc.k > 2_000_000 {
			continue // the interpreter is slow; the big shapes add no new paths
		}
		if err := tc.problem(r).check(be, ctx); err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
	}
}

// TestAVX512EdgeKernels checks that the AVX-512 path gives the same bits
// with either kernel for its column edges (edgesAVX2) and with or without
// the row-edge kernels (rowEdges false: the 12×32 kernel on the last 1–8
// rows too), on products whose C is narrow or has a narrow last panel or a
// short last tile, A packed and in place, and that all pass the
// conformance check.
func TestAVX512EdgeKernels(t *testing.T) {
	if DetectedISA() < AVX512 {
		t.Skip("CPU has no AVX-512")
	}
	defer withISA(AVX512)()
	defer useNarrow(0, narrowKernels)() // the edge kernels on n ≤ 14 too (TestNarrowSameBits compares the narrow ones)
	defer func(v bool, ks avx512KernelSet) { edgesAVX2, avx512Kernels = v, ks }(edgesAVX2, avx512Kernels)
	rows8, rows4 := avx512Kernels.rows8, avx512Kernels.rows4
	var variants []kernelVariant
	for _, v := range []struct{ edgesAVX2, rowEdges bool }{{false, true}, {true, true}, {false, false}} {
		variants = append(variants, kernelVariant{fmt.Sprintf("%+v", v), func() {
			edgesAVX2, avx512Kernels.rows8, avx512Kernels.rows4 = v.edgesAVX2, rows8, rows4
			if !v.rowEdges {
				avx512Kernels.rows8, avx512Kernels.rows4 = avx512Kernels.wide, avx512Kernels.wide
			}
		}})
	}
	checkSameBits(t, "avx512", variants)
}

// TestAVX2EdgeKernels checks that the AVX2 path gives the same bits with
// its kernels (the Ahead 6×16 and its row edges) and with the plain 6×16
// kernel on every row, natively and with the kernels interpreted, on the
// edge products of TestAVX512EdgeKernels, and that all pass the
// conformance check.
func TestAVX2EdgeKernels(t *testing.T) {
	if DetectedISA() < AVX2 {
		t.Skip("CPU has no AVX2 (the packers are AVX2 code; TestMicroKernelsEmulated checks the kernels)")
	}
	defer withISA(AVX2)()
	defer func(ks avx2KernelSet) { avx2Kernels = ks }(avx2Kernels)
	native := avx2Kernels
	emulated := avx2KernelSet{emuMicroKernel(t, "gemm6x16AheadAVX2"), emuMicroKernel(t, "gemm4x16AheadAVX2"), emuMicroKernel(t, "gemm2x16AheadAVX2")}
	checkSameBits(t, "avx2", []kernelVariant{
		{"row edges", func() { avx2Kernels = native }},
		{"6×16 only", func() { avx2Kernels = avx2KernelSet{gemm6x16AVX2, gemm6x16AVX2, gemm6x16AVX2} }},
		{"row edges emulated", func() { avx2Kernels = emulated }},
	})
}

// kernelVariant is one choice of kernels for checkSameBits: set puts it in
// force.
type kernelVariant struct {
	name string
	set  func()
}

// checkSameBits runs edge products (C narrow, a narrow last panel or a
// short last tile; A packed and in place) on the active path under each
// variant, checks each against the conformance reference and all their
// bits against the first variant's.
func checkSameBits(t *testing.T, path string, variants []kernelVariant) {
	r := rand.New(rand.NewPCG(16, 17))
	sgemm := gemmBackend{path, func(ctx *Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		ctx.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, Linear, false)
	}}
	for _, tc := range []gemmCase{
		{m: 128, n: 10, k: 128, alpha: 1},
		{m: 128, n: 10, k: 128, alpha: 1, beta: 1, transA: true},
		{m: 37, n: 45, k: 300, alpha: 0.7, beta: -0.3, padA: 1, padB: 2, padC: 3},
		{m: 1100, n: 16, k: 70, alpha: -1, beta: 0.5, transB: true},
		{m: 25, n: 1, k: 513, alpha: 2, beta: 0},
		{m: 13, n: 7, k: 1, alpha: 1, beta: 1, transA: true, transB: true},
		{m: 128, n: 128, k: 300, alpha: 1},                         // AVX-512: last tile 8 rows, A in place; AVX2: 2 rows, two k-blocks
		{m: 128, n: 1030, k: 40, alpha: 1, beta: 0.5},              // A packed
		{m: 784, n: 70, k: 128, alpha: 1, transA: true, padC: 1},   // last tile 4 rows, A packed
		{m: 29, n: 33, k: 65, alpha: -0.5, beta: 1, transB: true},  // 5 rows
		{m: 20, n: 64, k: 9, alpha: 1, beta: -1, padA: 2, padB: 1}, // 8 rows; AVX2: 2 rows
		{m: 39, n: 20, k: 17, alpha: 1, beta: 0.25, transA: true},  // AVX2: 3 rows
		{m: 31, n: 50, k: 33, alpha: 1, padA: 1},                   // AVX2: 1 row
	} {
		p := tc.problem(r)
		var results [][]float32
		for _, v := range variants {
			v.set()
			c := newGuarded(tc.m, tc.n, p.ldc)
			copy(c.buf, p.c0)
			NewContext(1).sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, p.a.data, p.a.ld, p.b.data, p.b.ld, tc.beta, c.data, c.ld, nil, Linear, false)
			results = append(results, c.buf)
			if err := p.check(sgemm, NewContext(1)); err != nil {
				t.Fatalf("%v, %s: %v", tc, v.name, err)
			}
		}
		for i, res := range results[1:] {
			for x := range results[0] {
				if math.Float32bits(results[0][x]) != math.Float32bits(res[x]) {
					t.Fatalf("%v: buffer index %d: %v with %s, %v with %s", tc, x, results[0][x], variants[0].name, res[x], variants[i+1].name)
				}
			}
		}
	}
}
