package onnx

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	pb "github.com/mlpsweep/mlpsweep/engine/onnx/internal/onnxpb"
)

// The exported graphs run by the ONNX operator specifications (runGraph,
// run_test.go, which reads only the serialized model): their probabilities
// must equal Predict's within tolerance on the 10,000 MNIST test images.
// `make test-onnx` adds ONNX's own checker on the same files.
const tolerance = 1e-5

var mnist = sync.OnceValues(func() ([2]*datasets.Dataset, error) {
	train, test, err := datasets.MNIST("")
	return [2]*datasets.Dataset{train, test}, err
})

// trainMNIST trains cfg for one epoch on the first rows training images.
func trainMNIST(t *testing.T, cfg engine.Config, rows int) (*engine.Model, *datasets.Dataset) {
	t.Helper()
	d, err := mnist()
	if err != nil {
		t.Fatalf("MNIST: %v", err)
	}
	train, test := d[0].Head(rows), d[1]
	cfg.Epochs = 1
	m, err := engine.New(cfg, train.Features, train.Classes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(context.Background(), engine.DataOf(train, nil), nil, nil); err != nil {
		t.Fatal(err)
	}
	return m, test
}

// runONNX runs an exported model on x [rows×features] (runGraph).
func runONNX(t *testing.T, model []byte, x any, rows, features int) []float32 {
	t.Helper()
	out, err := runGraph(model, x, rows, features)
	if err != nil {
		t.Fatalf("ONNX graph: %v", err)
	}
	return out
}

// maxDiff returns max |a − b| and checks the lengths.
func maxDiff(t *testing.T, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d probabilities, want %d", len(a), len(b))
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestExportMatchesPredictMNIST: the three networks and the other
// activations, on the whole MNIST test set.
func TestExportMatchesPredictMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	for _, c := range []struct {
		name string
		cfg  engine.Config
		rows int
	}{
		{"784-128-10 relu", engine.Config{Hidden: []int{128}, Activation: "relu"}, 60000},
		{"3-layer tanh", engine.Config{Hidden: []int{128, 64, 32}, Activation: "tanh"}, 20000},
		{"batch norm", engine.Config{Hidden: []int{64, 64}, Activation: "relu", BatchNorm: true, Residual: true, Dropout: 0.2}, 20000},
		{"sigmoid", engine.Config{Hidden: []int{32}, Activation: "sigmoid", Optimizer: "sgd", LR: 0.1}, 10000},
		{"linear", engine.Config{Hidden: []int{32}, Activation: "linear"}, 10000},
		{"elu", engine.Config{Hidden: []int{32}, Activation: "elu"}, 10000},
		{"selu", engine.Config{Hidden: []int{32, 32}, Activation: "selu", Residual: true}, 10000},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, test := trainMNIST(t, c.cfg, c.rows)
			x := make([]float32, test.N*test.Features) // [N×Features] the pixels as float32, what ONNX reads
			for i := range test.N {
				test.Row(i, x[i*test.Features:])
			}
			want := make([]float32, test.N*test.Classes)
			if err := m.PredictPixels(test.Pixels, test.N, want); err != nil {
				t.Fatal(err)
			}
			model, err := Export(m, engine.ModelInfo{Engine: engine.Identity(), Data: "mnist-train"})
			if err != nil {
				t.Fatal(err)
			}
			d := maxDiff(t, runONNX(t, model, x, test.N, test.Features), want)
			t.Logf("%s: max |ONNX − Predict| over %d×%d probabilities = %.3g", c.name, test.N, test.Classes, d)
			if d > tolerance {
				t.Fatalf("max abs difference %.3g > %g", d, tolerance)
			}
			writeExport(t, c.name, model, x, test.N, test.Features, want)
		})
	}
}

