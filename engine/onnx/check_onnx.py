"""ONNX's own checker (with shape inference) on exported graphs: make test-onnx."""
import sys

import onnx

for path in sys.argv[1:]:
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    out = inferred.graph.output[0].type.tensor_type
    print(f"{path}: ok (IR {model.ir_version}, opset {model.opset_import[0].version}, "
          f"{len(model.graph.node)} nodes, output {[d.dim_param or d.dim_value for d in out.shape.dim]})")
print(f"{len(sys.argv) - 1} ONNX files pass onnx {onnx.__version__}'s checker")
