package engine

import (
	"encoding/json"
	"math"
	"slices"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// Diagnostics are the gradient and activation statistics of one training
// pass over a batch (see Diagnose): how much gradient reaches each layer
// and what its units do.
type Diagnostics struct {
	Loss     float64           `json:"loss"`      // the batch loss, as TrainBatch reports it (without dropout)
	GradNorm []float64         `json:"grad_norm"` // [L] ‖∂L/∂W_l‖_F, the Frobenius norm of each Dense kernel's gradient, input to output
	Hidden   []ActivationStats `json:"hidden"`    // [L−1] each hidden layer's activation output y_l = act(…)
}

// MarshalJSON writes non-finite numbers as null (see JSONFloat).
func (d Diagnostics) MarshalJSON() ([]byte, error) {
	type plain Diagnostics
	v := struct {
		plain
		Loss     JSONFloat   `json:"loss"`
		GradNorm []JSONFloat `json:"grad_norm"`
	}{plain: plain(d), Loss: JSONFloat(d.Loss), GradNorm: make([]JSONFloat, len(d.GradNorm))}
	for i, g := range d.GradNorm {
		v.GradNorm[i] = JSONFloat(g)
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads null as NaN.
func (d *Diagnostics) UnmarshalJSON(b []byte) error {
	type plain Diagnostics
	var v struct {
		plain
		Loss     JSONFloat   `json:"loss"`
		GradNorm []JSONFloat `json:"grad_norm"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Diagnostics(v.plain)
	d.Loss, d.GradNorm = float64(v.Loss), make([]float64, len(v.GradNorm))
	for i, g := range v.GradNorm {
		d.GradNorm[i] = float64(g)
	}
	return nil
}

// ActivationStats summarize a hidden layer's activation output y = act(u)
// [rows×H] on a batch. A unit is inactive on a row when act'(u) < 1e-3
// (inactiveSlope): a relu output of 0, a sigmoid or tanh saturated
// (|u| ≳ 6.9 and 3.8); little or no gradient passes it there.
type ActivationStats struct {
	Mean     float64 `json:"mean"`     // of the rows × units outputs
	Std      float64 `json:"std"`      // of the rows × units outputs (population std)
	Inactive float64 `json:"inactive"` // fraction of the rows × units outputs that are inactive
	Dead     float64 `json:"dead"`     // fraction of the units inactive on every row of the batch (dead relu units)
}

// activationJSON is ActivationStats with non-finite numbers as null.
type activationJSON struct {
	Mean     JSONFloat `json:"mean"`
	Std      JSONFloat `json:"std"`
	Inactive JSONFloat `json:"inactive"`
	Dead     JSONFloat `json:"dead"`
}

// MarshalJSON writes non-finite numbers as null (see JSONFloat).
func (a ActivationStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(activationJSON{JSONFloat(a.Mean), JSONFloat(a.Std), JSONFloat(a.Inactive), JSONFloat(a.Dead)})
}

// UnmarshalJSON reads null as NaN.
func (a *ActivationStats) UnmarshalJSON(b []byte) error {
	var v activationJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = ActivationStats{float64(v.Mean), float64(v.Std), float64(v.Inactive), float64(v.Dead)}
	return nil
}

// inactiveSlope is the activation derivative below which an output counts
// as inactive.
const inactiveSlope = 1e-3

// Clone returns a copy of d that does not share its slices.
func (d Diagnostics) Clone() Diagnostics {
	d.GradNorm, d.Hidden = slices.Clone(d.GradNorm), slices.Clone(d.Hidden)
	return d
}

// Diagnose runs the forward and backward pass of TrainBatch(d, rows, t)
// (rows, 1 … B indices of rows of d's inputs, read in place; targets
// t [len(rows)×Out]) without dropout and without updating anything:
// weights, optimizer state, batch norm's moving statistics and the random
// streams are untouched, so diagnosing between steps leaves training
// bit-identical. Batch norm normalizes with the batch's statistics, as in
// training. The result's slices are the model's, overwritten by the next
// Diagnose (Clone keeps a copy); once the model exists, Diagnose allocates
// nothing. Its cost is one training step's forward and backward pass.
func (m *Model) Diagnose(d Data, rows []int, t []float32) (Diagnostics, error) {
	if err := m.checkBatch("Diagnose", d, rows, t); err != nil {
		return Diagnostics{}, err
	}
	b := len(rows)
	m.train.atLeast(b, m.cfg.Batch)
	ws := m.use(&m.train)
	for _, mask := range ws.mask {
		for i := range mask {
			mask[i] = 1
		}
	}
	loss, _ := m.lossAndGrad(d.input(), rows, t, b)
	diag := m.diag
	diag.Loss = float64(loss)
	for l := range m.layers {
		var sum float64
		for _, g := range m.layers[l].dw {
			sum += float64(g) * float64(g)
		}
		diag.GradNorm[l] = math.Sqrt(sum)
	}
	for i := range diag.Hidden {
		h := m.layers[i].out
		// ws.dy[i] is free after the backward pass: it receives act'(u).
		diag.Hidden[i] = activationStats(m.layers[i].act, ws.y[i][:b*h], ws.dy[i][:b*h], h)
	}
	return diag, nil
}

// activationStats summarizes y = act(u) [rows×h], using slope [rows×h] as
// scratch for act'(u).
func activationStats(act kernels.Activation, y, slope []float32, h int) ActivationStats {
	for i := range slope {
		slope[i] = 1
	}
	kernels.ActBackward(act, y, slope, slope) // slope = 1·act'(u), written through y
	var sum, sumSq float64
	inactive := 0
	for i, v := range y {
		sum += float64(v)
		sumSq += float64(v) * float64(v)
		if slope[i] < inactiveSlope {
			inactive++
		}
	}
	dead := 0
	for j := 0; j < h; j++ {
		alive := false
		for r := j; r < len(slope); r += h {
			if slope[r] >= inactiveSlope {
				alive = true
				break
			}
		}
		if !alive {
			dead++
		}
	}
	n := float64(len(y))
	mean := sum / n
	return ActivationStats{
		Mean: mean, Std: math.Sqrt(max(0, sumSq/n-mean*mean)),
		Inactive: float64(inactive) / n, Dead: float64(dead) / float64(h),
	}
}

// SetDiagnosticBatch makes Fit diagnose the batch of Diagnose(d, rows, t)
// after every epoch and attach the result to EpochStats.Diagnostics; nil
// rows turn it off. The batch's rows are copied as d holds them (pixels,
// or X without pixels), into buffers the model keeps, and so are the
// targets: d may change afterwards. Calling Diagnose on the same batch
// before Fit gives the figures at initialization.
func (m *Model) SetDiagnosticBatch(d Data, rows []int, t []float32) error {
	if len(rows) == 0 {
		m.diagRows = m.diagRows[:0]
		return nil
	}
	if err := m.checkBatch("SetDiagnosticBatch", d, rows, t); err != nil {
		return err
	}
	in := m.in
	m.diagX, m.diagPx, m.diagRows = m.diagX[:0], m.diagPx[:0], m.diagRows[:0]
	for i, r := range rows {
		if d.Pixels != nil {
			m.diagPx = append(m.diagPx, d.Pixels[r*in:(r+1)*in]...)
		} else {
			m.diagX = append(m.diagX, d.X[r*in:(r+1)*in]...)
		}
		m.diagRows = append(m.diagRows, i)
	}
	m.diagT = append(m.diagT[:0], t[:len(rows)*m.out]...)
	return nil
}

// diagnostic is the diagnostic batch's inputs (SetDiagnosticBatch), read
// by the rows m.diagRows.
func (m *Model) diagnostic() Data {
	if len(m.diagPx) > 0 {
		return Data{Pixels: m.diagPx}
	}
	return Data{X: m.diagX}
}

// diagnoseEpoch returns a copy of Diagnose on the diagnostic batch, or nil
// when there is none.
func (m *Model) diagnoseEpoch() *Diagnostics {
	if len(m.diagRows) == 0 {
		return nil
	}
	d, err := m.Diagnose(m.diagnostic(), m.diagRows, m.diagT)
	if err != nil {
		panic("engine: the diagnostic batch was checked by SetDiagnosticBatch: " + err.Error())
	}
	c := d.Clone()
	return &c
}