// writeExport keeps the exported file for `make test-onnx` when
// MLPSWEEP_ONNX_DIR names a folder: NAME.onnx, NAME.input (the rows
// [rows×features], float32 or float64 as the graph takes them) and
// NAME.want (Predict's probabilities, float32), raw little-endian, and
// NAME.json with the shapes, for check_onnx.py.
func writeExport(t *testing.T, name string, model []byte, x any, rows, features int, want []float32) {
	dir := os.Getenv("MLPSWEEP_ONNX_DIR")
	if dir == "" {
		return
	}
	base := filepath.Join(dir, strings.NewReplacer(" ", "_", "/", "_").Replace(name))
	var in []byte
	dtype := "float32"
	switch v := x.(type) {
	case []float32:
		for _, f := range v {
			in = binary.LittleEndian.AppendUint32(in, math.Float32bits(f))
		}
	case []float64:
		dtype = "float64"
		for _, f := range v {
			in = binary.LittleEndian.AppendUint64(in, math.Float64bits(f))
		}
	}
	var out []byte
	for _, f := range want {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(f))
	}
	meta := fmt.Sprintf(`{"rows": %d, "features": %d, "classes": %d, "input_dtype": %q}`, rows, features, len(want)/rows, dtype)
	for ext, b := range map[string][]byte{".onnx": model, ".input": in, ".want": out, ".json": []byte(meta)} {
		if err := os.WriteFile(base+ext, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExportScaling: a CSV model's graph takes the raw features (double)
// and scales them exactly as datasets did, so the graph on raw rows matches
// Predict on the scaled ones.
func TestExportScaling(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range 400 {
		c := rng.IntN(3)
		for j := range 5 {
			fmt.Fprintf(&b, "%.5f,", 1000*float64(j)+float64(c*(j%2))*3+rng.NormFloat64()*2)
		}
		fmt.Fprintf(&b, "%s\n", []string{"x", "y", "z"}[c])
	}
	path := filepath.Join(dir, "raw.csv")
	os.WriteFile(path, []byte(b.String()), 0o644)
	for _, scale := range []string{datasets.ScaleStandardize, datasets.ScaleMinMax} {
		data, err := datasets.LoadCSV(path, datasets.CSVOptions{Scale: scale})
		if err != nil {
			t.Fatal(err)
		}
		m, err := engine.New(engine.Config{Hidden: []int{16, 8}, Activation: "tanh", Epochs: 3, Batch: 16, BatchNorm: true}, 5, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		m.Fit(context.Background(), engine.Data{X: data.X, Y: data.Y}, nil, nil)
		want := make([]float32, data.N*3)
		m.Predict(data.X, data.N, want)
		model, err := Export(m, engine.ModelInfo{Classes: data.ClassNames, Scaling: data.Scaling})
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]float64, 0, data.N*5) // the CSV's values as parsed
		for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			for _, f := range strings.Split(line, ",")[:5] {
				var v float64
				fmt.Sscan(f, &v)
				raw = append(raw, v)
			}
		}
		d := maxDiff(t, runONNX(t, model, raw, data.N, 5), want)
		t.Logf("%s scaling: max |ONNX − Predict| = %.3g", scale, d)
		if d > tolerance {
			t.Fatalf("%s: max abs difference %.3g > %g", scale, d, tolerance)
		}
		writeExport(t, "csv "+scale, model, raw, data.N, 5, want)
	}
}

// blobs returns n rows of in features in out classes, centres 3 apart.
func blobs(n, in, out int) engine.Data {
	r := rand.New(rand.NewPCG(uint64(n), uint64(in)))
	d := engine.Data{X: make([]float32, n*in), Y: make([]float32, n*out)}
	for i := range n {
		c := r.IntN(out)
		d.Y[i*out+c] = 1
		for j := range in {
			d.X[i*in+j] = float32(3*float64(c*(j%2)) + r.NormFloat64())
		}
	}
	return d
}

