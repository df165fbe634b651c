package sweeps

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// EngineVersion names the engine's numerics. Bump it whenever a change to
// package engine or kernels can change a trained model's numbers: stored
// units are reused only under the same version (see engineID).
const EngineVersion = "1"

// engineID identifies what produced a unit's numbers: the engine version and
// the active kernel path, whose float32 roundings differ (AVX-512 and AVX2
// FMAs sum in other orders than portable Go). The GEMM thread count does not
// enter: threads split only the m and n loops, never a sum.
func engineID() string { return EngineVersion + "/" + kernels.ActiveISA().String() }

// ConfigKey is the content hash of a configuration: the first 16 bytes of the
// SHA-256 of its normalized JSON with the seed left out, in hex. Configs that
// train the same model (adam at lr 0 and at lr 0.001, "HeNormal" and
// "he_normal") share a key. A config that does not normalize is hashed as is.
func ConfigKey(cfg engine.Config) string {
	if n, err := cfg.Normalize(); err == nil {
		cfg = n
	}
	cfg.Seed = 0
	b, err := json.Marshal(cfg)
	if err != nil { // NaN or Inf in a config that failed to normalize
		b = fmt.Appendf(nil, "%+v", cfg)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// UnitSeed is the seed of the work unit that trains the config with key on
// fold (0-based) of a study seeded with studySeed: the first 8 bytes of
// SHA-256("mlpsweep unit/<studySeed>/<key>/<fold>"), big-endian, sign bit
// cleared. It depends on nothing else, so a unit's numbers are the same
// whichever worker runs it, in whatever order, in a sweep or in train.
func UnitSeed(studySeed int64, key string, fold int) int64 {
	sum := sha256.Sum256(fmt.Appendf(nil, "mlpsweep unit/%d/%s/%d", studySeed, key, fold))
	return int64(binary.BigEndian.Uint64(sum[:8]) & math.MaxInt64)
}
