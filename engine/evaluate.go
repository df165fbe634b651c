package engine

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// Evaluate returns the loss and accuracy of the model on d in inference mode
// (no dropout), as Keras's validation pass reports them with batches of B
// rows: mean cross-entropy plus the kernel penalty plus the activity
// penalties, each batch's weighted by its rows. It runs in chunks of E rows
// on preallocated buffers. Invalid data (see CheckData) gives NaN, NaN.
// Evaluate is Group.Evaluate of the model alone.
func (m *Model) Evaluate(d Data) (loss, accuracy float64) {
	g := m.solo
	g.evaluate(g.all, d)
	return g.evalLoss[0], g.evalAccuracy[0]
}

// activityTerms returns Σ over the B-row batches of an evaluation chunk of
// rows rows of (batch rows)·(the batch's activity penalty), the batch-size
// weighting of Keras's loss tracker (E is a multiple of B, so chunks split
// into the same batches as Keras's).
func (m *Model) activityTerms(ws *workspace, rows int) float64 {
	if m.cfg.ActivityL1 == 0 && m.cfg.ActivityL2 == 0 {
		return 0
	}
	var sum float64
	for s := 0; s < rows; s += m.cfg.Batch {
		b := min(m.cfg.Batch, rows-s)
		for i := range ws.a {
			h := m.layers[i].out
			sum += float64(b) * float64(m.activityRegForward(ws.y[i][s*h:(s+b)*h], b))
		}
	}
	return sum
}

// chunkOf returns the e rows of d from position start, for in inputs
// and out classes: their inputs as x [e×In] (idx nil), as pixels [e×In]
// read by the indices iota[:e] (0, 1, …), or as the rows idx of x [N×In],
// read in place, and their targets [e×Out], views of d when d.Rows is nil,
// else gathered into tbuf.
func chunkOf(d Data, in, out, start, e int, tbuf []float32, iota []int) (x input, idx []int, t []float32) {
	if d.Rows == nil {
		t = d.Y[start*out : (start+e)*out]
		if d.X == nil {
			return input{px: d.Pixels[start*in : (start+e)*in]}, iota[:e], t
		}
		return input{x: d.X[start*in : (start+e)*in]}, nil, t
	}
	idx = d.Rows[start : start+e]
	t = tbuf[:e*out]
	gatherRows(d.Y, out, idx, t)
	return d.input(), idx, t
}

// Predict writes the class probabilities softmax(z) [rows×Out] of the inputs
// x [rows×In] into probs, in inference mode. It allocates nothing.
func (m *Model) Predict(x []float32, rows int, probs []float32) error {
	return m.predict("Predict", input{x: x}, len(x), rows, probs)
}

// PredictPixels is Predict of inputs held as pixels px [rows×In] (image
// data, as Data.Pixels): the same bits as Predict of their float32 copy.
func (m *Model) PredictPixels(px []uint8, rows int, probs []float32) error {
	return m.predict("PredictPixels", input{px: px}, len(px), rows, probs)
}

// predict is Predict (what names it in errors) of the inputs x, floats or
// pixels, of which stored values are held.
func (m *Model) predict(what string, x input, stored, rows int, probs []float32) error {
	if rows < 0 || stored < rows*m.in || len(probs) < rows*m.out {
		return fmt.Errorf("engine: %s of %d rows needs %d inputs and %d outputs (have %d and %d)",
			what, rows, rows*m.in, rows*m.out, stored, len(probs))
	}
	m.eval.sizeFor(min(evalChunk(m.cfg.Batch), max(1, rows)))
	ws, last := m.use(&m.eval), len(m.layers)-1
	for start := 0; start < rows; start += ws.rows {
		e := min(ws.rows, rows-start)
		if x.px != nil {
			m.forward(ws, input{px: x.px[start*m.in : (start+e)*m.in]}, ws.iota[:e], e, false)
		} else {
			m.forward(ws, input{x: x.x[start*m.in : (start+e)*m.in]}, nil, e, false)
		}
		p := probs[start*m.out : (start+e)*m.out]
		copy(p, ws.y[last][:e*m.out])
		kernels.Softmax(p, e, m.out)
	}
	return nil
}

// Argmax is the class a row of Predict's probabilities picks: the index of
// the largest value, the first on ties (as accuracy counts it).
func Argmax(probs []float32) int {
	best := 0
	for i, v := range probs {
		if v > probs[best] {
			best = i
		}
	}
	return best
}
