package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/mlpsweep/mlpsweep/engine"
)

// toyData returns n rows of 2 features in [0,1)² labelled by which feature
// is larger: X [n×2], Y [n×2] one-hot.
func toyData(n int) engine.Data {
	r := rand.New(rand.NewPCG(1, 2))
	d := engine.Data{X: make([]float32, 2*n), Y: make([]float32, 2*n)}
	for i := 0; i < n; i++ {
		a, b := r.Float32(), r.Float32()
		d.X[2*i], d.X[2*i+1] = a, b
		if a > b {
			d.Y[2*i] = 1
		} else {
			d.Y[2*i+1] = 1
		}
	}
	return d
}

// Train a 2-16-2 network with Adam and validate on held-out rows selected
// by Rows (the data is not copied).
func Example() {
	data := toyData(500)
	train, val := data, data
	for i := 0; i < 500; i++ {
		if i < 400 {
			train.Rows = append(train.Rows, i)
		} else {
			val.Rows = append(val.Rows, i)
		}
	}
	cfg := engine.Config{Hidden: []int{16}, Activation: "tanh", Optimizer: "adam", LR: 0.02, Batch: 32, Epochs: 30, Seed: 7}
	m, err := engine.New(cfg, 2, 2, nil) // nil: a single-threaded kernels.Context
	if err != nil {
		fmt.Println(err)
		return
	}
	hist, err := m.Fit(context.Background(), train, &val, nil)
	if err != nil || hist.Diverged {
		fmt.Println(err, hist.Divergence)
		return
	}
	last := hist.Epochs[len(hist.Epochs)-1]
	fmt.Printf("%d parameters, %d epochs, validation accuracy ≥ 0.95: %v\n", m.Params(), len(hist.Epochs), last.ValAccuracy >= 0.95)
	// Output: 82 parameters, 30 epochs, validation accuracy ≥ 0.95: true
}

// Config fields left zero take the Keras defaults; names accept Keras spellings.
func ExampleConfig_Normalize() {
	cfg, err := engine.Config{Hidden: []int{64}, Init: "HeNormal", Optimizer: "SGD", Momentum: 0.9}.Normalize()
	fmt.Println(cfg.Activation, cfg.Init, cfg.Optimizer, cfg.LR, cfg.Batch, cfg.Epochs, err)
	_, err = engine.Config{Optimizer: "adam", Momentum: 0.9}.Normalize()
	fmt.Println(err)
	// Output:
	// relu he_normal sgd 0.01 128 10 <nil>
	// momentum, nesterov and decay apply to sgd only (optimizer is adam)
}

// TrainBatch runs single training steps on batches of rows a caller picks
// (this is what benchmarks time); Predict returns class probabilities.
func ExampleModel_TrainBatch() {
	data := toyData(64)
	m, err := engine.New(engine.Config{Hidden: []int{8}, Optimizer: "adam", LR: 0.05, Batch: 64, Seed: 1}, 2, 2, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rows := data.Head(64, 2).Rows // rows 0 … 63; their targets are data.Y's first 64
	first, _, _ := m.TrainBatch(data, rows, data.Y)
	var loss float32
	for step := 0; step < 200; step++ {
		loss, _, _ = m.TrainBatch(data, rows, data.Y)
	}
	fmt.Printf("loss fell from above 0.5 to below 0.2: %v\n", first > 0.5 && loss < 0.2)

	probs := make([]float32, 2*2)
	m.Predict([]float32{0.9, 0.1, 0.1, 0.9}, 2, probs)
	fmt.Printf("P(first feature larger): %.1f %.1f\n", probs[0], probs[2])
	// Output:
	// loss fell from above 0.5 to below 0.2: true
	// P(first feature larger): 1.0 0.0
}

// A step whose loss is NaN or infinite ends training without an error.
func ExampleHistory_divergence() {
	m, _ := engine.New(engine.Config{Hidden: []int{16}, Activation: "linear", Optimizer: "sgd", LR: 1e4, Batch: 8, Epochs: 100, Seed: 1}, 2, 2, nil)
	hist, err := m.Fit(context.Background(), toyData(64), nil, nil)
	fmt.Println(hist.Diverged, err) // hist.Divergence says where, e.g. "diverged at epoch 1, step 6"
	// Output: true <nil>
}

// Save a trained model with its class labels and metrics, load it back and
// predict: the probabilities are bit-identical.
func ExampleLoad() {
	data := toyData(200)
	m, _ := engine.New(engine.Config{Hidden: []int{8}, Batch: 20, Epochs: 5, Seed: 1}, 2, 2, nil)
	m.Fit(context.Background(), data, nil, nil)
	_, acc := m.Evaluate(data)
	path := filepath.Join(os.TempDir(), "example-model.safetensors")
	defer os.Remove(path)
	info := engine.ModelInfo{Engine: engine.Identity(), Data: "toy", Classes: []string{"a>b", "a≤b"}, Metrics: map[string]float64{"train_accuracy": acc}}
	if err := m.Save(path, info); err != nil {
		fmt.Println(err)
		return
	}
	loaded, got, err := engine.Load(path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	p1, p2 := make([]float32, 2*200), make([]float32, 2*200)
	m.Predict(data.X, 200, p1)
	loaded.Predict(data.X, 200, p2)
	fmt.Println(slices.Equal(p1, p2), got.Classes, got.Metrics["train_accuracy"] == acc)
	// Output: true [a>b a≤b] true
}
