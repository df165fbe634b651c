package study

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/mlpsweep/mlpsweep/engine"
)

// Params is a study's configuration: an engine.Normalized, normalized
// once where it entered (a study file, train's flags), without its seed,
// since every unit derives its own; the engine builds models from it
// without normalizing again (Normalized). Params that train the same model
// (adam at lr 0 and at lr 0.001, "HeNormal" and "he_normal") are equal and
// share a Key. Its JSON is the config's JSON without the seed; decoding
// normalizes again. The zero Params is not valid: make one with NewParams.
type Params struct {
	cfg engine.Normalized // Seed 0
	key string            // content hash of cfg
}

// NewParams normalizes c and drops its seed, or says why c does not
// normalize.
func NewParams(c engine.Config) (Params, error) {
	n, err := c.Normalized()
	if err != nil {
		return Params{}, err
	}
	return ParamsOf(n), nil
}

// ParamsOf is the Params of a configuration normalized already (a
// model's, engine.Model.Normalized), its seed dropped.
func ParamsOf(n engine.Normalized) Params {
	n = n.WithSeed(0)
	b, err := json.Marshal(n.Config())
	if err != nil { // a normalized config holds only finite numbers
		panic(fmt.Sprintf("study: a normalized config does not marshal: %v", err))
	}
	sum := sha256.Sum256(b)
	return Params{cfg: n, key: hex.EncodeToString(sum[:16])}
}

// Key is the content hash of the configuration: the first 16 bytes of the
// SHA-256 of its normalized JSON without the seed, in hex.
func (p Params) Key() string { return p.key }

// Config returns the configuration with the given seed (a copy: the caller
// may change it).
func (p Params) Config(seed int64) engine.Config { return p.cfg.WithSeed(seed).Config() }

// Normalized returns the configuration with the given seed, for the
// engine to build a model from (engine.NewNormalized).
func (p Params) Normalized(seed int64) engine.Normalized { return p.cfg.WithSeed(seed) }

// Hidden is the configuration's hidden layer widths (do not modify).
func (p Params) Hidden() []int { return p.cfg.Hidden() }

// Epochs is the configuration's number of training epochs.
func (p Params) Epochs() int { return p.cfg.Epochs() }

// MarshalJSON writes the configuration's keys without the seed.
func (p Params) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(p.cfg.Config())
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "seed")
	return json.Marshal(m)
}

// UnmarshalJSON reads a configuration and normalizes it.
func (p *Params) UnmarshalJSON(b []byte) error {
	var c engine.Config
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	n, err := NewParams(c)
	if err != nil {
		return fmt.Errorf("params: %w", err)
	}
	*p = n
	return nil
}

// withEpochs is p training for epochs (≥ 1) epochs.
func (p Params) withEpochs(epochs int) Params {
	c := p.Config(0)
	c.Epochs = epochs
	n, err := NewParams(c)
	if err != nil { // epochs ≥ 1 keeps a valid config valid
		panic(err)
	}
	return n
}
