package kernels

// blockSizes are the register tile (MR×NR) and cache blocks (MC, KC, NC) of
// one ISA path of the GEMM. MC is a multiple of MR and NC of NR.
//
//	MR×NR  micro-tile of C held in registers by the micro-kernel
//	KC     depth of one k-block: each tile of C is loaded and stored once
//	       per k-block, and the k-blocks fix each element's summation order
//	MC     rows of the packed A block (MC×KC)
//	NC     columns of the packed B block (KC×NC), which stays in L3
//	AL2    floats of op(A), packed whole (all of k), that stay in L2
//	       while B and C stream past (loopsResidentA, SgemmBlocks' row
//	       groups): MC×256, the A block of KC 256, whatever KC is
//	NCA    columns of B and C per pass when the whole of op(A) (≤ AL2
//	       floats) stays in L2: the packed B block KC×NCA and the C block
//	       (≤ MC×NCA) stay in L2 beside it (see loopsResidentA)
type blockSizes struct {
	mr, nr     int
	mc, kc, nc int
	al2, nca   int
}

// blockTable holds the block sizes of each ISA path.
//
// Sources. BLIS's sgemm kernels: zen4/zen5 32×12 (MC 512, KC 480, NC 6144)
// on column-stored C, haswell 6×16 (MC 168, KC 256, NC 4080) on row-stored
// C. C is row-major here, so the AVX-512 tile is BLIS zen4's transposed
// (12 rows × 32 columns, vectors along the rows of C), as BLIS itself runs it
// on row-stored C; MC 480 is a multiple of 12 near 512. AVX-512 KC 1024:
// on Zen 4 a k-block as deep as the MLP's k = 784 (one k-block, C loaded
// and stored once) beat or tied the L1-sized 256 on the products with
// k > 256 (m128n128k784 +1.6 %, 2048³ +5.7 %; the 784-128-10 epoch −3.3 %
// with the row edges), though the KC×32 B micro-panel then streams from
// L2, and the standard order's MC×KC A block from L3 (bench/NOTES.md).
// KC decides the summation order, so it is fixed per ISA path, never per
// CPU model: one path gives the same bits on every machine. The AVX2 tile and
// blocks are BLIS haswell's unchanged: BenchmarkBlockSizes found nothing
// better on an AVX2 machine, and a larger KC loses because the KC×16 B
// micro-panel must stay in a 32 KiB L1 (re-reading C per k-block costs
// less); figures in bench/NOTES.md. NCA keeps a C block of at most
// MC×NCA and a KC×NCA B block in L2 beside the resident A (≤ AL2);
// BenchmarkResidentA found widths 32–512 alike on AVX-512 (bench/NOTES.md).
// Generic: 4×4 fits the 16 scalar registers of amd64 (32 on arm64); its
// blocks are the AVX2 ones scaled to the tile.
var blockTable = [...]blockSizes{
	Generic: {mr: 4, nr: 4, mc: 128, kc: 256, nc: 4096, al2: 128 * 256, nca: 128},
	AVX2:    {mr: 6, nr: 16, mc: 168, kc: 256, nc: 4080, al2: 168 * 256, nca: 128},
	AVX512:  {mr: 12, nr: 32, mc: 480, kc: 1024, nc: 6144, al2: 480 * 256, nca: 128},
}
