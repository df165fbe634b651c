package engine_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/cpuclock"
)

var mnist = sync.OnceValues(func() ([2]*datasets.Dataset, error) {
	train, test, err := datasets.MNIST("")
	return [2]*datasets.Dataset{train, test}, err
})

func loadMNIST(tb testing.TB) (train, test *datasets.Dataset) {
	tb.Helper()
	d, err := mnist()
	if err != nil {
		tb.Fatalf("MNIST: %v", err)
	}
	return d[0], d[1]
}

// firstRows is Rows = 0 … n−1.
func firstRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// TestMNISTAccuracy trains the notebook's baseline (784-128-10 relu, Adam,
// batch 128) for two epochs on the first 20,000 training images (314
// steps) and checks the loss and accuracy on the first 2,000 test images
// (harder than the whole test set: seeds 1–3 give 0.904–0.912).
func TestMNISTAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("MNIST training in -short mode")
	}
	train, test := loadMNIST(t)
	cfg := engine.DefaultConfig()
	cfg.Epochs, cfg.Seed = 2, 42
	m, err := engine.New(cfg, train.Features, train.Classes, nil)
	if err != nil {
		t.Fatal(err)
	}
	val := engine.DataOf(test, firstRows(2000))
	h, err := m.Fit(context.Background(), engine.DataOf(train, firstRows(20000)), &val, nil)
	if err != nil || h.Diverged {
		t.Fatalf("Fit: %v %+v", err, h)
	}
	e := h.Epochs[len(h.Epochs)-1]
	t.Logf("loss %.4f accuracy %.4f, test loss %.4f accuracy %.4f, %.2f s (%.0f samples/s)",
		e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.SamplesPerSecond)
	if e.ValAccuracy < 0.90 || e.ValLoss > 0.35 { // seed 42: 0.9145 and 0.289
		t.Errorf("test accuracy %.4f (floor 0.90), loss %.4f (ceiling 0.35)", e.ValAccuracy, e.ValLoss)
	}
}

// epochModel is BenchmarkEpoch's model, for one epoch, and its rows.
func epochModel(b *testing.B) (*engine.Model, engine.Data) {
	train, _ := loadMNIST(b)
	cfg := engine.DefaultConfig()
	cfg.Epochs = 1
	m, err := engine.New(cfg, train.Features, train.Classes, nil)
	if err != nil {
		b.Fatal(err)
	}
	return m, engine.DataOf(train, firstRows(45000))
}

// BenchmarkEpoch times one Fit epoch of the baseline 784-128-10, Adam,
// batch 128 on the first 45,000 MNIST training rows (the notebook's
// training split), single-threaded.
func BenchmarkEpoch(b *testing.B) {
	m, data := epochModel(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Fit(context.Background(), data, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	perEpoch := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perEpoch, "s/epoch")
	b.ReportMetric(45000/perEpoch, "samples/s")
	b.ReportMetric(45000*m.FlopsPerSample()/perEpoch/1e9, "GFLOP/s")
}

// BenchmarkEpochProgress is BenchmarkEpoch without and with a progress
// hook (SetProgress, a second apart as the CLI asks), in thread CPU time
// (cpu-ms/op): with -count N the two alternate, an A/B of the hook's cost.
func BenchmarkEpochProgress(b *testing.B) {
	m, data := epochModel(b)
	calls := 0
	for _, hook := range []bool{false, true} {
		name := "off"
		if hook {
			name = "on"
			m.SetProgress(time.Second, func(engine.EpochPart) { calls++ })
		}
		b.Run(name, func(b *testing.B) {
			runtime.LockOSThread() // one thread trains (one-thread Context): its clock counts the epoch
			defer runtime.UnlockOSThread()
			start := cpuclock.Thread()
			for b.Loop() {
				if _, err := m.Fit(context.Background(), data, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuclock.Thread()-start).Seconds()*1e3/float64(b.N), "cpu-ms/op")
		})
	}
	m.SetProgress(0, nil)
}

// BenchmarkTrainBatch times one training step (TrainBatch) of the baseline
// on a full batch of 128 MNIST rows.
func BenchmarkTrainBatch(b *testing.B) {
	train, _ := loadMNIST(b)
	m, err := engine.New(engine.DefaultConfig(), train.Features, train.Classes, nil)
	if err != nil {
		b.Fatal(err)
	}
	d, rows, y := engine.DataOf(train, nil), firstRows(128), train.Y[:128*train.Classes] // read from the pixels, as Fit reads them
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := m.TrainBatch(d, rows, y); err != nil {
			b.Fatal(err)
		}
	}
	perStep := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(128/perStep, "samples/s")
	b.ReportMetric(128*m.FlopsPerSample()/perStep/1e9, "GFLOP/s")
}