// TestExportGraph checks the graph itself: opset, input and output,
// initializers and the node sequence, and its probabilities on the
// training rows.
func TestExportGraph(t *testing.T) {
	for _, c := range []struct {
		cfg   engine.Config
		nodes string
	}{
		{engine.Config{Hidden: []int{8}, Activation: "elu"}, "Gemm Elu Gemm Softmax"},
		{engine.Config{Hidden: []int{8, 8}, Activation: "selu", Residual: true, BatchNorm: true}, "Gemm Selu Gemm Selu Add Gemm Softmax"},
		{engine.Config{Hidden: []int{}, Activation: "relu"}, "Gemm Softmax"},
	} {
		m, err := engine.New(c.cfg, 6, 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		data := blobs(200, 6, 4)
		m.Fit(context.Background(), data, nil, nil)
		features := []string{"f1", "f2", "f3", "f4", "f5", "f6"}
		b, err := Export(m, engine.ModelInfo{Classes: []string{"a", "b", "c", "d"}, Features: features})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Export(m, engine.ModelInfo{Features: features[:5]}); err == nil {
			t.Fatal("5 feature names for 6 inputs exported")
		}
		var mp pb.ModelProto
		if err := proto.Unmarshal(b, &mp); err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, n := range mp.Graph.Node {
			ops = append(ops, n.GetOpType())
		}
		g := mp.Graph
		if strings.Join(ops, " ") != c.nodes || mp.GetIrVersion() != irVersion || mp.OpsetImport[0].GetVersion() != opset ||
			g.Input[0].GetName() != InputName || g.Output[0].GetName() != OutputName || len(g.Initializer) != 2*(len(c.cfg.Hidden)+1) {
			t.Fatalf("%+v: nodes %v, %d initializers", c.cfg, ops, len(g.Initializer))
		}
		if c.cfg.Activation == "selu" {
			a := g.Node[1].Attribute
			if a[0].GetF() != float32(seluAlpha) || a[1].GetF() != float32(seluScale) {
				t.Fatalf("Selu attributes %v", a)
			}
		}
		found := 0
		for _, p := range mp.MetadataProps {
			if p.GetKey() == "mlpsweep.classes" && p.GetValue() == `["a","b","c","d"]` ||
				p.GetKey() == "mlpsweep.features" && p.GetValue() == `["f1","f2","f3","f4","f5","f6"]` {
				found++
			}
		}
		if found != 2 {
			t.Fatalf("metadata %v", mp.MetadataProps)
		}
		want := make([]float32, 200*4)
		m.Predict(data.X, 200, want)
		if d := maxDiff(t, runONNX(t, b, data.X, 200, 6), want); d > tolerance {
			t.Fatalf("%+v: max |ONNX − Predict| = %.3g > %g", c.cfg, d, tolerance)
		}
		writeExport(t, c.cfg.Activation+fmt.Sprint(len(c.cfg.Hidden)), b, data.X, 200, 6, want)
	}
}

// TestRunGraphFails: the evaluator sees a wrong attribute, a missing
// initializer and an operator it does not know, so that agreeing with
// Predict means something.
func TestRunGraphFails(t *testing.T) {
	m, err := engine.New(engine.Config{Hidden: []int{8}, Activation: "elu"}, 6, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := blobs(200, 6, 4)
	m.Fit(context.Background(), data, nil, nil)
	want := make([]float32, 200*4)
	m.Predict(data.X, 200, want)
	b, err := Export(m, engine.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(*pb.ModelProto)
		err    string // "" when the graph runs but must disagree with Predict
	}{
		{"Elu alpha 0.5", func(mp *pb.ModelProto) { mp.Graph.Node[1].Attribute[0].F = proto.Float32(0.5) }, ""},
		{"kernel dropped", func(mp *pb.ModelProto) { mp.Graph.Initializer = mp.Graph.Initializer[1:] }, "not defined"},
		{"Elu as Celu", func(mp *pb.ModelProto) { mp.Graph.Node[1].OpType = proto.String("Celu") }, "Celu"},
	} {
		var mp pb.ModelProto
		if err := proto.Unmarshal(b, &mp); err != nil {
			t.Fatal(err)
		}
		c.change(&mp)
		bad, err := proto.Marshal(&mp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := runGraph(bad, data.X, 200, 6)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && maxDiff(t, got, want) <= tolerance:
			t.Errorf("%s: the changed graph agrees with Predict", c.name)
		}
	}
}
