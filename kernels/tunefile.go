package kernels

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/cpuid/v2"

	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
)

// TuneFile is what `mlpsweep tune` writes: the Tuning it measured on one
// CPU (vendor, family, model), ISA path and engine version. A process whose
// CPU, path or engine differ ignores it (LoadTuneFile).
type TuneFile struct {
	Vendor   string `json:"vendor"`
	Family   int    `json:"family"`
	Model    int    `json:"model"`
	ISA      string `json:"isa"`
	Engine   string `json:"engine"`
	Tuning   Tuning `json:"tuning"`
	Measured string `json:"measured,omitempty"` // when and how, for people
}

// ThisTuneFile is the TuneFile key of this CPU on isa for engine version
// engine, with the Tuning in force.
func ThisTuneFile(isa ISA, engine string) TuneFile {
	return TuneFile{Vendor: cpuid.CPU.VendorID.String(), Family: cpuid.CPU.Family, Model: cpuid.CPU.Model,
		ISA: isa.String(), Engine: engine, Tuning: ActiveTuning(isa)}
}

// TuneFileEnv names the environment variable that points the engine at a
// tuned file other than the default one (TuneFilePath); "none" reads none.
const TuneFileEnv = "MLPSWEEP_TUNE_FILE"

// TuneFilePath returns where the tuned file of this CPU on isa for engine
// version engine lives: $MLPSWEEP_TUNE_FILE when set, else
// <user cache dir>/mlpsweep/tune-<vendor>-family<F>-model<M>-<isa>-engine<V>.json.
func TuneFilePath(isa ISA, engine string) (string, error) {
	if p := os.Getenv(TuneFileEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	k := ThisTuneFile(isa, engine)
	name := fmt.Sprintf("tune-%s-family%d-model%d-%s-engine%s.json", strings.ToLower(k.Vendor), k.Family, k.Model, k.ISA, k.Engine)
	return filepath.Join(dir, "mlpsweep", name), nil
}

// maxTuneFile bounds what LoadTuneFile reads: a tuned file is a few hundred
// bytes.
const maxTuneFile = 64 << 10

// LoadTuneFile puts the Tuning of the tuned file at path in force on isa.
// It fails, changing nothing, when the file cannot be read (the error
// wraps fs.ErrNotExist when there is none), is not a tuned file, was
// written for another CPU, path or engine version, or holds blocks the
// path cannot run.
func LoadTuneFile(path string, isa ISA, engine string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTuneFile+1))
	if err != nil {
		return err
	}
	if len(data) > maxTuneFile {
		return fmt.Errorf("%s: larger than %d bytes, not a tuned file", path, maxTuneFile)
	}
	var tf TuneFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tf); err != nil {
		return fmt.Errorf("%s: not a tuned file: %v", path, err)
	}
	want := ThisTuneFile(isa, engine)
	if tf.Vendor != want.Vendor || tf.Family != want.Family || tf.Model != want.Model || tf.ISA != want.ISA || tf.Engine != want.Engine {
		return fmt.Errorf("%s was tuned for %s family %d model %d, %s path, engine %s; this is %s family %d model %d, %s path, engine %s",
			path, tf.Vendor, tf.Family, tf.Model, tf.ISA, tf.Engine, want.Vendor, want.Family, want.Model, want.ISA, want.Engine)
	}
	if err := SetTuning(isa, tf.Tuning, "tuned: "+path); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// WriteTuneFile writes tf to path (its directory created), replacing any
// file there only once the new one is complete.
func WriteTuneFile(path string, tf TuneFile) error {
	data, err := json.MarshalIndent(tf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'))
}
