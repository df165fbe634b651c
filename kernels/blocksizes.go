package kernels

// blockSizes are the register tile (MR×NR) and cache blocks (MC, KC, NC) of
// one ISA path of the GEMM. MC is a multiple of MR and NC of NR.
//
//	MR×NR  micro-tile of C held in registers by the micro-kernel
//	KC     depth of one packed slice: a B micro-panel KC×NR stays in L1
//	MC     rows of the packed A block (MC×KC), which stays in L2
//	NC     columns of the packed B block (KC×NC), which stays in L3
//	NCA    columns of B and C per pass when the whole of op(A) (≤ MC×KC
//	       floats) stays in L2: the packed B block KC×NCA and the C block
//	       (≤ MC×NCA) stay in L2 beside it (see loopsResidentA)
type blockSizes struct {
	mr, nr     int
	mc, kc, nc int
	nca        int
}

// blockTable holds the block sizes of each ISA path.
//
// Sources. BLIS's sgemm kernels: zen4/zen5 32×12 (MC 512, KC 480, NC 6144)
// on column-stored C, haswell 6×16 (MC 168, KC 256, NC 4080) on row-stored
// C. C is row-major here, so the AVX-512 tile is BLIS zen4's transposed
// (12 rows × 32 columns, vectors along the rows of C), as BLIS itself runs it
// on row-stored C. With this loop order the B micro-panel KC×32 must fit L1
// (48 KiB on Zen 5), hence KC 256 instead of 480, and MC 480 (a multiple of
// 12 near 512) keeps the A block in Zen 5's 1 MiB L2. The AVX2 tile and
// blocks are BLIS haswell's unchanged: BenchmarkBlockSizes found nothing
// better on an AVX2 machine, and a larger KC loses because the KC×16 B
// micro-panel must stay in a 32 KiB L1 (re-reading C per k-block costs
// less); figures in bench/NOTES.md. NCA keeps a C block of at most
// MC×NCA and a KC×NCA B block in L2 beside the resident A (≤ MC×KC);
// BenchmarkResidentA found widths 32–512 alike on AVX-512 (bench/NOTES.md).
// Generic: 4×4 fits the 16 scalar registers of amd64 (32 on arm64); its
// blocks are the AVX2 ones scaled to the tile.
var blockTable = [...]blockSizes{
	Generic: {mr: 4, nr: 4, mc: 128, kc: 256, nc: 4096, nca: 128},
	AVX2:    {mr: 6, nr: 16, mc: 168, kc: 256, nc: 4080, nca: 128},
	AVX512:  {mr: 12, nr: 32, mc: 480, kc: 256, nc: 6144, nca: 128},
}
