package engine

import (
	"context"
	"testing"
)

// TestBatchLargerThanData: a batch larger than the data trains it as one
// batch, with buffers sized by the data's rows, not by B, and with the bits
// of a batch of exactly the data's rows; TrainBatch and Predict afterwards
// still take up to B rows.
func TestBatchLargerThanData(t *testing.T) {
	d := blobs(50, 6, 3, 9)
	val := blobs(20, 6, 3, 10)
	fit := func(batch int) (*Model, History) {
		m := mustNew(t, Config{Hidden: []int{16}, Optimizer: "adam", Dropout: 0.1, BatchNorm: true, Batch: batch, Epochs: 2, Seed: 3}, 6, 3)
		h, err := m.Fit(context.Background(), d, &val, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m, h
	}
	huge, hh := fit(3_000_000)
	exact, he := fit(50)
	if !sameHistory(hh, he) || !sameBits(huge.params, exact.params) {
		t.Errorf("batch 3,000,000 on 50 rows differs from batch 50:\n%+v\n%+v", withoutTimes(hh), withoutTimes(he))
	}
	if c := cap(huge.train.y[0]); c > 50*16 {
		t.Errorf("training buffers hold %d floats for 50 rows of 16 units", c)
	}
	if c := cap(huge.eval.y[0]); c > 50*16 {
		t.Errorf("evaluation buffers hold %d floats for at most 50 rows of 16 units", c)
	}
	x := blobs(120, 6, 3, 11)
	if _, _, err := huge.TrainBatch(x, rowRange(0, 120), x.Y); err != nil {
		t.Fatal(err)
	}
	probs := make([]float32, 120*3)
	if err := huge.Predict(x.X, 120, probs); err != nil {
		t.Fatal(err)
	}
}
