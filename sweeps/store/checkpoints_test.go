package store

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestPostgresCheckpointResumes: units trained to a rung in a group,
// their states stored in one transaction (invisible until it commits),
// read back by another connection and continued in a new group, end with
// the bits of an uninterrupted Fit; DropCheckpoints removes them.
func TestPostgresCheckpointResumes(t *testing.T) {
	url := storetest.Postgres(t)
	ctx := context.Background()
	s, err := openPostgres(ctx, url, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const in, out, n, epochs, rung, shuffleSeed = 5, 3, 64, 4, 2, 7
	rng := rand.New(rand.NewPCG(1, 2))
	data := engine.Data{X: make([]float32, n*in), Y: make([]float32, n*out)}
	for i := range n {
		c := i % out
		data.Y[i*out+c] = 1
		for j := range in {
			data.X[i*in+j] = float32(rng.NormFloat64()) + float32(c*(j%2))
		}
	}
	cfgs := []engine.Config{
		{Hidden: []int{6}, Activation: "relu", Optimizer: "adam", LR: 0.01, Batch: 8, Epochs: epochs, Dropout: 0.2, Seed: 1},
		{Hidden: []int{4, 4}, Activation: "tanh", Optimizer: "sgd", LR: 0.05, Momentum: 0.9, Decay: 0.01, Batch: 8, Epochs: epochs, BatchNorm: true, Seed: 2},
	}
	ids := []sweeps.UnitID{{Key: "a", Fold: 0, Split: "s", Seed: 1, Data: "d", Engine: "e"}, {Key: "b", Fold: 0, Split: "s", Seed: 2, Data: "d", Engine: "e"}}
	var ref, ms []*engine.Model
	var refHist []engine.History
	for _, cfg := range cfgs {
		m, err := engine.New(cfg, in, out, nil)
		if err != nil {
			t.Fatal(err)
		}
		m.SetShuffleSeed(shuffleSeed)
		h, err := m.Fit(ctx, data, &data, nil)
		if err != nil {
			t.Fatal(err)
		}
		ref, refHist = append(ref, m), append(refHist, h)
		if m, err = engine.New(cfg, in, out, nil); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	g, err := engine.NewGroup(ms, shuffleSeed)
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]engine.EpochStats, len(ms))
	onEpoch := func(k int, e engine.EpochStats) { got[k] = append(got[k], e) }
	if _, err := g.FitTo(ctx, data, &data, rung, onEpoch); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		b, err := m.MemberState()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpointTx(ctx, tx, ids[i], "st", rung, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Checkpoint(ctx, ids[0], rung); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("before the commit: %v, want ErrNoCheckpoint", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := openPostgres(ctx, url, false) // another worker's pool
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if has, err := other.Checkpointed(ctx, ids, rung); err != nil || len(has) != 2 || !has[ids[0]] || !has[ids[1]] {
		t.Errorf("Checkpointed at epoch %d: %v, %v", rung, has, err)
	}
	if has, err := other.Checkpointed(ctx, ids, rung+1); err != nil || len(has) != 0 {
		t.Errorf("Checkpointed at epoch %d: %v, %v", rung+1, has, err)
	}
	resumed := make([]*engine.Model, len(ms))
	kc := kernels.NewContext(1)
	for i, id := range ids {
		b, err := other.Checkpoint(ctx, id, rung)
		if err != nil {
			t.Fatal(err)
		}
		m, e, err := engine.LoadMemberState(b, kc)
		if err != nil || e != rung {
			t.Fatalf("unit %s: epoch %d, %v", id.Key, e, err)
		}
		resumed[i] = m
	}
	g2, err := engine.NewGroup(resumed, shuffleSeed)
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Seek(data, rung); err != nil {
		t.Fatal(err)
	}
	if _, err := g2.Fit(ctx, data, &data, onEpoch); err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		same := func(a, b engine.EpochStats) bool {
			return a.Epoch == b.Epoch && a.Loss == b.Loss && a.Accuracy == b.Accuracy && a.ValLoss == b.ValLoss && a.ValAccuracy == b.ValAccuracy
		}
		if !slices.EqualFunc(got[i], refHist[i].Epochs, same) {
			t.Errorf("unit %s: resumed from the store\n%+v\nuninterrupted\n%+v", ids[i].Key, got[i], refHist[i].Epochs)
		}
		x, y := make([]float32, n*out), make([]float32, n*out)
		if err := ref[i].Predict(data.X, n, x); err != nil {
			t.Fatal(err)
		}
		if err := resumed[i].Predict(data.X, n, y); err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(x, y, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) }) {
			t.Errorf("unit %s: predictions differ from the uninterrupted model's", ids[i].Key)
		}
	}
	if err := s.DropCheckpoints(ctx, ids[0], 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checkpoint(ctx, ids[0], rung); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("after DropCheckpoints: %v", err)
	}
	if _, err := s.Checkpoint(ctx, ids[1], rung); err != nil {
		t.Errorf("another unit's checkpoint dropped: %v", err)
	}
}
