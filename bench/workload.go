package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlpsweep/mlpsweep/engine"
)

// Arch is an MLP's layer widths from input to output, written "784-128-10".
type Arch []int

func (a Arch) String() string {
	parts := make([]string, len(a))
	for i, w := range a {
		parts[i] = strconv.Itoa(w)
	}
	return strings.Join(parts, "-")
}

// Config is the seed study's training setup (engine.DefaultConfig: relu,
// glorot_uniform, Adam 0.001) for a with the given batch size and one epoch.
func (a Arch) Config(batch int) engine.Config {
	c := engine.DefaultConfig()
	c.Hidden = append([]int(nil), a[1:len(a)-1]...)
	c.Batch = batch
	c.Epochs = 1
	return c
}

// NewModel builds a for batch on a single-threaded kernels context.
func (a Arch) NewModel(batch int) (*engine.Model, error) {
	return engine.New(a.Config(batch), a[0], a[len(a)-1], nil)
}

// The architectures and batch sizes of the step benchmarks; Reference is
// the notebook's baseline model.
var (
	Reference   = Arch{784, 128, 10}
	StepArchs   = []Arch{Reference, {784, 256, 10}, {784, 512, 256, 128, 10}}
	StepBatches = []int{32, 128, 512}
)

// Throughput is a training measurement: seconds of one unit of work (step,
// epoch), training samples per second, and GFLOP/s counted with the
// engine's FlopsPerSample.
type Throughput struct {
	Seconds          float64
	SamplesPerSecond float64
	GFLOPS           float64
}

// MeasureEpoch trains a (batch size batch) on data for one warm-up epoch and
// e.Epochs measured ones and returns the median measured epoch, timed by
// Fit (EpochStats.Seconds: the training steps, shuffling included).
func MeasureEpoch(a Arch, batch int, data engine.Data, e Effort) (Throughput, error) {
	cfg := a.Config(batch)
	cfg.Epochs = 1 + e.Epochs
	m, err := engine.New(cfg, a[0], a[len(a)-1], nil)
	if err != nil {
		return Throughput{}, err
	}
	hist, err := m.Fit(context.Background(), data, nil, nil)
	if err != nil {
		return Throughput{}, err
	}
	if hist.Diverged || len(hist.Epochs) != cfg.Epochs {
		return Throughput{}, fmt.Errorf("bench: epoch measurement of %v stopped early: %s", a, hist.Divergence)
	}
	seconds := make([]float64, 0, e.Epochs)
	for _, s := range hist.Epochs[1:] {
		seconds = append(seconds, s.Seconds)
	}
	sec := median(seconds)
	n, _ := data.Size(a[0], a[len(a)-1]) // Fit checked it
	samples := float64(n) / sec
	return Throughput{Seconds: sec, SamplesPerSecond: samples, GFLOPS: samples * m.FlopsPerSample() / 1e9}, nil
}
