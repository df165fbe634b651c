package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// studyView is what the tables, the CSV/JSON results and the HTML report
// show of a study, derived once from a sweeps.StudyResult.
//
// Legend: C = configurations, K = folds (split columns), P = keys of
// engine.Config.
type studyView struct {
	r       sweeps.StudyResult
	folds   int            // K: r.Folds, or more if a unit names a higher fold
	keys    []string       // [P] engine.Config JSON keys in struct order
	values  [][]paramValue // [C][P] each config's value of every key
	varying []int          // indices into keys whose value differs between configs
	ranks   []int          // [C] rank of mean accuracy, 1 = best; ties share the lowest (sklearn's "min")
	axes    []axisView     // one-axis studies: configs grouped by axis in study order; nil otherwise
}

// axisView is one axis of a one-axis study.
type axisView struct {
	name    string
	configs []int // indices into r.Configs, in study order
	Best    int   // index into r.Configs of the best mean accuracy; -1 if none was scored
}

// paramValue is one config key's value as JSON and as table text
// (strings unquoted, everything else as JSON: 0.001, [256,128], true).
type paramValue struct {
	json json.RawMessage
	text string
}

// newStudyView checks r and derives everything the outputs show.
func newStudyView(r sweeps.StudyResult) (*studyView, error) {
	if len(r.Configs) == 0 {
		return nil, fmt.Errorf("study %q has no configurations", r.Name)
	}
	if r.Folds < 0 {
		return nil, fmt.Errorf("study %q: folds %d (want ≥ 0)", r.Name, r.Folds)
	}
	v := &studyView{r: r, folds: r.Folds}
	for i, c := range r.Configs {
		seen := map[int]bool{}
		for _, u := range c.Units {
			if u.Fold < 0 || seen[u.Fold] {
				return nil, fmt.Errorf("study %q: configuration %d (%s) has a unit with fold %d (negative or repeated)", r.Name, i+1, configLabel(c), u.Fold)
			}
			seen[u.Fold] = true
			v.folds = max(v.folds, u.Fold+1)
		}
		keys, values, err := configParams(c.Params.Config(0))
		if err != nil {
			return nil, fmt.Errorf("study %q: configuration %d: %w", r.Name, i+1, err)
		}
		v.keys = keys
		v.values = append(v.values, values)
	}
	for k := range v.keys {
		for _, values := range v.values[1:] {
			if !bytes.Equal(values[k].json, v.values[0][k].json) {
				v.varying = append(v.varying, k)
				break
			}
		}
	}
	v.ranks = rankByScore(r.Configs)
	v.axes = groupByAxis(r.Configs)
	return v, nil
}

// configParams lists the JSON keys of engine.Config in field order, but the
// seed (a study's configurations have none: see study.Params), and the
// value of each in c.
func configParams(c engine.Config) ([]string, []paramValue, error) {
	rv := reflect.ValueOf(c)
	rt := rv.Type()
	var keys []string
	var values []paramValue
	for i := range rt.NumField() {
		key, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if key == "" || key == "-" || key == "seed" {
			continue
		}
		raw, err := json.Marshal(rv.Field(i).Interface())
		if err != nil {
			return nil, nil, fmt.Errorf("param %s: %w", key, err)
		}
		text := string(raw)
		if s, ok := rv.Field(i).Interface().(string); ok {
			text = s
		}
		keys = append(keys, key)
		values = append(values, paramValue{json: raw, text: text})
	}
	return keys, values, nil
}

// scored reports whether some fold of c has a score: a unit that finished
// or diverged (the aggregator averages those; failed units have none).
func scored(c sweeps.ConfigResult) bool {
	return slices.ContainsFunc(c.Units, func(u sweeps.UnitResult) bool { return !u.Failed() })
}

// score is a configuration's mean accuracy, or NaN when no fold was scored.
func score(c sweeps.ConfigResult) float64 {
	if !scored(c) || math.IsInf(c.MeanAccuracy, 0) {
		return math.NaN()
	}
	return c.MeanAccuracy
}

