package main

import (
	"fmt"
	"io"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/engine/onnx"
	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
)

func init() {
	register(command{name: "export", summary: "export a saved model as an ONNX graph", run: runExport})
}

const exportSynopsis = `export --onnx FILE --model FILE

Writes a model saved by 'mlpsweep train --save' as an ONNX graph (IR 7,
opset 13) that ONNX runtimes load: input "input" [N×features], output
"probabilities" [N×classes]; Gemm, the activation and Softmax per layer,
batch normalization folded into the Gemm weights, dropout omitted. A model
trained on CSV data takes the raw features as doubles and scales them in the
graph as training did. Class labels, engine and metrics go to the graph's
metadata.

Example: mlpsweep export --model model.safetensors --onnx model.onnx`

func runExport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export", exportSynopsis, stderr)
	var modelPath, onnxPath string
	fs.StringVar(&modelPath, "model", "", "`FILE` written by mlpsweep train --save (required)")
	fs.StringVar(&onnxPath, "onnx", "", "ONNX file to write (required)")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "export", "unexpected argument %q", fs.Arg(0))
	case modelPath == "" || onnxPath == "":
		return usageError(stderr, "export", "--model FILE and --onnx FILE are required")
	}
	if code := checkOutputs(stderr, "export", []namedPath{{"--onnx", onnxPath}}, []namedPath{{"--model", modelPath}}); code >= 0 {
		return code
	}
	m, info, err := engine.Load(modelPath, nil)
	if err != nil {
		return fail(stderr, "export", err)
	}
	b, err := onnx.Export(m, info)
	if err != nil {
		return fail(stderr, "export", err)
	}
	if err := atomicfile.Write(onnxPath, b); err != nil {
		return fail(stderr, "export", err)
	}
	fmt.Fprintf(stderr, "wrote %s (%d bytes)\n", onnxPath, len(b))
	return 0
}
