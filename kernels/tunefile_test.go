package kernels

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTuneFile: a tuned file written for this CPU, path and engine is put
// in force and named by TuningSource; one that is missing, corrupt, too
// large, for another CPU, path or engine, with unknown fields or blocks
// the path cannot run is refused with an error saying why, and changes
// nothing.
func TestTuneFile(t *testing.T) {
	isa := ActiveISA()
	dir := t.TempDir()
	before, source := ActiveTuning(isa), TuningSource()
	defer func() { applyTuning(isa, before); tuningSource = source }()

	tuned := ThisTuneFile(isa, "7")
	bs := blockTable[isa]
	tuned.Tuning = Tuning{MC: 2 * bs.mr, NC: 3 * bs.nr, AL2: 4 * bs.mr * 64, NCA: 2 * bs.nr, NextPanel: true, GroupColumns: 640}
	good := filepath.Join(dir, "sub", "good.json")
	if err := WriteTuneFile(good, tuned); err != nil {
		t.Fatal(err)
	}
	if err := LoadTuneFile(good, isa, "7"); err != nil {
		t.Fatal(err)
	}
	if ActiveTuning(isa) != tuned.Tuning || TuningSource() != "tuned: "+good || GroupColumns() != 640 {
		t.Fatalf("after loading: tuning %+v from %q, group columns %d", ActiveTuning(isa), TuningSource(), GroupColumns())
	}
	applyTuning(isa, before)
	tuningSource = source

	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	variant := func(name string, change func(*TuneFile)) string {
		tf := tuned
		change(&tf)
		p := filepath.Join(dir, name)
		if err := WriteTuneFile(p, tf); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path, engine, why string
	}{
		{filepath.Join(dir, "missing.json"), "7", "no such file"},
		{write("corrupt.json", `{"vendor": "AMD", "family": 25,`), "7", "not a tuned file"},
		{write("other.json", `{"name": "something else"}`), "7", "not a tuned file"},
		{write("large.json", strings.Repeat(" ", maxTuneFile+1)), "7", "larger than"},
		{good, "8", "engine 7"},
		{variant("model.json", func(tf *TuneFile) { tf.Model++ }), "7", "was tuned for"},
		{variant("vendor.json", func(tf *TuneFile) { tf.Vendor = "SomeoneElse" }), "7", "was tuned for"},
		{variant("isa.json", func(tf *TuneFile) { tf.ISA = ISA((isa + 1) % AVX512).String() }), "7", "was tuned for"},
		{variant("blocks.json", func(tf *TuneFile) { tf.Tuning.MC = bs.mr + 1 }), "7", "not a multiple of MR"},
	} {
		err := LoadTuneFile(c.path, isa, c.engine)
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("LoadTuneFile(%s, engine %s) = %v, want an error saying %q", filepath.Base(c.path), c.engine, err, c.why)
		}
		if ActiveTuning(isa) != before || TuningSource() != source {
			t.Errorf("%s: a refused file changed the tuning in force", filepath.Base(c.path))
		}
	}
	if err := LoadTuneFile(filepath.Join(dir, "missing.json"), isa, "7"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestTuneFilePath: the default path is in the user's cache directory,
// named by CPU, path and engine; MLPSWEEP_TUNE_FILE overrides it.
func TestTuneFilePath(t *testing.T) {
	t.Setenv(TuneFileEnv, "")
	t.Setenv("XDG_CACHE_HOME", "/cache")
	t.Setenv("HOME", "/home/u")
	p, err := TuneFilePath(AVX2, "3")
	if err != nil {
		t.Fatal(err)
	}
	k := ThisTuneFile(AVX2, "3")
	if dir, _ := os.UserCacheDir(); !strings.HasPrefix(p, filepath.Join(dir, "mlpsweep")+string(filepath.Separator)) ||
		!strings.Contains(p, "-avx2-engine3.json") || !strings.Contains(p, strings.ToLower(k.Vendor)) {
		t.Errorf("TuneFilePath = %q", p)
	}
	t.Setenv(TuneFileEnv, "/elsewhere/t.json")
	if p, _ := TuneFilePath(AVX2, "3"); p != "/elsewhere/t.json" {
		t.Errorf("with %s set: %q", TuneFileEnv, p)
	}
}
