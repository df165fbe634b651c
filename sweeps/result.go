package sweeps

import (
	"encoding/json"
	"math"
	"runtime"

	"github.com/mlpsweep/mlpsweep/kernels"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps/importance"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

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
	Error      string              `json:"error,omitempty"`     // divergence message or failure; empty on success
	Reused     bool                `json:"reused"`              // found finished in the store, not trained by this run
	PrunedAt   int                 `json:"pruned_at,omitempty"` // the epoch a pruner stopped it at (its last); 0: not pruned
	GFLOP      float64             `json:"gflop,omitempty"`     // training GEMM work done (Samples × scheduler.TrainingFLOPsPerRow); 0 when not recorded
	Started    int64               `json:"-"`                   // unix nanoseconds: when its training (last) started, as stored; not in the results' JSON, which stay the same from run to run
	Finished   int64               `json:"-"`                   // unix nanoseconds: when its result was stored
	Extra      json.RawMessage     `json:"extra,omitempty"`     // a study kind's own record of the unit (the depth study's diagnostics), JSON
	EngineVer  string              `json:"engine_version"`      // EngineID that computed it: another ISA path's when reused from one
	DataSHA256 string              `json:"data_sha256"`
	Machine                        // where it was trained: JSON host, cpu, isa
}

// Failed reports whether the unit failed without a result: an error that is
// not a divergence. A failed unit has no accuracy, is left out of the
// means and runs again next time; a diverged unit is finished and counts
// with the accuracy its model scored as training stopped.
func (u UnitResult) Failed() bool { return u.Error != "" && !u.Diverged }

// StoppedAt is u as a study that stopped its configuration after epoch e
// shows it, when another study trained it further (stopped it later, or
// trained it to the end): pruned at e, scored on epoch e's held-out
// figures, with the samples, work and time of its first e epochs, as the
// study would have stored it. It is u itself when u did not train past e,
// or has no held-out figures at e (trained without learning curves).
func (u UnitResult) StoppedAt(e int) UnitResult {
	n := len(u.Epochs)
	if e <= 0 || n <= e || math.IsNaN(u.Epochs[e-1].ValAccuracy) {
		return u
	}
	part := float64(e) / float64(n)
	last := u.Epochs[e-1]
	u.Epochs = u.Epochs[:e:e]
	u.Accuracy, u.ValLoss = last.ValAccuracy, last.ValLoss
	u.Samples = u.Samples / int64(n) * int64(e)
	u.Seconds, u.GFLOP = u.Seconds*part, u.GFLOP*part
	u.Diverged, u.Error = false, "" // a divergence after e
	u.PrunedAt = e
	return u
}

// ConfigResult gathers the units of one configuration of a study.
type ConfigResult struct {
	Axis   string       `json:"axis,omitempty"`  // the axis this configuration varies (one-axis studies)
	Value  string       `json:"value,omitempty"` // the axis value, as written in the study
	Key    string       `json:"key"`             // content hash of the normalized config (seed excluded)
	Params study.Params `json:"params"`
	Units  []UnitResult `json:"units"` // one per fold, in fold order; missing folds are absent

	FoldAccuracies []float64 `json:"fold_accuracies"`
	MeanAccuracy   float64   `json:"mean_accuracy"`
	StdAccuracy    float64   `json:"std_accuracy"` // population std over folds (numpy's default)
	MeanValLoss    float64   `json:"mean_val_loss"`
	Seconds        float64   `json:"seconds"`             // sum of the units' wall times
	Rank           int       `json:"rank"`                // 1 = best mean accuracy in the study; pruned configurations rank after the others
	PrunedAt       int       `json:"pruned_at,omitempty"` // the epoch a pruner stopped it at; 0: not pruned
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
	UnitsRun     int            `json:"units_run"`    // trained by this run (of a sharded one, by all its shards)
	UnitsReused  int            `json:"units_reused"` // found finished
	// Runs are the records the counts sum: this invocation's, or read
	// back from a store, the latest run's (one per shard of a sharded
	// run; see LatestRun).
	Runs []RunRecord `json:"runs,omitempty"`
	// Data is the training data, for people: "train (3200 rows), 13
	// features, 3 classes"; "" for a study stored without it.
	Data string `json:"data,omitempty"`

	// Engine is the engine identity (EngineID) the study runs under: its
	// last invocation's. Machines counts the units found by where they
	// were trained and the engine identity that computed them, most first;
	// EngineNote warns when some were computed under another identity than
	// Engine (reused from a host with another ISA path), "" otherwise.
	Engine     string         `json:"engine"`
	Machines   []MachineUnits `json:"machines"`
	EngineNote string         `json:"engine_note,omitempty"`

	// The rate this invocation reached over the units it trained; zero
	// when it trained nothing (a report read back from the store).
	Rate

	// Refit is the best configuration trained on all training rows and
	// scored on the test set (sweep --refit); nil without one.
	Refit *RefitResult `json:"refit,omitempty"`

	// Decisions are a pruned study's rung decisions, in the order made
	// (see sweeps/prune); nil without a pruner.
	Decisions []Decision `json:"decisions,omitempty"`

	// Importance is the PED-ANOVA importance of the keys a grid, random or
	// TPE study varies, most important first (report.Importance); nil
	// until a report computes it, and for other studies.
	Importance []importance.Result `json:"importance,omitempty"`
}

