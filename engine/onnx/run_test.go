package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	pb "github.com/mlpsweep/mlpsweep/engine/onnx/internal/onnxpb"
)

// This file runs an exported graph by the ONNX operator specifications
// (opset 13), reading only the serialized model: the nodes in order, the
// initializers from their TensorProto bytes and each node's attributes.
// It knows the operators Export writes, as engine/onnx/check_onnx.py does
// in numpy for `make test-onnx` (which adds ONNX's own checker); it shares
// no code with Export, so a wrong node, attribute, shape or initializer
// layout shows as a wrong probability.

// value is a tensor of rows×cols (a vector has rows 1 and broadcasts over
// rows), held in float64; double says its ONNX type is double, otherwise
// every element is a float32 value, rounded as a float32 runtime would.
type value struct {
	rows, cols int
	x          []float64
	double     bool
}

func (v value) at(i, j int) float64 {
	if v.rows == 1 {
		return v.x[j]
	}
	return v.x[i*v.cols+j]
}

// round rounds every element to float32 unless v is double.
func (v value) round() value {
	if !v.double {
		for i, f := range v.x {
			v.x[i] = float64(float32(f))
		}
	}
	return v
}

// map1 applies f elementwise.
func (v value) map1(f func(float64) float64) value {
	out := value{rows: v.rows, cols: v.cols, x: make([]float64, len(v.x)), double: v.double}
	for i, a := range v.x {
		out.x[i] = f(a)
	}
	return out.round()
}

// tensorValue decodes a float or double initializer of one or two dims.
func tensorValue(t *pb.TensorProto) (value, error) {
	dims := t.GetDims()
	v := value{rows: 1}
	switch len(dims) {
	case 1:
		v.cols = int(dims[0])
	case 2:
		v.rows, v.cols = int(dims[0]), int(dims[1])
	default:
		return v, fmt.Errorf("initializer %s: %d dims", t.GetName(), len(dims))
	}
	n, raw := v.rows*v.cols, t.GetRawData()
	switch pb.TensorProto_DataType(t.GetDataType()) {
	case pb.TensorProto_FLOAT:
		switch {
		case len(raw) == 4*n:
			for i := range n {
				v.x = append(v.x, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))))
			}
		case len(t.GetFloatData()) == n:
			for _, f := range t.GetFloatData() {
				v.x = append(v.x, float64(f))
			}
		}
	case pb.TensorProto_DOUBLE:
		v.double = true
		switch {
		case len(raw) == 8*n:
			for i := range n {
				v.x = append(v.x, math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		case len(t.GetDoubleData()) == n:
			v.x = append(v.x, t.GetDoubleData()...)
		}
	default:
		return v, fmt.Errorf("initializer %s: data type %d", t.GetName(), t.GetDataType())
	}
	if len(v.x) != n {
		return v, fmt.Errorf("initializer %s: %d values for dims %v", t.GetName(), len(v.x), dims)
	}
	return v, nil
}

// attrs returns a node's attributes by name, refusing any not in allowed.
func attrs(n *pb.NodeProto, allowed ...string) (map[string]*pb.AttributeProto, error) {
	m := map[string]*pb.AttributeProto{}
	for _, a := range n.GetAttribute() {
		ok := false
		for _, name := range allowed {
			ok = ok || a.GetName() == name
		}
		if !ok {
			return nil, fmt.Errorf("%s: attribute %s not evaluated here", n.GetOpType(), a.GetName())
		}
		m[a.GetName()] = a
	}
	return m, nil
}

// floatAttrOr returns a float attribute, or def when the node has none
// (the operator's default in the ONNX specification).
func floatAttrOr(m map[string]*pb.AttributeProto, name string, def float64) float64 {
	if a, ok := m[name]; ok {
		return float64(a.GetF())
	}
	return def
}

// runGraph evaluates model on x, the rows×features input (float32 or
// float64 as the graph's input type), and returns its output.
func runGraph(model []byte, x any, rows, features int) ([]float32, error) {
	var mp pb.ModelProto
	if err := proto.Unmarshal(model, &mp); err != nil {
		return nil, err
	}
	g := mp.GetGraph()
	env := map[string]value{}
	for _, t := range g.GetInitializer() {
		v, err := tensorValue(t)
		if err != nil {
			return nil, err
		}
		env[t.GetName()] = v
	}
	in := value{rows: rows, cols: features}
	wantType := pb.TensorProto_FLOAT
	switch x := x.(type) {
	case []float32:
		for _, f := range x {
			in.x = append(in.x, float64(f))
		}
	case []float64:
		in.x, in.double, wantType = x, true, pb.TensorProto_DOUBLE
	}
	if len(in.x) != rows*features || len(g.GetInput()) != 1 ||
		g.GetInput()[0].GetType().GetTensorType().GetElemType() != int32(wantType) {
		return nil, fmt.Errorf("graph input %v for %d×%d %T", g.GetInput(), rows, features, x)
	}
	env[g.GetInput()[0].GetName()] = in

	for _, n := range g.GetNode() {
		args := make([]value, len(n.GetInput()))
		for i, name := range n.GetInput() {
			v, ok := env[name]
			if !ok {
				return nil, fmt.Errorf("%s: input %s not defined before it", n.GetName(), name)
			}
			args[i] = v
		}
		y, err := runNode(n, args)
		if err != nil {
			return nil, err
		}
		if len(n.GetOutput()) != 1 {
			return nil, fmt.Errorf("%s: %d outputs", n.GetName(), len(n.GetOutput()))
		}
		env[n.GetOutput()[0]] = y
	}
	out, ok := env[g.GetOutput()[0].GetName()]
	if !ok || out.double || out.rows != rows {
		return nil, fmt.Errorf("graph output %s: %d rows, double %v", g.GetOutput()[0].GetName(), out.rows, out.double)
	}
	p := make([]float32, len(out.x))
	for i, f := range out.x {
		p[i] = float32(f)
	}
	return p, nil
}

