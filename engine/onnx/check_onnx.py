"""make test-onnx: ONNX's own checker (with strict shape inference) on the
exported graphs, then a small numpy evaluation of each graph on the rows the
Go test wrote, compared with mlpsweep's Predict (the Go tests' own
evaluation, engine/onnx/run_test.go, does the same in Go). Usage:
check_onnx.py DIR"""
import json
import pathlib
import sys

import numpy as np
import onnx
from onnx import numpy_helper

TOLERANCE = 1e-5


def run(model, x):
    """Evaluates the operators mlpsweep exports, in float32 like a runtime."""
    env = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for n in model.graph.node:
        a = [env[i] for i in n.input]
        attrs = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        op = n.op_type
        if op == "Gemm":
            y = a[0] @ a[1] + a[2]
        elif op == "Relu":
            y = np.maximum(a[0], 0)
        elif op == "Tanh":
            y = np.tanh(a[0])
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-a[0]))
        elif op == "Elu":
            y = np.where(a[0] > 0, a[0], attrs["alpha"] * (np.exp(a[0]) - 1))
        elif op == "Selu":
            y = attrs["gamma"] * np.where(a[0] > 0, a[0], attrs["alpha"] * (np.exp(a[0]) - 1))
        elif op == "Softmax":
            e = np.exp(a[0] - a[0].max(axis=attrs["axis"], keepdims=True))
            y = e / e.sum(axis=attrs["axis"], keepdims=True)
        elif op in ("Add", "Sub", "Mul", "Div"):
            y = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op](a[0], a[1])
        elif op == "Cast":
            y = a[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[attrs["to"]])
        else:
            raise SystemExit(f"no numpy evaluation of {op}")
        env[n.output[0]] = y.astype(a[0].dtype, copy=False) if op != "Cast" else y
    return env[model.graph.output[0].name]


def main(folder):
    paths = sorted(pathlib.Path(folder).glob("*.onnx"))
    if not paths:
        raise SystemExit(f"no .onnx files in {folder}")
    for path in paths:
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        meta = json.loads(path.with_suffix(".json").read_text())
        x = np.fromfile(path.with_suffix(".input"), dtype="<" + ("f4" if meta["input_dtype"] == "float32" else "f8"))
        want = np.fromfile(path.with_suffix(".want"), dtype="<f4").reshape(meta["rows"], meta["classes"])
        got = run(model, x.reshape(meta["rows"], meta["features"]))
        diff = float(np.abs(got.astype(np.float64) - want).max())
        ops = " ".join(n.op_type for n in model.graph.node)
        print(f"{path.name}: checker ok; numpy vs Predict max |diff| {diff:.3g} over {want.size} probabilities ({ops})")
        if diff > TOLERANCE:
            raise SystemExit(f"{path.name}: max abs difference {diff:.3g} > {TOLERANCE}")
    print(f"{len(paths)} ONNX files pass onnx {onnx.__version__}'s checker and match Predict within {TOLERANCE}")


main(sys.argv[1])
