package engine

import "github.com/mlpsweep/mlpsweep/kernels"

// Version names the engine's numerics. Bump it whenever a change to package
// engine or kernels can change a trained model's numbers: model files
// record it (Identity), and sweeps reuses stored units only under the same
// version (sweeps.EngineID).
//
// Version 2: the batch order of a sweep's unit comes from the shuffle seed
// of its (study seed, fold) (sweeps.ShuffleSeed), so that the units of one
// fold can train fused; version-1 units saw other batches.
//
// Version 3: the AVX-512 GEMM sums k in blocks of up to 1024 (KC), not
// 256, so products with k > 256 (a first layer of 784 inputs) round
// differently on the AVX-512 path (the other paths' numbers are unchanged).
const Version = "3"

// Identity names what produces a model's numbers: Version and the active
// kernels ISA path, whose float32 roundings differ (AVX-512 and AVX2 FMAs
// sum in other orders than portable Go), e.g. "1/avx512". The GEMM thread
// count does not enter: threads split only the m and n loops, never a sum.
func Identity() string { return Version + "/" + kernels.ActiveISA().String() }
