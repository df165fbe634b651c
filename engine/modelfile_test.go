package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/internal/allocs"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// fileConfigs cover every kind of tensor a model file holds: plain relu,
// three tanh layers with dropout and L2, batch norm with skip connections.
var fileConfigs = map[string]Config{
	"relu":      {Hidden: []int{16}, Activation: "relu", Epochs: 2, Batch: 32, Seed: 3},
	"tanh3":     {Hidden: []int{12, 8, 6}, Activation: "tanh", Dropout: 0.2, L2: 1e-4, Optimizer: "sgd", Momentum: 0.9, Epochs: 2, Batch: 16, Seed: 4},
	"batchnorm": {Hidden: []int{10, 10}, Activation: "elu", BatchNorm: true, Residual: true, Optimizer: "rmsprop", Epochs: 2, Batch: 20, Seed: 5},
}

var testInfo = ModelInfo{
	Engine: "1/test", Data: "blobs", DataSHA256: "abc", Classes: []string{"a", "b", "c"},
	Scaling:  &datasets.Scaling{Method: "standardize", Unit: []float64{1, 2, 4, 8, 0.5}, Shift: []float64{0, 1, 2, 3, 4}, Factor: []float64{1, 1, 0, 2, 3}},
	Metrics:  map[string]float64{"test_accuracy": 0.75},
	Features: []string{"f1", "f2", "f3", "f4", "f5"},
}

// trained returns a model of cfg trained on 5-feature, 3-class blobs.
func trained(t testing.TB, cfg Config) (*Model, Data) {
	t.Helper()
	data := blobs(150, 5, 3, 9)
	m := mustNew(t, cfg, 5, 3)
	if _, err := m.Fit(context.Background(), data, nil, nil); err != nil {
		t.Fatal(err)
	}
	return m, data
}

