package sweeps

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// EngineVersion names the engine's numerics. Bump it whenever a change to
// package engine or kernels can change a trained model's numbers: stored
// units are reused only under the same version (see EngineID).
//
// Version 2: the batch order of a sweep's unit comes from ShuffleSeed (study
// seed, fold) instead of the unit seed, so that units of one fold can train
// fused; version-1 units saw other batches and are not reused.
const EngineVersion = "2"

// EngineID identifies what produced a unit's numbers: the engine version and
// the active kernel path, whose float32 roundings differ (AVX-512 and AVX2
// FMAs sum in other orders than portable Go). The GEMM thread count does not
// enter: threads split only the m and n loops, never a sum.
func EngineID() string { return EngineVersion + "/" + kernels.ActiveISA().String() }

// UnitSeed is the seed of the work unit that trains the config with key on
// fold (0-based) of a study seeded with studySeed: the first 8 bytes of
// SHA-256("mlpsweep unit/<studySeed>/<key>/<fold>"), big-endian, sign bit
// cleared. It depends on nothing else, so a unit's numbers are the same
// whichever worker runs it, in whatever order, in a sweep or in train.
func UnitSeed(studySeed int64, key string, fold int) int64 {
	sum := sha256.Sum256(fmt.Appendf(nil, "mlpsweep unit/%d/%s/%d", studySeed, key, fold))
	return int64(binary.BigEndian.Uint64(sum[:8]) & math.MaxInt64)
}

// ShuffleSeed is the seed of the batch order (engine.Model.SetShuffleSeed)
// of every unit trained on fold (0-based) of a study seeded with studySeed:
// the first 8 bytes of SHA-256("mlpsweep shuffle/<studySeed>/<fold>"),
// big-endian, sign bit cleared. It does not depend on the configuration, so
// the units of one fold with the same batch size and epoch count see the
// same batches and can train fused (engine.Group); their initial weights and
// dropout masks still come from their own UnitSeed.
func ShuffleSeed(studySeed int64, fold int) int64 {
	sum := sha256.Sum256(fmt.Appendf(nil, "mlpsweep shuffle/%d/%d", studySeed, fold))
	return int64(binary.BigEndian.Uint64(sum[:8]) & math.MaxInt64)
}
