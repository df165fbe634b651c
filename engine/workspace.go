package engine

// workspace holds the row buffers of one pass over up to rows rows, so that
// training steps and evaluation chunks allocate nothing. Index i runs over
// the Dense layers 0 … L−1 (layer l = i+1 of the legend). The inputs are
// never copied: the first layer's products read the batch's rows of the
// data in place (kernels.SgemmBlocks gathers them by index).
type workspace struct {
	rows     int
	training bool        // with gradient buffers, masks and batch norm state
	ready    bool        // buffers sized for rows; plan leaves that to the first use (Model.use)
	t        []float32   // [rows×Out] gathered one-hot targets
	iota     []int       // [rows] 0, 1, …, rows−1 (inference only): the indices that read a contiguous run of rows from pixels, which are read gathered
	y        [][]float32 // [L][rows×d_l] Dense outputs after activation; y[L−1] holds the logits z
	a        [][]float32 // [L−1][rows×H_l] hidden outputs after dropout and skip connection (a[i] is y[i] without either)
	mask     [][]float32 // [L−1][rows×H_l] dropout masks, 0 or 1/(1−rate); empty unless training with dropout
	dy       [][]float32 // [L][rows×d_l] gradient w.r.t. a_l (the logits for l = L), turned in place into the gradient w.r.t. the Dense output; empty for inference
	bn       []bnBatch   // [L−1] batch norm statistics and ẑ of the pass; empty unless training with batch norm
	ownA     [][]float32 // [L−1] a's own buffers, kept for reuse while a[i] aliases y[i]
}

// reset sizes the buffers for rows rows of m's layers, reusing their
// storage when it is large enough (a reset to the same or a smaller shape
// allocates nothing); training adds the gradient buffers, with dropout the
// masks, and with batch norm its batch state. a[i] has its own buffer when
// dropout or a skip connection makes it differ from y[i].
func (ws *workspace) reset(m *Model, rows int, training bool) {
	L := len(m.layers)
	dropout := training && m.cfg.Dropout > 0
	batchNorm := training && m.cfg.BatchNorm
	ws.rows = rows
	ws.t = resize(ws.t, rows*m.out)
	if !training {
		ws.iota = resize(ws.iota, rows)
		for i := range ws.iota {
			ws.iota[i] = i
		}
	}
	ws.y = keep(ws.y, L)
	ws.dy = keep(ws.dy, L)
	ws.a = keep(ws.a, L-1)
	ws.ownA = keep(ws.ownA, L-1)
	ws.mask = keep(ws.mask, L-1)
	ws.bn = keep(ws.bn, L-1)
	for i, d := range m.layers {
		ws.y[i] = resize(ws.y[i], rows*d.out)
		if training {
			ws.dy[i] = resize(ws.dy[i], rows*d.out)
		}
		if !d.hidden {
			continue
		}
		if dropout {
			ws.mask[i] = resize(ws.mask[i], rows*d.out)
		}
		if dropout || d.residual {
			ws.ownA[i] = resize(ws.ownA[i], rows*d.out)
			ws.a[i] = ws.ownA[i]
		} else {
			ws.a[i] = ws.y[i]
		}
		if batchNorm {
			ws.bn[i].reset(rows, d.out)
		}
	}
	if !training {
		ws.dy = ws.dy[:0]
	}
	if !dropout {
		ws.mask = ws.mask[:0]
	}
	if !batchNorm {
		ws.bn = ws.bn[:0]
	}
}

// plan records the pass a workspace is for; its buffers are sized at its
// first use (Model.use), so a model that only predicts never allocates the
// training buffers, nor a loaded model file those of the batch it names.
func (ws *workspace) plan(rows int, training bool) {
	ws.rows, ws.training, ws.ready = rows, training, false
}

// sizeFor plans ws for passes of up to rows rows when it is planned for
// another number: Fit and Evaluate size the buffers by the data's rows when
// they are fewer than B (E), for a batch larger than the data is the data
// in one batch (a batch of 3,000,000 on 2,400 rows had them sized for
// 3,000,000).
func (ws *workspace) sizeFor(rows int) {
	if ws.rows != rows {
		ws.plan(rows, ws.training)
	}
}

// atLeast plans ws for batch rows (B) when it is planned for fewer than
// rows, as after a Fit on fewer rows than B.
func (ws *workspace) atLeast(rows, batch int) {
	if ws.rows < rows {
		ws.plan(batch, ws.training)
	}
}

// use returns ws with its buffers sized for the pass plan recorded,
// sizing them on the first use after plan.
func (m *Model) use(ws *workspace) *workspace {
	if !ws.ready {
		ws.reset(m, ws.rows, ws.training)
		ws.ready = true
	}
	return ws
}

// resize returns s with length n and zeroed elements, reusing s's storage
// when its capacity allows.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// keep returns s with length n, keeping the elements it had (also those
// beyond its length, up to its capacity) for their storage to be reused.
func keep[T any](s []T, n int) []T {
	s = s[:cap(s)]
	for len(s) < n {
		var zero T
		s = append(s, zero)
	}
	return s[:n]
}