// runNode evaluates one node of the operators Export writes.
func runNode(n *pb.NodeProto, a []value) (value, error) {
	op := n.GetOpType()
	want := map[string]int{"Gemm": 3, "Add": 2, "Sub": 2, "Mul": 2, "Div": 2}[op]
	if want == 0 {
		want = 1
	}
	if len(a) != want {
		return value{}, fmt.Errorf("%s: %d inputs, want %d", op, len(a), want)
	}
	switch op {
	case "Gemm": // Y = A·B + C with the defaults alpha = beta = 1, no transposes
		if _, err := attrs(n); err != nil {
			return value{}, err
		}
		x, w, b := a[0], a[1], a[2]
		if x.cols != w.rows || b.rows != 1 || b.cols != w.cols {
			return value{}, fmt.Errorf("Gemm: %d×%d · %d×%d + %d", x.rows, x.cols, w.rows, w.cols, b.cols)
		}
		y := value{rows: x.rows, cols: w.cols, x: make([]float64, x.rows*w.cols), double: x.double}
		for i := range x.rows { // row i of Y = b + Σ_k X_ik·(row k of W), summed in float64
			yi := y.x[i*y.cols : (i+1)*y.cols]
			copy(yi, b.x)
			for k, xik := range x.x[i*x.cols : (i+1)*x.cols] {
				for j, wkj := range w.x[k*w.cols : (k+1)*w.cols] {
					yi[j] += xik * wkj
				}
			}
		}
		return y.round(), nil
	case "Add", "Sub", "Mul", "Div": // elementwise, the second input broadcast over rows
		if _, err := attrs(n); err != nil {
			return value{}, err
		}
		p, q := a[0], a[1]
		if p.cols != q.cols || q.rows != 1 && q.rows != p.rows || p.double != q.double {
			return value{}, fmt.Errorf("%s: %d×%d and %d×%d", op, p.rows, p.cols, q.rows, q.cols)
		}
		f := map[string]func(x, y float64) float64{
			"Add": func(x, y float64) float64 { return x + y },
			"Sub": func(x, y float64) float64 { return x - y },
			"Mul": func(x, y float64) float64 { return x * y },
			"Div": func(x, y float64) float64 { return x / y },
		}[op]
		y := value{rows: p.rows, cols: p.cols, x: make([]float64, len(p.x)), double: p.double}
		for i := range p.rows {
			for j := range p.cols {
				y.x[i*p.cols+j] = f(p.at(i, j), q.at(i, j))
			}
		}
		return y.round(), nil
	case "Cast":
		m, err := attrs(n, "to")
		if err != nil {
			return value{}, err
		}
		y := value{rows: a[0].rows, cols: a[0].cols, x: append([]float64(nil), a[0].x...)}
		switch pb.TensorProto_DataType(m["to"].GetI()) {
		case pb.TensorProto_FLOAT:
		case pb.TensorProto_DOUBLE:
			y.double = true
		default:
			return value{}, fmt.Errorf("Cast to %d", m["to"].GetI())
		}
		return y.round(), nil
	case "Relu", "Tanh", "Sigmoid":
		if _, err := attrs(n); err != nil {
			return value{}, err
		}
		return a[0].map1(map[string]func(float64) float64{
			"Relu":    func(x float64) float64 { return max(x, 0) },
			"Tanh":    math.Tanh,
			"Sigmoid": func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		}[op]), nil
	case "Elu", "Selu": // Elu: x > 0 ? x : α(eˣ−1); Selu: γ times that
		m, err := attrs(n, "alpha", "gamma")
		if err != nil {
			return value{}, err
		}
		alpha, gamma := floatAttrOr(m, "alpha", 1), 1.0
		if op == "Selu" {
			alpha, gamma = floatAttrOr(m, "alpha", 1.67326319217681884765625), floatAttrOr(m, "gamma", 1.05070102214813232421875)
		} else if _, ok := m["gamma"]; ok {
			return value{}, fmt.Errorf("Elu has no gamma")
		}
		return a[0].map1(func(x float64) float64 {
			if x > 0 {
				return gamma * x
			}
			return gamma * alpha * (math.Exp(x) - 1)
		}), nil
	case "Softmax": // over axis 1, the classes of a row
		m, err := attrs(n, "axis")
		if err != nil {
			return value{}, err
		}
		if ax, ok := m["axis"]; ok && ax.GetI() != 1 && ax.GetI() != -1 {
			return value{}, fmt.Errorf("Softmax over axis %d", ax.GetI())
		}
		v := a[0]
		y := value{rows: v.rows, cols: v.cols, x: make([]float64, len(v.x)), double: v.double}
		for i := range v.rows {
			row, out := v.x[i*v.cols:(i+1)*v.cols], y.x[i*v.cols:(i+1)*v.cols]
			hi, sum := math.Inf(-1), 0.0
			for _, f := range row {
				hi = max(hi, f)
			}
			for j, f := range row {
				out[j] = math.Exp(f - hi)
				sum += out[j]
			}
			for j := range out {
				out[j] /= sum
			}
		}
		return y.round(), nil
	}
	return value{}, fmt.Errorf("operator %s is not evaluated here", op)
}
