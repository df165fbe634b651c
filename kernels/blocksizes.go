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
//	       groups)
//	NCA    columns of B and C per pass when the whole of op(A) (≤ AL2
//	       floats) stays in L2: the packed B block KC×NCA and the C block
//	       (≤ MC×NCA) stay in L2 beside it (see loopsResidentA)
//	PackAT the width of C from which a transposed op(A) is packed rather
//	       than read in place (gemm.plan): a transposed A micro-panel read
//	       in place takes a new cache line at every k step, which the AVX2
//	       path's 6 floats a step pay for from n = 128 on and the AVX-512
//	       path's 12 not below packAMinN (bench/NOTES.md "Packing A or
//	       reading it in place")
//
// MR, NR, KC and PackAT belong to the ISA path (blockTable); MC, NC, AL2 and NCA
// to the CPU (Tuning, the table in tuning.go): they change which loop
// order runs and how the blocks are cut, never an element's sum.
type blockSizes struct {
	mr, nr     int
	mc, kc, nc int
	al2, nca   int
	packAT     int
}

// blockTable holds the register tile and KC of each ISA path, with the
// default MC, NC, AL2 and NCA of a CPU the tuning table does not know.
//
// Rule: KC decides the summation order, so it is fixed per ISA path, never
// per CPU model: one path gives the same bits on every machine. Sources:
// BLIS's sgemm kernels, zen4/zen5 32×12 (MC 512, KC 480, NC 6144) on
// column-stored C, haswell 6×16 (MC 168, KC 256, NC 4080) on row-stored C.
// C is row-major here, so the AVX-512 tile is BLIS zen4's transposed (12
// rows × 32 columns, vectors along the rows of C), as BLIS runs it on
// row-stored C; MC 480 is a multiple of 12 near 512. AVX-512 KC 1024: a
// k-block as deep as the MLP's k = 784 (C loaded and stored once), chosen
// on Zen 4; AVX2 keeps BLIS haswell's KC 256, whose KC×16 B micro-panel
// stays in L1 (bench/NOTES.md "Block sizes" and "AVX-512 KC 1024").
// Generic: 4×4 fits the 16 scalar registers of amd64 (32 on arm64); its
// blocks are the AVX2 ones scaled to the tile.
var blockTable = [...]blockSizes{
	Generic: {mr: 4, nr: 4, mc: 128, kc: 256, nc: 4096, al2: 128 * 256, nca: 128, packAT: 128},
	AVX2:    {mr: 6, nr: 16, mc: 168, kc: 256, nc: 4080, al2: 168 * 256, nca: 128, packAT: 128},
	AVX512:  {mr: 12, nr: 32, mc: 480, kc: 1024, nc: 6144, al2: 480 * 256, nca: 128, packAT: packAMinN},
}