func predictAll(t testing.TB, m *Model, d Data) []float32 {
	t.Helper()
	rows := len(d.X) / m.in
	p := make([]float32, rows*m.out)
	if err := m.Predict(d.X, rows, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSaveLoadBitIdentical: on every ISA path, a saved and loaded model
// predicts bit-identical probabilities and keeps its config and info.
func TestSaveLoadBitIdentical(t *testing.T) {
	prev := kernels.ActiveISA()
	defer kernels.SetISA(prev)
	for isa := kernels.Generic; isa <= kernels.DetectedISA(); isa++ {
		if err := kernels.SetISA(isa); err != nil {
			t.Fatal(err)
		}
		for name, cfg := range fileConfigs {
			t.Run(isa.String()+"/"+name, func(t *testing.T) {
				m, data := trained(t, cfg)
				path := filepath.Join(t.TempDir(), "m.safetensors")
				if err := m.Save(path, testInfo); err != nil {
					t.Fatal(err)
				}
				got, info, err := Load(path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !sameBits(predictAll(t, m, data), predictAll(t, got, data)) {
					t.Fatal("loaded model predicts other probabilities")
				}
				if !sameBits(m.params, got.params) || !sameBits(m.moving, got.moving) {
					t.Fatal("parameters or moving statistics differ")
				}
				// Predicting sizes the inference buffers only: a model file
				// costs no training buffers until it is trained.
				if got.train.ready || got.train.y != nil || !got.eval.ready {
					t.Fatalf("after Predict: training buffers ready %v (%d layers), inference ready %v", got.train.ready, len(got.train.y), got.eval.ready)
				}
				l1, a1 := m.Evaluate(data)
				l2, a2 := got.Evaluate(data)
				if l1 != l2 || a1 != a2 {
					t.Fatalf("Evaluate %v %v, loaded %v %v", l1, a1, l2, a2)
				}
				gc, mc := got.Config(), m.Config()
				if !slices.Equal(gc.Hidden, mc.Hidden) || gc.Activation != mc.Activation || gc.BatchNorm != mc.BatchNorm || gc.Dropout != mc.Dropout || gc.Seed != mc.Seed {
					t.Fatalf("config %+v, saved %+v", gc, mc)
				}
				if !slices.Equal(info.Classes, testInfo.Classes) || info.Metrics["test_accuracy"] != 0.75 || !slices.Equal(info.Scaling.Factor, testInfo.Scaling.Factor) || info.Engine != "1/test" ||
					!slices.Equal(info.Features, testInfo.Features) {
					t.Fatalf("info %+v", info)
				}
			})
		}
	}
}

// TestModelFileLayout reads a file as another ecosystem would: the
// documented tensor names, shapes and little-endian float32 bytes.
func TestModelFileLayout(t *testing.T) {
	m, _ := trained(t, fileConfigs["batchnorm"])
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path, ModelInfo{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 || b[8] != '{' {
		t.Fatalf("header length %d, first byte %q", n, b[8])
	}
	tensors, meta, err := readSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if meta["mlpsweep.format"] != "model 1" || meta["mlpsweep.inputs"] != "5" || !strings.Contains(meta["mlpsweep.config"], `"batch_norm":true`) {
		t.Fatalf("metadata %v", meta)
	}
	want := map[string][]int{
		"dense_1.kernel": {5, 10}, "dense_1.bias": {10}, "dense_2.kernel": {10, 10}, "dense_2.bias": {10}, "dense_3.kernel": {10, 3}, "dense_3.bias": {3},
	}
	for _, l := range []string{"1", "2"} {
		for _, s := range []string{"gamma", "beta", "moving_mean", "moving_variance"} {
			want["batch_norm_"+l+"."+s] = []int{10}
		}
	}
	if len(tensors) != len(want) {
		t.Fatalf("%d tensors, want %d", len(tensors), len(want))
	}
	for name, shape := range want {
		if !slices.Equal(tensors[name].shape, shape) {
			t.Fatalf("%s: shape %v, want %v", name, tensors[name].shape, shape)
		}
	}
	if !sameBits(tensors["dense_2.kernel"].f32, m.layers[1].w) || !sameBits(tensors["batch_norm_2.moving_variance"].f32, m.layers[1].bn.movingVar) {
		t.Fatal("tensor bytes are not the parameters")
	}
}

// stFile builds a safetensors file by hand: header JSON text and data.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// TestSafetensorsRules checks the reader against the format's rules.
func TestSafetensorsRules(t *testing.T) {
	eight := make([]byte, 8)
	for _, c := range []struct {
		name, header string
		data         []byte
		err          string // "" for a valid file
	}{
		{"valid", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight, ""},
		{"space padding", `{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}    `, eight, ""},
		{"metadata", `{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight, ""},
		{"scalar and empty", `{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight, ""},
		{"leading space", ` {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight, "does not start with '{'"},
		{"trailing junk", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  x`, eight, "after its JSON object"},
		{"duplicate", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight, `names "a" twice`},
		{"metadata not strings", `{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight, "not a map of strings"},
		{"gap", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight, "starts at offset 4, want 0"},
		{"overlap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight, "starts at offset 4, want 8"},
		{"past the end", `{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight, "outside the 8 data bytes"},
		{"size vs shape", `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight, "take 12"},
		{"unknown dtype", `{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}`, eight, `dtype "F16"`},
		{"negative dim", `{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, eight, "negative dimension"},
		{"huge shape", `{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, eight, "larger than the file"},
		{"trailing data", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight, "cover 4 of the 8"},
		{"missing offsets", `{"a":{"dtype":"F32","shape":[2]}}`, eight, "want dtype, shape and data_offsets"},
		{"unknown field", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, eight, "unknown field"},
		{"not JSON", `{"a":`, eight, "header JSON"},
	} {
		_, _, err := readSafetensors(stFile(c.header, c.data))
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
	huge := binary.LittleEndian.AppendUint64(nil, stMaxHeader+1)
	if _, _, err := readSafetensors(append(huge, '{', '}')); err == nil || !strings.Contains(err.Error(), "exceeds the format's limit") {
		t.Errorf("huge header: %v", err)
	}
}

// corrupt returns a copy of b changed by f.
func corrupt(b []byte, f func([]byte) []byte) []byte { return f(slices.Clone(b)) }

// TestLoadRejectsBadFiles: truncated, foreign, reshaped, altered and
// non-finite files are errors that say what is wrong.
func TestLoadRejectsBadFiles(t *testing.T) {
	m, _ := trained(t, fileConfigs["relu"])
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := m.Save(good, testInfo); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	n := int(binary.LittleEndian.Uint64(b))
	tensors, meta, err := readSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(edit func(ts []stTensor, meta map[string]string) []stTensor) []byte {
		ts := m.tensors()
		for i := range ts {
			ts[i].f32 = slices.Clone(tensors[ts[i].name].f32)
		}
		meta2 := map[string]string{}
		for k, v := range meta {
			meta2[k] = v
		}
		ts = edit(ts, meta2)
		var buf bytes.Buffer
		if err := writeSafetensors(&buf, ts, meta2); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	cases := []struct {
		name string
		file []byte
		err  string
	}{
		{"empty", nil, "too short"},
		{"truncated in the header", b[:8+n/2], "runs past the end"},
		{"truncated in the data", b[:len(b)-3], "but the file has"},
		{"one byte short", b[:len(b)-1], "but the file has"},
		{"extra byte", append(slices.Clone(b), 0), "but the file has"},
		{"wrong magic", corrupt(b, func(c []byte) []byte { c[8] = '['; return c }), "does not start with '{'"},
		{"header length", corrupt(b, func(c []byte) []byte { binary.LittleEndian.PutUint64(c, 1<<40); return c }), "exceeds the format's limit"},
		{"not ours", rewrite(func(ts []stTensor, meta map[string]string) []stTensor { delete(meta, "mlpsweep.format"); return ts }), "not an mlpsweep model file"},
		{"shape mismatch", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			ts[0].shape, ts[0].f32 = []int{4, 16}, ts[0].f32[:64]
			return ts
		}), "tensor dense_1.kernel has shape [4 16]; the configuration (5 inputs, hidden [16], 3 outputs) needs [5 16]"},
		{"config altered", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			meta["mlpsweep.config"] = strings.Replace(meta["mlpsweep.config"], `"hidden":[16]`, `"hidden":[17]`, 1)
			return ts
		}), "tensor dense_1.kernel has shape [5 16]"},
		{"missing tensor", rewrite(func(ts []stTensor, meta map[string]string) []stTensor { return ts[:3] }), "tensor dense_2.bias is missing"},
		{"extra tensor", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			return append(ts, stTensor{name: "dense_9.bias", shape: []int{1}, f32: []float32{0}})
		}), "tensor dense_9.bias is not part of this configuration"},
		{"NaN weight", rewrite(func(ts []stTensor, meta map[string]string) []stTensor { ts[2].f32[7] = float32(math.NaN()); return ts }), "tensor dense_2.kernel holds NaN at index 7"},
		{"Inf bias", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			ts[1].f32[0] = float32(math.Inf(-1))
			return ts
		}), "tensor dense_1.bias holds -Inf"},
		{"unknown config key", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			meta["mlpsweep.config"] = `{"hidden":[16],"colour":"red"}`
			return ts
		}), `unknown field "colour"`},
		{"bad activation", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			meta["mlpsweep.config"] = strings.Replace(meta["mlpsweep.config"], `"relu"`, `"swish"`, 1)
			return ts
		}), `activation: unknown value "swish"`},
		{"classes", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			meta["mlpsweep.info"] = strings.Replace(meta["mlpsweep.info"], `"a","b","c"`, `"a","b"`, 1)
			return ts
		}), "2 class labels for 3 outputs"},
		{"feature names", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			meta["mlpsweep.info"] = strings.Replace(meta["mlpsweep.info"], `"f1",`, ``, 1)
			return ts
		}), "4 feature names for 5 inputs"},
		{"huge batch", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			meta["mlpsweep.config"] = strings.Replace(meta["mlpsweep.config"], `"batch":32`, `"batch":100000000`, 1)
			return ts
		}), "more than a model file of"},
		{"batch of 2M (776 MB of buffers for 150 parameters)", rewrite(func(ts []stTensor, meta map[string]string) []stTensor {
			meta["mlpsweep.config"] = strings.Replace(meta["mlpsweep.config"], `"batch":32`, `"batch":2000000`, 1)
			return ts
		}), "more than a model file of"},
		{"model as checkpoint", b, "a model file, not a checkpoint"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
		if err := os.WriteFile(path, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		if c.name == "model as checkpoint" {
			_, _, _, err = LoadCheckpoint(path, nil)
		} else {
			_, _, err = Load(path, nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), path) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
}

func TestSaveRefusesDivergedModels(t *testing.T) {
	m, _ := trained(t, fileConfigs["relu"])
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path, ModelInfo{Metrics: map[string]float64{"loss": math.NaN()}}); err == nil || !strings.Contains(err.Error(), "metric loss is NaN") {
		t.Fatalf("NaN metric: %v", err)
	}
	m.params[3] = float32(math.Inf(1))
	if err := m.Save(path, ModelInfo{}); err == nil || !strings.Contains(err.Error(), "non-finite parameters") {
		t.Fatalf("Inf weight: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a refused model left a file: %v", err)
	}
}

// TestCheckpointResume: a run checkpointed after epoch 2, loaded and
// continued ends bit-identical to the run that went on, with dropout, batch
// norm and an optimizer with state.
func TestCheckpointResume(t *testing.T) {
	cfg := Config{Hidden: []int{12, 12}, BatchNorm: true, Dropout: 0.3, Optimizer: "adam", Epochs: 5, Batch: 16, Seed: 7}
	data := blobs(150, 5, 3, 9)
	train, val := Data{X: data.X, Y: data.Y, Rows: rowRange(0, 120)}, Data{X: data.X, Y: data.Y, Rows: rowRange(120, 150)}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	ref := mustNew(t, cfg, 5, 3)
	refHist, err := ref.Fit(context.Background(), train, &val, func(s EpochStats) {
		if s.Epoch == 2 {
			if err := ref.SaveCheckpoint(path, testInfo); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	m, info, epoch, err := LoadCheckpoint(path, nil)
	if err != nil || epoch != 2 || info.Data != "blobs" {
		t.Fatalf("LoadCheckpoint: epoch %d, %v", epoch, err)
	}
	hist, err := m.Fit(context.Background(), train, &val, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(m.params, ref.params) || !sameBits(m.moving, ref.moving) || !sameBits(m.opt.s1, ref.opt.s1) || m.opt.t != ref.opt.t {
		t.Fatal("resumed run ends with other parameters than the uninterrupted one")
	}
	if !sameHistory(hist, History{Epochs: refHist.Epochs[2:]}) {
		t.Fatalf("resumed epochs %+v, uninterrupted %+v", hist.Epochs, refHist.Epochs[2:])
	}
	// A checkpoint loads as a plain model too; resuming on other rows fails.
	if _, _, err := Load(path, nil); err != nil {
		t.Fatal(err)
	}
	m, _, _, _ = LoadCheckpoint(path, nil)
	if _, err := m.Fit(context.Background(), Data{X: data.X, Y: data.Y, Rows: rowRange(0, 100)}, nil, nil); err == nil || !strings.Contains(err.Error(), "trained on 120 rows, this data has 100") {
		t.Fatalf("other rows: %v", err)
	}
}

// TestCheckpointNeedsSoloFit: a checkpoint is Model.Fit's state, so a model
// that has not run an epoch of it, or was trained in a larger Group (whose
// batch order is the group's), is refused; Reset forgets a loaded
// checkpoint, so the next Fit trains from epoch 1.
func TestCheckpointNeedsSoloFit(t *testing.T) {
	cfg := Config{Hidden: []int{6}, Optimizer: "adam", Epochs: 3, Batch: 16, Seed: 7}
	data := blobs(60, 5, 3, 9)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	m := mustNew(t, cfg, 5, 3)
	if err := m.SaveCheckpoint(path, testInfo); err == nil || !strings.Contains(err.Error(), "not trained by Model.Fit") {
		t.Fatalf("untrained model: %v", err)
	}
	other := mustNew(t, cfg, 5, 3)
	g, err := NewGroup([]*Model{m, other}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ckErr error
	if _, err := g.Fit(context.Background(), data, nil, func(int, EpochStats) { ckErr = m.SaveCheckpoint(path, testInfo) }); err != nil {
		t.Fatal(err)
	}
	if ckErr == nil || !strings.Contains(ckErr.Error(), "not trained by Model.Fit") {
		t.Fatalf("group member: %v", ckErr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a refused checkpoint wrote %s: %v", path, err)
	}
	if _, err := m.Fit(context.Background(), data, nil, func(s EpochStats) {
		if s.Epoch == 1 {
			ckErr = m.SaveCheckpoint(path, testInfo)
		}
	}); err != nil || ckErr != nil {
		t.Fatalf("solo Fit after the group's: %v, %v", err, ckErr)
	}
	loaded, _, _, err := LoadCheckpoint(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Reset(cfg); err != nil {
		t.Fatal(err)
	}
	hist, err := loaded.Fit(context.Background(), Data{X: data.X, Y: data.Y, Rows: rowRange(0, 30)}, nil, nil)
	if err != nil || len(hist.Epochs) != 3 || hist.Epochs[0].Epoch != 1 {
		t.Fatalf("Fit after Reset: %d epochs from %v, %v", len(hist.Epochs), hist.Epochs, err)
	}
}

func rowRange(from, to int) []int {
	r := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		r = append(r, i)
	}
	return r
}

// FuzzLoad: no file makes the loader panic or allocate without bound, and
// whatever it accepts is a finite model that saves back to an equal file.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	for name, cfg := range fileConfigs {
		cfg.Epochs = 1
		m, _ := trained(f, cfg)
		path := filepath.Join(dir, name)
		if err := m.Save(path, testInfo); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		f.Add(b)
		if err := m.SaveCheckpoint(path, testInfo); err != nil {
			f.Fatal(err)
		}
		b, _ = os.ReadFile(path)
		f.Add(b)
	}
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Fuzz(func(t *testing.T, b []byte) {
		defer allocs.Bound(t, 200<<20)() // the bound on a hostile file
		// A checkpoint mutated by the fuzzer almost always fails its
		// checksum: the same bytes re-sealed go past it to the checks behind.
		sealed := b
		if tensors, meta, err := readSafetensors(b); err == nil && meta["mlpsweep.format"] == formatCheckpoint {
			ts := inFileOrder(tensors)
			if sum, err := checksum(ts, meta); err == nil {
				meta[metaChecksum] = sum
				var buf bytes.Buffer
				if writeSafetensors(&buf, ts, meta) == nil {
					sealed = buf.Bytes()
				}
			}
		}
		for _, checkpoint := range []bool{false, true} {
			for _, b := range [][]byte{b, sealed} {
				m, info, _, err := decodeModel(b, nil, checkpoint)
				if err != nil {
					continue
				}
				for _, v := range m.params {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatal("accepted a non-finite parameter")
					}
				}
				saved, err := m.encode(info, false) // in memory: files would make each exec a disk sync
				if err != nil {
					t.Fatalf("accepted model does not save: %v", err)
				}
				again, _, _, err := decodeModel(saved, nil, false)
				if err != nil || !sameBits(again.params, m.params) || !sameBits(again.moving, m.moving) {
					t.Fatalf("saved model does not load back: %v", err)
				}
			}
		}
	})
}
