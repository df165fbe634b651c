package engine

// workspace holds the row buffers of one pass over up to rows rows, so that
// training steps and evaluation chunks allocate nothing. Index i runs over
// the Dense layers 0 … L−1 (layer l = i+1 of the legend).
type workspace struct {
	rows int
	x    []float32   // [rows×In] gathered inputs
	t    []float32   // [rows×Out] gathered one-hot targets
	y    [][]float32 // [L][rows×d_l] Dense outputs after activation; y[L−1] holds the logits z
	a    [][]float32 // [L−1][rows×H_l] hidden outputs after dropout and skip connection (a[i] is y[i] without either)
	mask [][]float32 // [L−1][rows×H_l] dropout masks, 0 or 1/(1−rate); nil unless training with dropout
	dy   [][]float32 // [L][rows×d_l] gradient w.r.t. a_l (the logits for l = L), turned in place into the gradient w.r.t. the Dense output; nil for inference
	bn   []bnBatch   // [L−1] batch norm statistics and ẑ of the pass; nil unless training with batch norm
}

// newWorkspace allocates the buffers for rows rows; training adds the
// gradient buffers, with dropout the masks, and with batch norm its batch
// state. a[i] has its own buffer when dropout or a skip connection makes
// it differ from y[i].
func newWorkspace(m *Model, rows int, training bool) workspace {
	ws := workspace{rows: rows, x: make([]float32, rows*m.in), t: make([]float32, rows*m.out)}
	dropout := training && m.cfg.Dropout > 0
	for i, d := range m.layers {
		ws.y = append(ws.y, make([]float32, rows*d.out))
		if training {
			ws.dy = append(ws.dy, make([]float32, rows*d.out))
		}
		if !d.hidden {
			continue
		}
		if dropout {
			ws.mask = append(ws.mask, make([]float32, rows*d.out))
		}
		if dropout || d.residual {
			ws.a = append(ws.a, make([]float32, rows*d.out))
		} else {
			ws.a = append(ws.a, ws.y[i])
		}
		if training && d.bn != nil {
			ws.bn = append(ws.bn, newBNBatch(rows, d.out))
		}
	}
	return ws
}

// input returns the input of layer i for a pass over rows rows on x [rows×In]:
// x itself for the first layer, else the previous hidden output after dropout.
func (ws *workspace) input(i int, x []float32, rows, width int) []float32 {
	if i == 0 {
		return x[:rows*width]
	}
	return ws.a[i-1][:rows*width]
}
