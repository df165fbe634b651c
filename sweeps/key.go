package sweeps

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/mlpsweep/mlpsweep/engine"
)

// EngineID identifies what produced a unit's numbers: engine.Identity, the
// engine version and the active kernel path.
func EngineID() string { return engine.Identity() }

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
