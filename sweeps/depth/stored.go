package depth

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// holdoutSuffix ends the name of a depth study's record in the store (see
// DepthPlan.Header).
const holdoutSuffix = "-holdout"

// FromStored rebuilds a depth study from its record in a store, as a
// reader that has no data set sees it (mlpsweep serve): h and points as
// stored, r the units found so far. ok is false when the study is not a
// depth study: not named …-holdout on one fold, or a unit without a depth
// run's record. Runs still missing are left out; Data is the header's
// description, Classes is known for MNIST only.
func FromStored(h sweeps.Header, points []study.Point, r sweeps.StudyResult) (res *DepthStudyResult, ok bool, err error) {
	if h.Folds != 1 || !strings.HasSuffix(h.Name, holdoutSuffix) || len(points) != len(r.Configs) {
		return nil, false, nil
	}
	p := &DepthPlan{Study: strings.TrimSuffix(h.Name, holdoutSuffix), Seed: h.Seed, Points: points}
	res = &DepthStudyResult{Study: p.Study, Data: h.Data, Epochs: h.Epochs, Seconds: h.WallSeconds, dataOnly: true}
	if strings.HasPrefix(strings.ToLower(h.Data), "mnist") {
		res.Classes = 10
	}
	for i, c := range r.Configs {
		if len(c.Units) != 1 {
			continue
		}
		u := c.Units[0]
		var rec map[string]json.RawMessage
		if json.Unmarshal(u.Extra, &rec) != nil || rec["init"] == nil {
			return nil, false, nil
		}
		run, err := p.Result(points[i], u)
		if err != nil {
			return nil, true, err
		}
		if n := len(u.Epochs); n > 0 && res.TrainRows == 0 {
			res.TrainRows = int(u.Samples) / n
		}
		res.Runs = append(res.Runs, run)
		if !slices.Contains(res.Variants, run.Variant) {
			res.Variants = append(res.Variants, run.Variant)
		}
		if !slices.Contains(res.Depths, run.Depth) {
			res.Depths = append(res.Depths, run.Depth)
		}
	}
	if len(res.Runs) == 0 {
		return nil, false, nil
	}
	slices.Sort(res.Depths)
	return res, true, nil
}

// Page is what depth.html shows, its plots as data only (no PNG drawn):
// the depth part of the page of mlpsweep serve.
func (r *DepthStudyResult) Page() (report.Page, error) {
	if !r.dataOnly {
		c := *r
		c.dataOnly = true
		r = &c
	}
	page, err := r.page()
	if err != nil {
		return page, fmt.Errorf("depth study %s: %w", r.Study, err)
	}
	return page, nil
}