// rankByScore ranks configurations by descending score as scikit-learn's
// rank_test_score does (ties share the lowest rank, unscored ones come
// last) and as the aggregator's setRanks does: a configuration listed
// under several axes (same Key) counts once.
// Configurations rank by their Tier first (a pruned one after those
// trained fully, one with a diverged fold after both), as in the
// aggregator.
func rankByScore(configs []sweeps.ConfigResult) []int {
	type standing struct {
		tier  int
		score float64
	}
	above := func(o, s standing) bool {
		if math.IsNaN(o.score) || math.IsNaN(s.score) {
			return math.IsNaN(s.score) && !math.IsNaN(o.score)
		}
		return o.tier < s.tier || o.tier == s.tier && o.score > s.score
	}
	distinct := map[string]standing{} // key → standing
	for i, c := range configs {
		key := c.Key
		if key == "" {
			key = fmt.Sprintf("#%d", i) // hand-built results without keys: every config is distinct
		}
		distinct[key] = standing{c.Tier(), score(c)}
	}
	ranks := make([]int, len(configs))
	for i, c := range configs {
		ranks[i] = 1
		si := standing{c.Tier(), score(c)}
		for _, so := range distinct {
			if above(so, si) {
				ranks[i]++
			}
		}
	}
	return ranks
}

// groupByAxis groups a one-axis study's configurations by axis, axes in
// order of first appearance; nil when no configuration names an axis.
func groupByAxis(configs []sweeps.ConfigResult) []axisView {
	if !slices.ContainsFunc(configs, func(c sweeps.ConfigResult) bool { return c.Axis != "" }) {
		return nil
	}
	var axes []axisView
	for i, c := range configs {
		a := slices.IndexFunc(axes, func(a axisView) bool { return a.name == c.Axis })
		if a < 0 {
			axes = append(axes, axisView{name: c.Axis, Best: -1})
			a = len(axes) - 1
		}
		axes[a].configs = append(axes[a].configs, i)
	}
	for a := range axes {
		for _, i := range axes[a].configs {
			s := score(configs[i])
			if math.IsNaN(s) {
				continue
			}
			// By Tier first: trained fully, pruned, diverged.
			b := axes[a].Best
			if b < 0 || configs[i].Tier() < configs[b].Tier() ||
				configs[i].Tier() == configs[b].Tier() && s > score(configs[b]) {
				axes[a].Best = i
			}
		}
	}
	return axes
}

// byRank returns the configuration indices ordered by rank, study order
// among ties.
func (v *studyView) byRank() []int {
	order := make([]int, len(v.r.Configs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return v.ranks[a] - v.ranks[b] })
	return order
}

// axisName is how an axis is titled; configurations without one (say a
// baseline in a one-axis study) gather under "(none)".
func axisName(name string) string {
	if name == "" {
		return "(none)"
	}
	return name
}

// configLabel names a configuration before its params are known: "lr=0.01"
// in a one-axis study, its key otherwise.
func configLabel(c sweeps.ConfigResult) string {
	if c.Axis != "" {
		return c.Axis + "=" + c.Value
	}
	return c.Key
}

// label names configuration i for people: "lr=0.01" in a one-axis study,
// its varying keys ("lr=0.01 batch=32") otherwise.
func (v *studyView) label(i int) string {
	c := v.r.Configs[i]
	if c.Axis != "" || len(v.varying) == 0 {
		return configLabel(c)
	}
	parts := make([]string, len(v.varying))
	for j, k := range v.varying {
		parts[j] = v.keys[k] + "=" + v.values[i][k].text
	}
	return strings.Join(parts, " ")
}

// foldScores lists a configuration's held-out accuracy per fold [K]: NaN
// where the fold is missing or its unit failed.
func foldScores(c sweeps.ConfigResult, folds int) []float64 {
	scores := make([]float64, folds)
	for f := range scores {
		scores[f] = math.NaN()
	}
	for _, u := range c.Units {
		if u.Fold < folds && !u.Failed() {
			scores[u.Fold] = u.Accuracy
		}
	}
	return scores
}

