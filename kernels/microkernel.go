package kernels

//go:generate go run -C ../_gen ./gemm -set microkernel -out ../kernels/microkernel_gen_amd64.s -stubs ../kernels/microkernel_gen_amd64.go -pkg kernels
//go:generate go run -C ../_gen ./gemm -set pack -out ../kernels/pack_gen_amd64.s -stubs ../kernels/pack_gen_amd64.go -pkg kernels
//go:generate go run -C ../_gen ./gemm -set peak -out ../kernels/peak_gen_amd64.s -stubs ../kernels/peak_gen_amd64.go -pkg kernels

// microKernel is the contract every micro-kernel implements. It updates
// the m×nr panel of C below c (m ≥ 1, 1 ≤ nr ≤ NR) as a column of MR×NR
// tiles, one call per B micro-panel rather than per tile:
//
//	for i < m, j < nr: with t, r = i / MR, i % MR:
//		ab := Σ_{p<k} a[t·psA + r·rsA + p·csA] · b[p·csB + j]
//		c[i·ldc + j] = alpha·ab + beta·c[i·ldc + j]   (beta = 0: c is not read)
//
// that is C[MR×NR] = alpha·Ap·Bp + beta·C per tile, with Ap the MR×k
// micro-panel of A at a[t·psA:] and Bp the k×NR micro-panel of B. Packed
// panels have rsA = 1, csA = MR, psA = MR·k, csB = NR and are zero-padded
// to MR rows and NR columns, so a kernel may read all MR rows of each A
// panel and NR columns of b. Full A panels may instead be read in place
// (rsA, csA the strides of op(A), psA = MR·rsA). The driver passes beta
// only on the first k-block of a tile and 1 afterwards, so beta is applied
// exactly once.
type microKernel func(k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int)

// tilesGo runs a one-tile kernel of mr rows over the tiles of a panel: the
// microKernel contract for kernels written tile by tile in Go.
func tilesGo(tile func(k int, alpha float32, a []float32, rsA, csA int, b []float32, csB int, beta float32, c []float32, ldc, mr, nr int), mr int) microKernel {
	return func(k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int) {
		for i := 0; i < m; i += mr {
			tile(k, alpha, a[i/mr*psA:], rsA, csA, b, csB, beta, c[i*ldc:], ldc, min(mr, m-i), nr)
		}
	}
}

// microKernelGo is the portable micro-kernel (MR×NR = 4×4).
var microKernelGo = tilesGo(tileGo, 4)

// tileGo computes one 4×4 tile (mr ≤ 4 rows of it stored), the reference
// loop of the contract with the tile held in sixteen scalars.
func tileGo(k int, alpha float32, a []float32, rsA, csA int, b []float32, csB int, beta float32, c []float32, ldc, mr, nr int) {
	var (
		c00, c01, c02, c03 float32
		c10, c11, c12, c13 float32
		c20, c21, c22, c23 float32
		c30, c31, c32, c33 float32
	)
	for p, ia := 0, 0; p < k; p, ia = p+1, ia+csA {
		a0, a1, a2, a3 := a[ia], a[ia+rsA], a[ia+2*rsA], a[ia+3*rsA]
		bp := (*[4]float32)(b[p*csB:])
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	ab := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		for j := range row {
			if beta == 0 {
				row[j] = alpha * ab[i][j]
			} else {
				row[j] = alpha*ab[i][j] + beta*row[j]
			}
		}
	}
}
