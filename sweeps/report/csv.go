package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/mlpsweep/mlpsweep/internal/safecsv"
)

// cvResults is a study as scikit-learn's cv_results_: one row per
// configuration, columns
//
//	mean_fit_time, std_fit_time, param_<key> for every key that varies, params (JSON),
//	split0_test_score … split{K-1}_test_score, mean_test_score, std_test_score,
//	rank_test_score, mean_val_loss, axis, value, key, diverged, status
//	and, for a study with a refit, refit_test_score and refit_test_loss
//	(the refit configuration's test accuracy and loss; empty on other rows)
//
// Fit times are per-unit wall seconds. A missing or failed fold's score is
// empty in CSV and null in JSON (sklearn's error_score=nan).
type cvResults struct {
	columns []string
	Rows    [][]cvCell // [C][columns]
}

// cvCell is one value as CSV text and as JSON.
type cvCell struct {
	text string
	json json.RawMessage
}

func (v *studyView) cvResults() (cvResults, error) {
	t := cvResults{columns: []string{"mean_fit_time", "std_fit_time"}}
	for _, k := range v.varying {
		t.columns = append(t.columns, "param_"+v.keys[k])
	}
	t.columns = append(t.columns, "params")
	for f := range v.folds {
		t.columns = append(t.columns, fmt.Sprintf("split%d_test_score", f))
	}
	t.columns = append(t.columns, "mean_test_score", "std_test_score", "rank_test_score",
		"mean_val_loss", "axis", "value", "key", "diverged", "status")
	refit := v.r.Refit
	if refit != nil {
		t.columns = append(t.columns, "refit_test_score", "refit_test_loss")
	}

	for i, c := range v.r.Configs {
		fitMean, fitStd := fitTimes(c)
		row := []cvCell{floatCell(fitMean), floatCell(fitStd)}
		for _, k := range v.varying {
			p := v.values[i][k]
			row = append(row, cvCell{text: p.text, json: p.json})
		}
		params, err := json.Marshal(c.Params)
		if err != nil {
			return cvResults{}, fmt.Errorf("configuration %d params: %w", i+1, err)
		}
		row = append(row, cvCell{text: string(params), json: params})
		for _, s := range foldScores(c, v.folds) {
			row = append(row, floatCell(s))
		}
		mean, std, valLoss := score(c), c.StdAccuracy, c.MeanValLoss
		if math.IsNaN(mean) {
			std, valLoss = math.NaN(), math.NaN()
		}
		row = append(row, floatCell(mean), floatCell(std), intCell(v.ranks[i]),
			floatCell(valLoss), stringCell(c.Axis), stringCell(c.Value), stringCell(c.Key),
			boolCell(diverged(c)), stringCell(v.status(c)))
		if refit != nil {
			score, loss := math.NaN(), math.NaN()
			if c.Key == refit.Key {
				score, loss = refit.TestAccuracy, refit.TestLoss
			}
			row = append(row, floatCell(score), floatCell(loss))
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// floatCell writes NaN as empty/null and ±Inf as inf/-inf in CSV (what
// pandas reads) and null in JSON (which has no infinities).
func floatCell(x float64) cvCell {
	switch {
	case math.IsNaN(x):
		return cvCell{text: "", json: json.RawMessage("null")}
	case math.IsInf(x, 1):
		return cvCell{text: "inf", json: json.RawMessage("null")}
	case math.IsInf(x, -1):
		return cvCell{text: "-inf", json: json.RawMessage("null")}
	}
	raw, _ := json.Marshal(x) // finite: cannot fail
	return cvCell{text: string(raw), json: raw}
}

func intCell(n int) cvCell {
	s := strconv.Itoa(n)
	return cvCell{text: s, json: json.RawMessage(s)}
}

func boolCell(b bool) cvCell {
	s := strconv.FormatBool(b)
	return cvCell{text: s, json: json.RawMessage(s)}
}

func stringCell(s string) cvCell {
	raw, _ := json.Marshal(s) // strings always marshal
	return cvCell{text: s, json: raw}
}

// csvBytes is the table as RFC 4180 CSV with a header row, every cell
// escaped against formula injection (safecsv).
func (t cvResults) csvBytes() ([]byte, error) {
	var buf bytes.Buffer
	w := safecsv.NewWriter(&buf)
	if err := w.Write(t.columns); err != nil {
		return nil, err
	}
	record := make([]string, len(t.columns))
	for _, row := range t.Rows {
		for j, c := range row {
			record[j] = c.text
		}
		if err := w.Write(record); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// jsonBytes is the table as an indented JSON array with one object per
// row, keys in column order (pandas' orient="records").
func (t cvResults) jsonBytes() ([]byte, error) {
	var compact bytes.Buffer
	compact.WriteByte('[')
	for i, row := range t.Rows {
		if i > 0 {
			compact.WriteByte(',')
		}
		compact.WriteByte('{')
		for j, c := range row {
			if j > 0 {
				compact.WriteByte(',')
			}
			key, _ := json.Marshal(t.columns[j]) // strings always marshal
			compact.Write(key)
			compact.WriteByte(':')
			compact.Write(c.json)
		}
		compact.WriteByte('}')
	}
	compact.WriteByte(']')
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("results.json: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
