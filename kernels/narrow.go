package kernels

// Narrow products: C with at most narrowMaxN columns (the 10-class output
// layer's z = h·W and dW = hᵀ·dz) on the AVX-512 path. The 12×32 and
// 12×16 kernels put C's columns in the vector lanes, so n = 10 leaves 6 of
// 16 lanes idle; the narrow kernels put 32 of C's rows in two ZMM instead
// and broadcast B[p][j] from memory, using every lane whatever n
// (bench/NOTES.md "Narrow products on the 32-row kernel").

// narrowRows is the height of a narrow tile (two ZMM of rows of C) and
// narrowMaxN the widest narrow kernel: its 2n accumulators and the two
// vectors of op(A)'s column fill the 32 ZMM registers but two.
const (
	narrowRows = 32
	narrowMaxN = 14
)

// NarrowMaxN is the widest product the narrow kernels take: the largest
// Tuning.NarrowN.
const NarrowMaxN = narrowMaxN

// narrowKernel is the contract of the narrow kernels (gemm32xNNarrowAVX512,
// one per n), the reference loop of each:
//
//	for i < m, j < n: with t, r = i / 32, i % 32:
//		ab := Σ_{p<k} a[t·psA + p·csA + r] · b[p·csB + j]
//		c[i·ldc + j] = alpha·ab + beta·c[i·ldc + j]   (beta = 0: c is not read)
//
// Only the rows r < m − 32t of each A tile are read, so op(A) is read in
// place when its columns are contiguous (op(A) = Aᵀ: csA = lda, psA = 32)
// and otherwise packed in 32-row panels (csA = 32, psA = 32·k). tile is
// scratch. ab starts at 0 and adds the products in ascending p with one
// rounding each (an FMA), then alpha·ab and one FMA with beta·C, as every
// other micro-kernel of the path does: the same bits.
type narrowKernel func(k int, alpha float32, a []float32, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m int, tile *[512]float32)

// narrowGo is the Go twin of the narrow kernels, for n columns. Go fuses
// multiply-adds only with GOAMD64=v3 and up, so it matches the asm to
// rounding, not bit for bit (see microKernel).
func narrowGo(n int) narrowKernel {
	return func(k int, alpha float32, a []float32, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m int, _ *[512]float32) {
		for i := 0; i < m; i++ {
			t, r := i/narrowRows, i%narrowRows
			for j := 0; j < n; j++ {
				var ab float32
				for p := 0; p < k; p++ {
					ab += a[t*psA+p*csA+r] * b[p*csB+j]
				}
				x := &c[i*ldc+j]
				if beta == 0 {
					*x = alpha * ab
				} else {
					*x = alpha*ab + beta**x
				}
			}
		}
	}
}

// narrowOK reports whether g runs on the narrow kernels: the AVX-512 path
// with Tuning.NarrowN ≥ n, op(B)'s rows contiguous (it broadcasts B[p][j]
// from a row of B), one thread, a product to compute, and m's 32-row
// tiles full enough (narrowFull).
func (g *gemm) narrowOK(isa ISA) bool {
	return isa == AVX512 && g.n <= narrowN && narrowKernels[g.n] != nil && g.b.cs == 1 &&
		g.parts == 1 && g.k > 0 && g.alpha != 0 && narrowFull(g.m, g.blocks.mr, g.a.rs == 1)
}

// narrowFull reports whether m rows on 32-row tiles cost less than on the
// MR-row tiles of the other kernels: a partial last tile costs a whole one.
// Per row of tile a narrow kernel runs about twice as fast as the edge
// kernels with op(A) in place and 1.1 times with op(A) packed (it is
// transposed), so a tile column of roundUp(m, 32) rows must not exceed
// twice, or 12/11 of, roundUp(m, MR) (bench/NOTES.md "Narrow products").
func narrowFull(m, mr int, inPlace bool) bool {
	if inPlace {
		return 2*roundUp(m, mr) >= roundUp(m, narrowRows)
	}
	return 12*roundUp(m, mr) >= 11*roundUp(m, narrowRows)
}

// runNarrow computes C on the narrow kernel of n columns, k-block by
// k-block as the BLIS loops cut k (the same blockLen), then the epilogue:
// each element gets the operations of loops, in the same order. op(A) is
// read in place when its columns are contiguous, else each k-block of it
// is packed in 32-row panels.
func (g *gemm) runNarrow(ws *workspace) {
	kern := narrowKernels[g.n]
	kcMax := blockLen(g.k, g.blocks.kc, 1)
	inPlace := g.a.rs == 1
	if !inPlace {
		ws.reserve(narrowRows*kcMax, 0, narrowRows*kcMax)
	}
	if ws.tile == nil {
		ws.tile = new([512]float32)
	}
	for pc := 0; pc < g.k; pc += kcMax {
		kc := min(kcMax, g.k-pc)
		beta := g.beta
		if pc > 0 {
			beta = 1
		}
		b := g.b.data[pc*g.b.rs:]
		if inPlace {
			kern(kc, g.alpha, g.a.data[pc*g.a.cs:], g.a.cs, narrowRows, b, g.b.rs, beta, g.c, g.ldc, g.m, ws.tile)
			continue
		}
		for i := 0; i < g.m; i += narrowRows { // a panel at a time, read right after from L1
			rows := min(narrowRows, g.m-i)
			pack(ws.a, ws.stage, g.a, i, rows, pc, kc, narrowRows, g.simdPack)
			kern(kc, g.alpha, ws.a, narrowRows, narrowRows*kc, b, g.b.rs, beta, g.c[i*g.ldc:], g.ldc, rows, ws.tile)
		}
	}
	if !g.epilogue {
		return
	}
	if g.ldc == g.n {
		var bias []float32 // [n]
		if g.bias != nil {
			bias = g.bias[:g.n]
		}
		finishRows(g.c[:g.m*g.n], bias, g.act)
		return
	}
	g.finishPanel(0, 0, g.m, g.n)
}
