package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// TestUseTuneFile: the engine runs on a tuned file written for this CPU and
// says so; a corrupt or foreign one is ignored with a warning naming the
// table it falls back to; MLPSWEEP_TUNE_FILE=none reads nothing.
func TestUseTuneFile(t *testing.T) {
	isa := kernels.ActiveISA()
	prev, prevSource := kernels.ActiveTuning(isa), kernels.TuningSource()
	defer func() {
		if err := kernels.SetTuning(isa, prev, prevSource); err != nil {
			t.Fatal(err)
		}
	}()
	dir := t.TempDir()
	good := filepath.Join(dir, "tuned.json")
	tf := kernels.ThisTuneFile(isa, Version)
	tf.Tuning = kernels.TableTuning(isa)
	tf.Tuning.GroupColumns = 384
	if err := kernels.WriteTuneFile(good, tf); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.json")
	tf.Engine = Version + "-other"
	if err := kernels.WriteTuneFile(foreign, tf); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt.json")
	if err := os.WriteFile(corrupt, []byte("{\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env, source, warning string
	}{
		{good, "tuned: " + good, ""},
		{corrupt, prevSource, "not a tuned file"},
		{foreign, prevSource, "was tuned for"},
		{filepath.Join(dir, "missing.json"), prevSource, "no such file"},
		{"none", prevSource, ""},
	} {
		if err := kernels.SetTuning(isa, prev, prevSource); err != nil {
			t.Fatal(err)
		}
		t.Setenv(kernels.TuneFileEnv, c.env)
		var w bytes.Buffer
		useTuneFile(&w)
		if Blocks() != c.source {
			t.Errorf("%s: blocks from %q, want %q", filepath.Base(c.env), Blocks(), c.source)
		}
		if c.warning == "" && w.Len() > 0 || c.warning != "" && (!strings.Contains(w.String(), c.warning) || !strings.Contains(w.String(), "using the "+prevSource)) {
			t.Errorf("%s: warning %q, want one saying %q", filepath.Base(c.env), w.String(), c.warning)
		}
	}
}
