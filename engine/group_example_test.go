package engine_test

import (
	"context"
	"fmt"

	"github.com/mlpsweep/mlpsweep/engine"
)

// Train three configurations fused, on the same batches: one first-layer
// product per step for all of them. Each member ends exactly as it would
// trained alone with Fit after SetShuffleSeed(the group's shuffle seed);
// the third diverges and leaves the group, the others go on.
func ExampleNewGroup() {
	data := toyData(400)
	cfgs := []engine.Config{
		{Hidden: []int{16}, Activation: "tanh", Optimizer: "adam", LR: 0.02, Seed: 1},
		{Hidden: []int{8, 8}, Activation: "relu", Optimizer: "sgd", LR: 0.1, Momentum: 0.9, Dropout: 0.1, Seed: 2},
		{Hidden: []int{4}, Activation: "linear", Optimizer: "sgd", LR: 1e6, Seed: 3},
	}
	var models []*engine.Model
	for _, cfg := range cfgs {
		cfg.Batch, cfg.Epochs = 32, 20 // shared by the members
		m, err := engine.New(cfg, 2, 2, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		models = append(models, m)
	}
	const shuffleSeed = 42 // in a sweep: from the study's seed and the fold
	g, err := engine.NewGroup(models, shuffleSeed)
	if err != nil {
		fmt.Println(err)
		return
	}
	hists, err := g.Fit(context.Background(), data, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, h := range hists {
		if h.Diverged {
			fmt.Printf("member %d diverged\n", i)
			continue
		}
		fmt.Printf("member %d: %d epochs, accuracy ≥ 0.9: %v\n", i, len(h.Epochs), h.Epochs[len(h.Epochs)-1].Accuracy >= 0.9)
	}
	// Output:
	// member 0: 20 epochs, accuracy ≥ 0.9: true
	// member 1: 20 epochs, accuracy ≥ 0.9: true
	// member 2 diverged
}
