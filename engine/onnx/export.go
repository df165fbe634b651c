// Package onnx exports an mlpsweep model as an ONNX graph (IR version 7,
// opset 13) that standard runtimes load:
//
//	input  "input" [N×In] float (double when the model has a CSV scaling)
//	scaling, CSV models only:  Div(unit) → Sub(shift) → Mul(factor) in
//	                           double, then Cast to float: exactly
//	                           datasets' float32((x/unit − shift)·factor)
//	per Dense layer l:         Gemm(a, W_l, b_l)   W_l [d_{l−1}×d_l]
//	                           batch norm folded into W_l and b_l
//	                           Relu | Tanh | Sigmoid | Elu | Selu (none for linear)
//	                           Add(a_{l−1}, ·) for a skip connection
//	output "probabilities" [N×Out] = Softmax(last Gemm)
//
// Dropout is the identity at inference and has no node. Folding batch
// normalization gives W'_ij = W_ij·s_j and b'_j = (b_j − μ_j)·s_j + β_j
// with s_j = γ_j/√(σ²_j + ε), computed in float64 and rounded once; the
// exported probabilities differ from Predict's by float32 rounding only.
// The model's class labels, engine identity and metrics go to the model's
// metadata_props.
//
// The ONNX protobuf types are generated from ONNX's own schema
// (internal/onnxpb, gen.sh) and encoded by google.golang.org/protobuf.
package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/mlpsweep/mlpsweep/engine"
	pb "github.com/mlpsweep/mlpsweep/engine/onnx/internal/onnxpb"
)

const (
	irVersion = 7  // ONNX 1.8 and later read it
	opset     = 13 // the default domain's operator set
	// InputName and OutputName name the graph's input and output.
	InputName  = "input"
	OutputName = "probabilities"
)

// Keras's SELU constants (shared/keras-semantics.md).
const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

// Export returns the ONNX model of m, with info's scaling as its first
// nodes and info's labels, engine, metrics and, when known, its input's
// feature names (mlpsweep.features, a JSON array in input order) in its
// metadata.
func Export(m *engine.Model, info engine.ModelInfo) ([]byte, error) {
	g := &graph{}
	x := InputName
	inputType := pb.TensorProto_FLOAT
	if s := info.Scaling; s != nil {
		if len(s.Unit) != m.Inputs() {
			return nil, fmt.Errorf("onnx: scaling of %d features for a model of %d inputs", len(s.Unit), m.Inputs())
		}
		inputType = pb.TensorProto_DOUBLE
		x = g.node("Div", x, g.double("scaling.unit", s.Unit))
		x = g.node("Sub", x, g.double("scaling.shift", s.Shift))
		x = g.node("Mul", x, g.double("scaling.factor", s.Factor))
		x = g.op("Cast", x).with(intAttr("to", int64(pb.TensorProto_FLOAT))).out
	}
	for i, l := range m.Layers() {
		name := fmt.Sprintf("dense_%d", i+1)
		w, b := folded(l)
		a := g.node("Gemm", x, g.float(name+".kernel", []int64{int64(l.In), int64(l.Out)}, w), g.float(name+".bias", []int64{int64(l.Out)}, b))
		switch l.Activation {
		case "relu":
			a = g.node("Relu", a)
		case "tanh":
			a = g.node("Tanh", a)
		case "sigmoid":
			a = g.node("Sigmoid", a)
		case "elu":
			a = g.op("Elu", a).with(floatAttr("alpha", 1)).out
		case "selu":
			a = g.op("Selu", a).with(floatAttr("alpha", seluAlpha), floatAttr("gamma", seluScale)).out
		case "softmax":
			a = g.named(OutputName, "Softmax", a).with(intAttr("axis", 1)).out
		case "linear":
		default:
			return nil, fmt.Errorf("onnx: activation %q has no export", l.Activation)
		}
		if l.Residual {
			a = g.node("Add", x, a)
		}
		x = a
	}

	props := []*pb.StringStringEntryProto{
		{Key: proto.String("mlpsweep.engine"), Value: proto.String(info.Engine)},
		{Key: proto.String("mlpsweep.data"), Value: proto.String(info.Data)},
	}
	entries := []struct {
		key string
		v   any
	}{{"mlpsweep.classes", info.Classes}, {"mlpsweep.metrics", info.Metrics}, {"mlpsweep.config", m.Config()}}
	if info.Features != nil { // the input's columns, in order, as the CSV header named them
		if len(info.Features) != m.Inputs() {
			return nil, fmt.Errorf("onnx: %d feature names for a model of %d inputs", len(info.Features), m.Inputs())
		}
		entries = append(entries, struct {
			key string
			v   any
		}{"mlpsweep.features", info.Features})
	}
	for _, p := range entries {
		b, err := json.Marshal(p.v)
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: %v", p.key, err)
		}
		props = append(props, &pb.StringStringEntryProto{Key: proto.String(p.key), Value: proto.String(string(b))})
	}
	model := &pb.ModelProto{
		IrVersion:       proto.Int64(irVersion),
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		ProducerName:    proto.String("mlpsweep"),
		ProducerVersion: proto.String(engine.Version),
		DocString:       proto.String(fmt.Sprintf("MLP %d→%d classes; input: %s", m.Inputs(), m.Outputs(), inputDoc(info))),
		MetadataProps:   props,
		Graph: &pb.GraphProto{
			Name:        proto.String("mlpsweep"),
			Node:        g.nodes,
			Initializer: g.inits,
			Input:       []*pb.ValueInfoProto{valueInfo(InputName, inputType, m.Inputs())},
			Output:      []*pb.ValueInfoProto{valueInfo(OutputName, pb.TensorProto_FLOAT, m.Outputs())},
		},
	}
	return proto.Marshal(model)
}

