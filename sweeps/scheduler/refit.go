package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

// RefitModelFile is the refit model's file in the study's output directory.
const RefitModelFile = "best.safetensors"

// RefitOptions control Refit.
type RefitOptions struct {
	Dir     string                  // the study's output directory: the model file's folder, and its store unless Store is set
	Store   store.Store             // the study's store when not Dir's SQLite (PostgreSQL); the caller closes it
	Threads int                     // GEMM threads (they change the speed, not the numbers); 0 means 1
	Curves  bool                    // also score the test set after every epoch (the learning curve)
	OnEpoch func(engine.EpochStats) // called after every epoch; may be nil
	Partway Partway                 // reports partway through the epochs (fold 0); may be zero
}

// refitRecord is a refit unit's UnitResult.Extra: what its result depends
// on besides its UnitID, and the model file it saved.
type refitRecord struct {
	TrainRows   int    `json:"train_rows"`
	TestRows    int    `json:"test_rows"`
	TestData    string `json:"test_data"`
	TestSHA256  string `json:"test_sha256"`
	ModelFile   string `json:"model_file"` // "" when training diverged
	ModelSHA256 string `json:"model_sha256"`
}

// Refit trains the best configuration of r (see sweeps.RefitResult) on all
// of train (the rows the study cross-validated on), scores it on test,
// saves it as opt.Dir/best.safetensors (unless it diverged) and sets
// r.Refit. Like the study's units, the refit is a unit of the store in
// opt.Dir (split sweeps.RefitSplit, fold 0, the study seed): a rerun reuses
// it when it was scored on the same test set and its model file is still
// the one it saved, and trains it again otherwise. When ctx is cancelled,
// Refit returns an error wrapping ErrInterrupted; nothing is stored.
func Refit(ctx context.Context, r *sweeps.StudyResult, train, test *datasets.Dataset, opt RefitOptions) error {
	best, err := bestConfig(*r)
	if err != nil {
		return err
	}
	id := sweeps.UnitID{Key: best.Key, Split: sweeps.RefitSplit, Seed: r.Seed, Data: train.Fingerprint(), Engine: sweeps.EngineID()}
	rec := refitRecord{TrainRows: train.N, TestRows: test.N, TestData: test.Name, TestSHA256: test.Fingerprint()}
	st := opt.Store
	if st == nil {
		sq, err := store.Open(ctx, opt.Dir)
		if err != nil {
			return err
		}
		defer sq.Close()
		st = sq
	}
	u, state, err := st.Unit(id)
	if err != nil {
		return err
	}
	if state == "done" && reusable(u, rec, opt.Dir) {
		u.Reused = true
		r.Refit = refitResult(best, r.Seed, u)
		return nil
	}

	if err := st.MarkRunning(id, r.Name, max(1, opt.Threads)); err != nil {
		return err
	}
	m, err := engine.NewNormalized(best.Params.Normalized(r.Seed), train.Features, train.Classes, kernels.NewContext(max(1, opt.Threads)))
	if err != nil {
		return fmt.Errorf("refit: %w", err)
	}
	m.SetProgress(opt.Partway.Every, opt.Partway.hook(0))
	u, err = FitAndScore(ctx, m, engine.DataOf(train, nil), engine.DataOf(test, nil), opt.Curves, opt.OnEpoch)
	if err != nil {
		return fmt.Errorf("refit: %w: run the same command again to resume: %w", ErrInterrupted, err)
	}
	u.EngineVer, u.DataSHA256 = id.Engine, id.Data
	u.Machine = sweeps.ThisMachine()
	if !u.Failed() && !u.Diverged {
		info := engine.ModelInfo{
			Engine: id.Engine, Data: train.Name, DataSHA256: id.Data, Classes: train.ClassNames, Scaling: train.Scaling,
			Features: train.FeatureNames, Metrics: map[string]float64{"test_accuracy": u.Accuracy, "test_loss": u.ValLoss, "cv_mean_accuracy": best.MeanAccuracy,
				"epochs": float64(best.Params.Epochs())},
		}
		path := filepath.Join(opt.Dir, RefitModelFile)
		if err := m.Save(path, info); err != nil {
			return fmt.Errorf("refit: %w", err)
		}
		sum, err := fileSHA256(path)
		if err != nil {
			return fmt.Errorf("refit: %w", err)
		}
		rec.ModelFile, rec.ModelSHA256 = RefitModelFile, sum
	}
	if u.Extra, err = json.Marshal(rec); err != nil {
		return err
	}
	if err := st.SaveUnit(id, r.Name, u); err != nil {
		return err
	}
	if u.Failed() {
		return fmt.Errorf("refit of configuration %s: %s", best.Key, u.Error)
	}
	r.Refit = refitResult(best, r.Seed, u)
	return nil
}

// LoadRefit sets r.Refit from st when it holds the refit of r's best
// configuration (mlpsweep report), and leaves it nil otherwise.
func LoadRefit(st store.Store, r *sweeps.StudyResult) error {
	best, err := bestConfig(*r)
	if err != nil || len(best.Units) == 0 {
		return nil // no best configuration, no refit
	}
	// The best configuration's units carry the study's data; the refit ran
	// under the study's engine (its units may come from other ISA paths).
	id := sweeps.UnitID{Key: best.Key, Split: sweeps.RefitSplit, Seed: r.Seed, Data: best.Units[0].DataSHA256, Engine: r.Engine}
	u, state, err := st.Unit(id)
	if err != nil || state != "done" {
		return err
	}
	u.Reused = true
	r.Refit = refitResult(best, r.Seed, u)
	return nil
}

// bestConfig is the study's first configuration of rank 1.
func bestConfig(r sweeps.StudyResult) (sweeps.ConfigResult, error) {
	for _, c := range r.Configs {
		if c.Rank == 1 && !math.IsNaN(c.MeanAccuracy) {
			return c, nil
		}
	}
	return sweeps.ConfigResult{}, errors.New("refit: no configuration of the study has a cross-validated accuracy to pick the best by")
}

// reusable reports whether a stored refit unit was scored on the test set
// of rec and its model file is still the one it saved.
func reusable(u sweeps.UnitResult, rec refitRecord, dir string) bool {
	var stored refitRecord
	if json.Unmarshal(u.Extra, &stored) != nil || stored.TestSHA256 != rec.TestSHA256 || stored.TrainRows != rec.TrainRows {
		return false
	}
	if stored.ModelFile == "" {
		return u.Diverged // nothing was saved, and nothing should have been
	}
	sum, err := fileSHA256(filepath.Join(dir, stored.ModelFile))
	return err == nil && sum == stored.ModelSHA256
}

// refitResult is the RefitResult of best's refit unit u.
func refitResult(best sweeps.ConfigResult, seed int64, u sweeps.UnitResult) *sweeps.RefitResult {
	var rec refitRecord
	json.Unmarshal(u.Extra, &rec) // written by Refit; a bad record leaves the zero values
	return &sweeps.RefitResult{
		Key: best.Key, Params: best.Params, Axis: best.Axis, Value: best.Value, Seed: seed,
		CVMeanAccuracy: best.MeanAccuracy, TestAccuracy: u.Accuracy, TestLoss: u.ValLoss,
		TrainRows: rec.TrainRows, TestRows: rec.TestRows, TestData: rec.TestData, TestSHA256: rec.TestSHA256,
		ModelFile: rec.ModelFile, ModelSHA256: rec.ModelSHA256, Unit: u,
	}
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
