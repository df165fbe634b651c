package scheduler

import (
	"fmt"
	"math"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// StudyPlan is the plan of a cross-validated study s on data: its header,
// its units in order, and a FoldTrainer on data's KFold split (with learning
// curves when curves is set). RunStudy runs it on this process's workers;
// the queue (sweeps/queue) hands its units to workers on other machines.
func StudyPlan(s *study.Study, data *datasets.Dataset, curves bool) (Plan, error) {
	if len(s.Points) == 0 {
		return Plan{}, fmt.Errorf("study %s has no configurations", s.Name)
	}
	if s.Seed < 0 || s.Seed > math.MaxUint32 {
		return Plan{}, fmt.Errorf("study %s: seed %d is not a KFold random_state in [0, 2³²)", s.Name, s.Seed)
	}
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		return Plan{}, err
	}
	h := sweeps.Header{
		Name: s.Name, Folds: s.Folds, Epochs: s.Base.Epochs(), Seed: s.Seed,
		Split: sweeps.KFoldSplit(s.Folds, s.Seed),
		Data:  fmt.Sprintf("%s (%d rows)", data.Name, data.N), DataSHA: data.Fingerprint(), Engine: sweeps.EngineID(),
	}
	rows := func(u sweeps.Unit) int { return len(folds[u.ID.Fold].Train) }
	return Plan{
		Header: h, Points: s.Points, Units: sweeps.Plan(h, s.Points),
		Train:     FoldTrainer(data, folds, curves),
		EpochRows: rows,
		EpochWork: func(u sweeps.Unit) int64 {
			return MACsPerRow(u.Point.Params.Hidden(), data.Features, data.Classes) * int64(rows(u))
		},
		RowFLOPs: func(u sweeps.Unit) float64 {
			return TrainingFLOPsPerRow(u.Point.Params.Hidden(), data.Features, data.Classes)
		},
	}, nil
}
