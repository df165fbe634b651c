package sweeps

import "github.com/mlpsweep/mlpsweep/engine"

// UnitResult is the outcome of one work unit: one configuration trained on
// one cross-validation fold and scored on that fold's held-out rows.
type UnitResult struct {
	Fold       int                 `json:"fold"`
	Accuracy   float64             `json:"accuracy"` // held-out accuracy after the last epoch; a diverged unit's model as it stopped
	ValLoss    float64             `json:"val_loss"` // held-out loss (with regularization) after the last epoch
	Epochs     []engine.EpochStats `json:"epochs"`   // per-epoch learning curve
	Seconds    float64             `json:"seconds"`  // wall time of training and scoring
	Samples    int64               `json:"samples"`  // training samples processed (rows × epochs run)
	Diverged   bool                `json:"diverged"`
	Error      string              `json:"error,omitempty"` // divergence message or failure; empty on success (a failed unit, Error without Diverged, has no accuracy)
	Reused     bool                `json:"reused"`          // found finished in the store, not trained by this run
	EngineVer  string              `json:"engine_version"`
	DataSHA256 string              `json:"data_sha256"`
}

// ConfigResult gathers the units of one configuration of a study.
type ConfigResult struct {
	Axis   string        `json:"axis,omitempty"`  // the axis this configuration varies (one-axis studies)
	Value  string        `json:"value,omitempty"` // the axis value, as written in the study
	Key    string        `json:"key"`             // content hash of the normalized config (seed excluded)
	Params engine.Config `json:"params"`
	Units  []UnitResult  `json:"units"` // one per fold, in fold order; missing folds are absent

	FoldAccuracies []float64 `json:"fold_accuracies"`
	MeanAccuracy   float64   `json:"mean_accuracy"`
	StdAccuracy    float64   `json:"std_accuracy"` // population std over folds (numpy's default)
	MeanValLoss    float64   `json:"mean_val_loss"`
	Seconds        float64   `json:"seconds"` // sum of the units' wall times
	Rank           int       `json:"rank"`    // 1 = best mean accuracy in the study
}

// StudyResult is a finished (or partly finished) study as stored.
type StudyResult struct {
	Name         string         `json:"name"`
	Folds        int            `json:"folds"`
	Epochs       int            `json:"epochs"`
	Seed         int64          `json:"seed"`
	Configs      []ConfigResult `json:"configs"` // in study order: axis by axis, value by value
	TotalSeconds float64        `json:"total_seconds"`
	UnitsTotal   int            `json:"units_total"`
	UnitsRun     int            `json:"units_run"`    // trained by this invocation
	UnitsReused  int            `json:"units_reused"` // found finished
}