// RefitSplit is the UnitID.Split of a refit: the unit trained on all
// training rows and scored on the held-out test set.
const RefitSplit = "refit test"

// RefitResult is a study's refit: its best configuration by the study's
// metric (rank 1 by mean cross-validated accuracy; the first in study order
// on a tie) trained on all training rows, with the study seed as its seed,
// and scored on the held-out test set.
type RefitResult struct {
	Key            string       `json:"key"`
	Params         study.Params `json:"params"`
	Axis           string       `json:"axis,omitempty"`  // the configuration's first point in the study: axis
	Value          string       `json:"value,omitempty"` // and value
	Seed           int64        `json:"seed"`
	CVMeanAccuracy float64      `json:"cv_mean_accuracy"` // the study's figure that picked it
	TestAccuracy   float64      `json:"test_accuracy"`
	TestLoss       float64      `json:"test_loss"`
	TrainRows      int          `json:"train_rows"`
	TestRows       int          `json:"test_rows"`
	TestData       string       `json:"test_data"`    // the test set's name
	TestSHA256     string       `json:"test_sha256"`  // its datasets fingerprint
	ModelFile      string       `json:"model_file"`   // the saved model, relative to the output directory; "" when training diverged
	ModelSHA256    string       `json:"model_sha256"` // the model file's SHA-256
	Unit           UnitResult   `json:"unit"`         // the training run: learning curve, seconds, divergence, reused
}

// refitJSON is RefitResult's JSON form: its floats as engine.JSONFloat.
type refitJSON struct {
	refitFields
	CVMeanAccuracy engine.JSONFloat `json:"cv_mean_accuracy"`
	TestAccuracy   engine.JSONFloat `json:"test_accuracy"`
	TestLoss       engine.JSONFloat `json:"test_loss"`
}

type refitFields RefitResult // RefitResult without its JSON methods

// MarshalJSON writes non-finite numbers as null (engine.JSONFloat).
func (r RefitResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(refitJSON{refitFields(r), engine.JSONFloat(r.CVMeanAccuracy), engine.JSONFloat(r.TestAccuracy), engine.JSONFloat(r.TestLoss)})
}

// UnmarshalJSON reads null as NaN.
func (r *RefitResult) UnmarshalJSON(b []byte) error {
	var v refitJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = RefitResult(v.refitFields)
	r.CVMeanAccuracy, r.TestAccuracy, r.TestLoss = float64(v.CVMeanAccuracy), float64(v.TestAccuracy), float64(v.TestLoss)
	return nil
}

// MarshalJSON writes non-finite numbers as null (engine.JSONFloat): a
// diverged unit's loss is +Inf.
func (u UnitResult) MarshalJSON() ([]byte, error) {
	type plain UnitResult
	return json.Marshal(struct {
		plain
		Accuracy engine.JSONFloat `json:"accuracy"`
		ValLoss  engine.JSONFloat `json:"val_loss"`
	}{plain(u), engine.JSONFloat(u.Accuracy), engine.JSONFloat(u.ValLoss)})
}

// MarshalJSON writes non-finite numbers as null (engine.JSONFloat).
func (c ConfigResult) MarshalJSON() ([]byte, error) {
	type plain ConfigResult
	v := struct {
		plain
		FoldAccuracies []engine.JSONFloat `json:"fold_accuracies"`
		MeanAccuracy   engine.JSONFloat   `json:"mean_accuracy"`
		StdAccuracy    engine.JSONFloat   `json:"std_accuracy"`
		MeanValLoss    engine.JSONFloat   `json:"mean_val_loss"`
	}{plain: plain(c), FoldAccuracies: make([]engine.JSONFloat, len(c.FoldAccuracies)),
		MeanAccuracy: engine.JSONFloat(c.MeanAccuracy), StdAccuracy: engine.JSONFloat(c.StdAccuracy), MeanValLoss: engine.JSONFloat(c.MeanValLoss)}
	for i, a := range c.FoldAccuracies {
		v.FoldAccuracies[i] = engine.JSONFloat(a)
	}
	return json.Marshal(v)
}

