package report

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/importance"
	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// Importance is the PED-ANOVA importance of each key a grid, random or TPE
// study varies, for the mean accuracy of its configurations trained fully
// (tier 0: not pruned, not diverged; see package importance); nil for other studies (one-axis studies vary one key at a
// time from the base) and for studies varying fewer than two keys or where
// PED-ANOVA finds no importance (three scored configurations at least, and
// a top 10 % that is not all of them).
//
// The results hold values, not the study's ranges, so each key's range is
// read back from them: a grid's values, and a random or TPE study's keys
// with at most 10 distinct values or any that is not a number, are choices;
// the other numeric keys are ranges from their least to their largest
// value, int if every value is an integer, log_uniform if they are positive
// and span at least two decades.
func Importance(r sweeps.StudyResult) ([]importance.Result, error) {
	v, err := newStudyView(r)
	if err != nil {
		return nil, err
	}
	return v.importance()
}

// maxChoiceValues is how many distinct numbers a random or TPE study's key
// may take and still count as a choice.
const maxChoiceValues = 10

func (v *studyView) importance() ([]importance.Result, error) {
	kind := v.r.Configs[0].Axis
	if kind != "grid" && kind != "random" && kind != "tpe" || len(v.varying) < 2 {
		return nil, nil
	}
	// Configurations trained fully, as Optuna's importance counts complete
	// trials only: a pruned one's accuracy is at an earlier epoch than the
	// others' (its rung's), and a diverged one failed.
	var rows []int
	for i, c := range v.r.Configs {
		if c.Axis != kind {
			return nil, nil
		}
		if !math.IsNaN(score(c)) && c.Tier() == 0 {
			rows = append(rows, i)
		}
	}
	if len(rows) < 2 {
		return nil, nil
	}
	space := make([]tpe.Param, len(v.varying))
	trials := make([]importance.Trial, len(rows))
	for t, i := range rows {
		trials[t] = importance.Trial{X: make([]float64, len(v.varying)), Value: score(v.r.Configs[i])}
	}
	for d, k := range v.varying {
		var texts []string // distinct values in order of first appearance
		var nums []float64 // the numbers, when every value is one
		numeric := true
		for _, i := range rows {
			val := v.values[i][k]
			text := string(val.json)
			if !slices.Contains(texts, text) {
				texts = append(texts, text)
			}
			var x float64
			if json.Unmarshal(val.json, &x) != nil {
				numeric = false
			}
			nums = append(nums, x)
		}
		p := tpe.Param{Name: v.keys[k], Kind: tpe.Choice, Choices: len(texts)}
		if numeric && kind != "grid" && len(texts) > maxChoiceValues {
			p = numericRange(v.keys[k], nums)
		}
		space[d] = p
		for t, i := range rows {
			if p.Kind == tpe.Choice {
				trials[t].X[d] = float64(slices.Index(texts, string(v.values[i][k].json)))
			} else {
				trials[t].X[d] = nums[t]
			}
		}
	}
	res, err := importance.PEDANOVA(space, trials, importance.Options{Maximize: true})
	if err != nil {
		return nil, fmt.Errorf("importance: %w", err)
	}
	if !slices.ContainsFunc(res, func(r importance.Result) bool { return r.Importance > 0 }) {
		return nil, nil // too few configurations, or the best are all of them: no shares to show
	}
	return res, nil
}

// numericRange is the range the values xs were drawn from, as Importance
// infers it.
func numericRange(name string, xs []float64) tpe.Param {
	lo, hi := slices.Min(xs), slices.Max(xs)
	p := tpe.Param{Name: name, Kind: tpe.Uniform, Low: lo, High: hi}
	switch {
	case !slices.ContainsFunc(xs, func(x float64) bool { return x != math.Trunc(x) }):
		p.Kind = tpe.Int
	case lo > 0 && hi/lo >= 100:
		p.Kind = tpe.LogUniform
	}
	return p
}

// importanceLine is the importances in one line, "importance (PED-ANOVA):
// lr 95.3 %, batch 2.9 %, dropout 1.8 %"; "" when there are none.
func importanceLine(res []importance.Result) string {
	if len(res) == 0 {
		return ""
	}
	parts := make([]string, len(res))
	for i, r := range res {
		parts[i] = fmt.Sprintf("%s %.1f %%", r.Param, 100*r.Importance)
	}
	return "importance (PED-ANOVA): " + strings.Join(parts, ", ")
}

// importanceSection shows res as a table and a bar plot (data for the
// page), or nothing without results.
func importanceSection(res []importance.Result) (Section, bool) {
	if len(res) == 0 {
		return Section{}, false
	}
	t := HTMLTable{Header: []string{"key", "importance", "Pearson divergence"}}
	bars := Series{Label: "share of importance (%)", Style: "bars", X: []float64{}, Y: []float64{}}
	p := &Plot{Title: "hyperparameter importance", XLabel: "key", YLabel: "share of importance (%)"}
	for i, r := range res {
		t.Rows = append(t.Rows, HTMLRow{Cells: []string{r.Param, fmt.Sprintf("%.1f %%", 100*r.Importance), strconv.FormatFloat(r.Divergence, 'g', 3, 64)}})
		p.XTicks = append(p.XTicks, r.Param)
		bars.add(float64(i), 100*r.Importance, false)
	}
	p.Series = []Series{bars}
	return Section{
		ID: "importance", Title: "Hyperparameter importance",
		Notes: []string{"Which keys the best configurations depend on (PED-ANOVA, Watanabe et al. 2023, as Optuna computes it)."},
		Table: t, Figures: []Figure{{Alt: "hyperparameter importance", Plot: p,
			Caption: "PED-ANOVA: how differently the best 10 % of the configurations (at least two) are distributed over each key than all of them; shares sum to 100 %."}},
	}, true
}