func inputDoc(info engine.ModelInfo) string {
	if info.Scaling == nil {
		return "features as the model was trained on them (MNIST: pixels/255), float"
	}
	return "raw CSV features, double, scaled in the graph (" + info.Scaling.Method + ")"
}

// folded returns the layer's kernel and bias with its batch normalization
// folded in (as they are when there is none).
func folded(l engine.Layer) (w, b []float32) {
	bn := l.BatchNorm
	if bn == nil {
		return l.Kernel, l.Bias
	}
	w, b = make([]float32, len(l.Kernel)), make([]float32, l.Out)
	s := make([]float64, l.Out) // [Out] γ/√(σ² + ε)
	for j := range s {
		s[j] = float64(bn.Gamma[j]) / math.Sqrt(float64(bn.MovingVariance[j])+float64(bn.Epsilon))
		b[j] = float32((float64(l.Bias[j])-float64(bn.MovingMean[j]))*s[j] + float64(bn.Beta[j]))
	}
	for i := 0; i < l.In; i++ {
		for j := 0; j < l.Out; j++ {
			w[i*l.Out+j] = float32(float64(l.Kernel[i*l.Out+j]) * s[j])
		}
	}
	return w, b
}

// graph collects nodes and initializers in order.
type graph struct {
	nodes []*pb.NodeProto
	inits []*pb.TensorProto
}

type nodeRef struct {
	n   *pb.NodeProto
	out string
}

// node appends an op on inputs and returns its output's name.
func (g *graph) node(op string, inputs ...string) string { return g.op(op, inputs...).out }

// op appends an op on inputs, its output named after the node count.
func (g *graph) op(op string, inputs ...string) nodeRef {
	return g.named(fmt.Sprintf("t%d", len(g.nodes)), op, inputs...)
}

// named appends an op writing output.
func (g *graph) named(output, op string, inputs ...string) nodeRef {
	n := &pb.NodeProto{Name: proto.String(fmt.Sprintf("%s_%d", op, len(g.nodes))), OpType: proto.String(op), Input: inputs, Output: []string{output}}
	g.nodes = append(g.nodes, n)
	return nodeRef{n, output}
}

// with adds attributes to the node.
func (r nodeRef) with(attrs ...*pb.AttributeProto) nodeRef {
	r.n.Attribute = append(r.n.Attribute, attrs...)
	return r
}

func intAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func floatAttr(name string, v float64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(float32(v))}
}

// float adds a float32 initializer and returns its name.
func (g *graph) float(name string, dims []int64, v []float32) string {
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	g.inits = append(g.inits, &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), RawData: raw})
	return name
}

// double adds a float64 vector initializer and returns its name.
func (g *graph) double(name string, v []float64) string {
	raw := make([]byte, 0, 8*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(x))
	}
	g.inits = append(g.inits, &pb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(pb.TensorProto_DOUBLE)), RawData: raw})
	return name
}

// valueInfo describes a [N×width] tensor with a symbolic batch dimension.
func valueInfo(name string, elem pb.TensorProto_DataType, width int) *pb.ValueInfoProto {
	return &pb.ValueInfoProto{
		Name: proto.String(name),
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem)),
			Shape: &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{
				{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}},
				{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(width)}},
			}},
		}}},
	}
}