// Rate is the rate a run reached: the training GEMM work (forward, input-
// and weight-gradient products, see scheduler.TrainingFLOPsPerRow) it did,
// over its wall time, against the measured FMA peak of the cores it used
// (one core's kernels.MachinePeak × cores).
type Rate struct {
	GFLOP         float64 `json:"gflop"`
	GFLOPS        float64 `json:"gflops"`
	PeakGFLOPS    float64 `json:"peak_gflops"`
	PercentOfPeak float64 `json:"percent_of_peak"`
	// Blocks names the GEMM's per-CPU blocks the run used: the kernels'
	// table row or a tuned file (kernels.TuningSource).
	Blocks string `json:"blocks,omitempty"`
}

// NewRate is the rate of flops of GEMM work done in seconds on cores cores
// (at most the machine's: more workers than cores share them); the zero
// Rate when there was no work.
func NewRate(flops, seconds float64, cores int) Rate {
	if flops <= 0 || seconds <= 0 {
		return Rate{}
	}
	cores = min(max(1, cores), runtime.NumCPU())
	r := Rate{GFLOP: flops / 1e9, GFLOPS: flops / 1e9 / seconds, PeakGFLOPS: kernels.MachinePeak().GFLOPS * float64(cores),
		Blocks: kernels.TuningSource()}
	r.PercentOfPeak = 100 * r.GFLOPS / r.PeakGFLOPS
	return r
}

// EpochScore is one epoch of one unit as the store keeps it while a study
// runs (store.Store.SaveEpoch, EpochScores): written as the epoch
// finishes, so that a rung decision, a resumed study and a live view read
// a unit's progress before it is done.
type EpochScore struct {
	Key           string  `json:"key"` // the configuration (study.Params.Key)
	Fold          int     `json:"fold"`
	Epoch         int     `json:"epoch"`          // 1-based
	Accuracy      float64 `json:"accuracy"`       // held-out accuracy after the epoch; NaN when the fold was not scored
	Loss          float64 `json:"loss"`           // held-out loss after the epoch; NaN when not scored
	TrainAccuracy float64 `json:"train_accuracy"` // the epoch's training figures, as engine.EpochStats
	TrainLoss     float64 `json:"train_loss"`
	Seconds       float64 `json:"seconds"` // the epoch's training time (a fused member's share)
}

// NewEpochScore is the EpochScore of epoch s of configuration key on fold.
func NewEpochScore(key string, fold int, s engine.EpochStats) EpochScore {
	return EpochScore{Key: key, Fold: fold, Epoch: s.Epoch, Accuracy: s.ValAccuracy, Loss: s.ValLoss,
		TrainAccuracy: s.Accuracy, TrainLoss: s.Loss, Seconds: s.Seconds}
}

// MarshalJSON writes non-finite numbers as null (engine.JSONFloat).
func (e EpochScore) MarshalJSON() ([]byte, error) {
	type plain EpochScore
	return json.Marshal(struct {
		plain
		Accuracy      engine.JSONFloat `json:"accuracy"`
		Loss          engine.JSONFloat `json:"loss"`
		TrainAccuracy engine.JSONFloat `json:"train_accuracy"`
		TrainLoss     engine.JSONFloat `json:"train_loss"`
		Seconds       engine.JSONFloat `json:"seconds"`
	}{plain(e), engine.JSONFloat(e.Accuracy), engine.JSONFloat(e.Loss), engine.JSONFloat(e.TrainAccuracy),
		engine.JSONFloat(e.TrainLoss), engine.JSONFloat(e.Seconds)})
}

// Decision is a pruner's verdict on a configuration at a rung (see
// sweeps/prune): whether it went on, with the score it had and the cutoff
// it was held to at the time, so that a report can say why each
// configuration stopped.
type Decision struct {
	Key      string  `json:"key"`     // the configuration
	Bracket  int     `json:"bracket"` // hyperband's bracket (0: the most aggressive); 0 for the others
	Rung     int     `json:"rung"`    // 0-based; the median pruner's: epoch − its warm-up
	Epoch    int     `json:"epoch"`   // epochs trained when decided
	Score    float64 `json:"score"`   // the configuration's held-out accuracy at Epoch, mean over its folds (−Inf when a fold diverged)
	Cutoff   float64 `json:"cutoff"`  // the score it had to reach to go on, at the time
	Promoted bool    `json:"promoted"`
	Order    int     `json:"order"` // when, among the study's decisions (0 first)
}

// Verdict is the decision in words: "goes on" or "stops".
func (d Decision) Verdict() string {
	if d.Promoted {
		return "goes on"
	}
	return "stops"
}

// MarshalJSON writes non-finite numbers as null (engine.JSONFloat).
func (d Decision) MarshalJSON() ([]byte, error) {
	type plain Decision
	return json.Marshal(struct {
		plain
		Score  engine.JSONFloat `json:"score"`
		Cutoff engine.JSONFloat `json:"cutoff"`
	}{plain(d), engine.JSONFloat(d.Score), engine.JSONFloat(d.Cutoff)})
}
