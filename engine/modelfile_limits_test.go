package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/internal/allocs"
)

// reseal returns a checkpoint's bytes with its checksum recomputed after
// edit changed its tensors or metadata, as a careful forger would.
func reseal(t testing.TB, b []byte, edit func(map[string]stTensor, map[string]string)) []byte {
	t.Helper()
	tensors, meta, err := readSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(tensors, meta)
	}
	ts := inFileOrder(tensors)
	sum, err := checksum(ts, meta)
	if err != nil {
		t.Fatal(err)
	}
	meta[metaChecksum] = sum
	var buf bytes.Buffer
	if err := writeSafetensors(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCheckpointChecksum: a checkpoint whose bytes were altered by hand (a
// negative Adam second moment, a changed epoch) is refused by its
// checksum; a forged one with the checksum recomputed is still refused
// when its optimizer state is impossible; an untouched one re-sealed loads.
func TestCheckpointChecksum(t *testing.T) {
	cfg := Config{Hidden: []int{6}, Optimizer: "adam", Epochs: 3, Batch: 16, Seed: 7}
	data := blobs(60, 5, 3, 9)
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.safetensors")
	m := mustNew(t, cfg, 5, 3)
	if _, err := m.Fit(context.Background(), data, nil, func(s EpochStats) {
		if s.Epoch == 1 {
			if err := m.SaveCheckpoint(path, testInfo); err != nil {
				t.Fatal(err)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	tensors, meta, err := readSafetensors(good)
	if err != nil || !strings.HasPrefix(meta[metaChecksum], "sha256:") {
		t.Fatalf("checkpoint metadata %v, %v", meta, err)
	}
	v := tensors["optimizer.slot2"]
	// Flip the sign of the first second moment in place.
	hlen := int(binary.LittleEndian.Uint64(good))
	at := 8 + hlen + int(v.begin)
	negative := bytes.Clone(good)
	binary.LittleEndian.PutUint32(negative[at:], math.Float32bits(-float32(math.Abs(float64(v.f32[0])))-1))
	negEpoch := bytes.Replace(good, []byte(`\"epoch\":1`), []byte(`\"epoch\":2`), 1)
	if bytes.Equal(negEpoch, good) {
		t.Fatal("fixture: epoch not found in the metadata")
	}
	noSum := reseal(t, good, func(_ map[string]stTensor, meta map[string]string) {})
	{
		ts, meta, _ := readSafetensors(noSum)
		delete(meta, metaChecksum)
		var buf bytes.Buffer
		writeSafetensors(&buf, inFileOrder(ts), meta)
		noSum = buf.Bytes()
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"negative second moment", negative, "does not match its checksum"},
		{"other epoch", negEpoch, "does not match its checksum"},
		{"no checksum", noSum, "mlpsweep.checksum is missing"},
		{"forged negative second moment", reseal(t, good, func(ts map[string]stTensor, _ map[string]string) {
			ts["optimizer.slot2"].f32[3] = -0.5
		}), "tensor optimizer.slot2 holds -0.5 at index 3"},
		{"resealed untouched", reseal(t, good, nil), ""},
	} {
		p := filepath.Join(dir, "x.safetensors")
		os.WriteFile(p, tc.file, 0o644)
		_, _, _, err := LoadCheckpoint(p, nil)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if _, _, err := Load(p, nil); tc.name != "forged negative second moment" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Load err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestLoadBoundsMemory: a device that never ends, a huge sparse file and a
// header announcing more than the limit are refused at once, allocating
// next to nothing.
func TestLoadBoundsMemory(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse.safetensors")
	f, _ := os.Create(sparse)
	f.Truncate(1500 << 20)
	f.Close()
	// A sparse file behind a header that announces a 1.4 GB tensor.
	header := `{"a":{"dtype":"F32","shape":[350000000],"data_offsets":[0,1400000000]}}`
	bigHeader := filepath.Join(dir, "big.safetensors")
	f, _ = os.Create(bigHeader)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	f.Write(n[:])
	f.WriteString(header)
	f.Truncate(int64(8 + len(header) + 1400000000))
	f.Close()
	cases := map[string]string{
		sparse:    "header does not start with '{'",
		bigHeader: "exceed the limit of 1073741824 bytes for a model file",
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases["/dev/zero"] = "header does not start with '{'"
	}
	for path, want := range cases {
		bound := allocs.Bound(t, 10<<20)
		_, _, err := Load(path, nil)
		bound()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", path, err, want)
		}
	}
}
