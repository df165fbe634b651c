package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmBlocksPixels: SgemmBlocksPixels on bytes gives, bit for bit, what
// SgemmBlocks gives on their float32 copy (byte/PixelMax), on every ISA
// path and backend, with 1 and 2 threads: the forward x·W and the weight
// gradient xᵀ·dz of a batch (m 128, k 784), odd shapes (rows not a multiple
// of the panel height, a k that is not a multiple of 16, gathered columns
// not a multiple of 4, a padded leading dimension), every byte value, and
// the bytes unchanged.
func TestSgemmBlocksPixels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		transA, epilogue bool
		m, k, pad        int
	}{
		{false, true, 128, 784, 0},
		{true, false, 784, 128, 0},
		{false, true, 37, 130, 3},
		{true, false, 131, 37, 5},
		{false, false, 13, 17, 1},
		{true, true, 25, 66, 0},
	}
	const stored = 300 // rows of the data A gathers from
	type backend struct {
		isa ISA
		be  GEMMBackend
	}
	var backends []backend
	for isa := Generic; isa <= DetectedISA(); isa++ {
		backends = append(backends, backend{isa, BLIS})
	}
	if netlibSgemm != nil {
		backends = append(backends, backend{ActiveISA(), OpenBLAS})
	}
	for _, bk := range backends {
		for _, tc := range cases {
			restore := withISA(bk.isa)
			m, k := tc.m, tc.k
			width, gathered := k, m // a stored row of A; how many are gathered
			if tc.transA {
				width, gathered = m, k
			}
			lda := width + tc.pad
			px := make([]uint8, stored*lda)
			for i := range px {
				px[i] = uint8(i*7 + i/256) // every byte value, in no regular order
			}
			r.Shuffle(len(px), func(i, j int) { px[i], px[j] = px[j], px[i] })
			af := make([]float32, len(px))
			for i, b := range px {
				af[i] = float32(b) / 255
			}
			p0 := append([]uint8(nil), px...)
			rows := r.Perm(stored)[:gathered]
			alpha, beta := float32(1), float32(0)
			if !tc.epilogue {
				alpha, beta = 0.5, 1
			}
			blocksFor := func() []ColumnBlock {
				rr := rand.New(rand.NewPCG(13, 14))
				var bl []ColumnBlock
				for i, w := range []int{128, 10, 33, 1} {
					bl = append(bl, ColumnBlock{N: w, B: randVec(rr, k*w), Ldb: w, C: randVec(rr, m*w), Ldc: w,
						Bias: randVec(rr, w), Act: []Activation{ReLU, Tanh, Linear, Sigmoid}[i]})
				}
				return bl
			}
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("%v/%v transA=%v m%dk%d threads=%d", bk.isa, bk.be, tc.transA, m, k, threads)
				ctx := NewContext(threads)
				if err := ctx.SetBackend(bk.be); err != nil {
					t.Fatal(err)
				}
				want, got := blocksFor(), blocksFor()
				ctx.SgemmBlocks(tc.transA, m, k, alpha, af, lda, rows, beta, want, tc.epilogue)
				ctx.SgemmBlocksPixels(tc.transA, m, k, alpha, px, lda, rows, beta, got, tc.epilogue)
				for b := range want {
					for i, w := range want[b].C {
						if g := got[b].C[i]; math.Float32bits(g) != math.Float32bits(w) {
							t.Fatalf("%s: block %d C[%d] = %v, want %v", name, b, i, g, w)
						}
					}
				}
			}
			for i := range px {
				if px[i] != p0[i] {
					t.Fatalf("%v: byte %d of A changed", bk.isa, i)
				}
			}
			restore()
		}
	}
}

// TestSgemmBlocksPixelsNeedsRows: pixels are read gathered only.
func TestSgemmBlocksPixelsNeedsRows(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("SgemmBlocksPixels without rows did not panic")
		}
	}()
	NewContext(1).SgemmBlocksPixels(false, 1, 1, 1, []uint8{1}, 1, nil, 0, nil, true)
}

// TestPixelPackersEveryByte: the asm packers convert every byte value as
// float32(b)/PixelMax does (VDIVPS is exact, so they must agree bit for bit).
func TestPixelPackersEveryByte(t *testing.T) {
	for _, w := range []int{6, 12} {
		pixelPackerEveryByte(t, w)
	}
}

func pixelPackerEveryByte(t *testing.T, w int) {
	const cols = 256
	px := make([]uint8, w*cols)
	for j := range w {
		for p := range cols {
			px[j*cols+p] = uint8(p + j)
		}
	}
	offs := make([]int, w)
	for j := range offs {
		offs[j] = j * cols
	}
	simds := []bool{false}
	if DetectedISA() >= AVX2 { // the asm packers need the CPU's AVX2 (the AVX-512 one checks for itself)
		simds = append(simds, true)
	}
	for _, simd := range simds {
		panel := make([]float32, w*cols)
		packGatheredPanel(panel, storedA{p: px}, offs, w, cols, w, simd)
		for p := range cols {
			for j := range w {
				if want := float32(px[offs[j]+p]) / PixelMax; panel[p*w+j] != want {
					t.Fatalf("w=%d simd=%v: panel[%d·%d+%d] = %v, want %v", w, simd, p, w, j, panel[p*w+j], want)
				}
			}
		}
	}
}