// meanStd is sweeps.MeanStd, but NaN for none: the report shows "—" there.
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	return sweeps.MeanStd(xs)
}

// fitTimes is the mean and std of a configuration's unit wall times.
func fitTimes(c sweeps.ConfigResult) (mean, std float64) {
	seconds := make([]float64, len(c.Units))
	for i, u := range c.Units {
		seconds[i] = u.Seconds
	}
	return meanStd(seconds)
}

// diverged reports whether any unit of c diverged.
func diverged(c sweeps.ConfigResult) bool {
	return slices.ContainsFunc(c.Units, func(u sweeps.UnitResult) bool { return u.Diverged })
}

// status is status of c with the pruner's reason for stopping it, from
// the study's decisions.
func (v *studyView) status(c sweeps.ConfigResult) string {
	i := slices.IndexFunc(v.r.Decisions, func(d sweeps.Decision) bool { return d.Key == c.Key && !d.Promoted })
	if i < 0 {
		return status(c, v.folds, nil)
	}
	return status(c, v.folds, &v.r.Decisions[i])
}

// status says where a configuration stands when not every fold trained
// every epoch: "pruned at epoch 3", with the score and cutoff of the
// decision that stopped it when stop is not nil ("pruned at epoch 3:
// 0.8123 < cutoff 0.8410"), or what went wrong with its units, e.g.
// "diverged 1/3, missing 1/3"; "" when nothing is to say.
func status(c sweeps.ConfigResult, folds int, stop *sweeps.Decision) string {
	if c.PrunedAt == 0 {
		return troubles(c, folds)
	}
	pruned := fmt.Sprintf("pruned at epoch %d", c.PrunedAt)
	if stop != nil {
		pruned += fmt.Sprintf(": %s < cutoff %s", formatScore(stop.Score), formatScore(stop.Cutoff))
	}
	if t := troubles(c, folds); t != "" {
		return pruned + ", " + t
	}
	return pruned
}

// troubles says which of c's units diverged, failed or are missing: ""
// when none.
func troubles(c sweeps.ConfigResult, folds int) string {
	var div, failed int
	for _, u := range c.Units {
		switch {
		case u.Diverged:
			div++
		case u.Failed():
			failed++
		}
	}
	var parts []string
	for _, p := range []struct {
		what string
		n    int
	}{{"diverged", div}, {"failed", failed}, {"missing", folds - len(c.Units)}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d/%d", p.what, p.n, folds))
		}
	}
	return strings.Join(parts, ", ")
}

// problems lists every unit that diverged or failed, one line each:
// "lr=1 fold 2: diverged at epoch 1, step 37".
func (v *studyView) problems() []string {
	var lines []string
	for i, c := range v.r.Configs {
		for _, u := range c.Units {
			if u.Diverged || u.Error != "" {
				msg := u.Error
				if msg == "" {
					msg = "diverged"
				}
				lines = append(lines, fmt.Sprintf("%s fold %d: %s", v.label(i), u.Fold, msg))
			}
		}
	}
	return lines
}

// fixedParams lists the keys every configuration shares, as "key=value".
func (v *studyView) fixedParams() []string {
	var out []string
	for k, key := range v.keys {
		if !slices.Contains(v.varying, k) {
			out = append(out, key+"="+v.values[0][k].text)
		}
	}
	return out
}

// throughput is the training samples per second of unit wall time over
// all units; NaN when no time was recorded.
func (v *studyView) throughput() float64 {
	var samples int64
	var seconds float64
	for _, c := range v.r.Configs {
		for _, u := range c.Units {
			samples += u.Samples
			seconds += u.Seconds
		}
	}
	if seconds <= 0 {
		return math.NaN()
	}
	return float64(samples) / seconds
}
