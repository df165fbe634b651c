package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// pixelBlobs is blobs whose inputs are pixels: bytes b (brighter where the
// class's centre is) with X = b/255, and Pixels set.
func pixelBlobs(n, in, out int, seed uint64) Data {
	r := rand.New(rand.NewPCG(seed, 3))
	d := Data{X: make([]float32, n*in), Y: make([]float32, n*out), Pixels: make([]uint8, n*in)}
	for i := range n {
		c := r.IntN(out)
		d.Y[i*out+c] = 1
		for j := range in {
			v := r.IntN(160)
			if j%out == c {
				v += 95
			}
			d.Pixels[i*in+j] = uint8(v)
			d.X[i*in+j] = float32(v) / kernels.PixelMax
		}
	}
	return d
}

// TestPixelsSameBits checks, on every ISA path, that a fused group trained
// and evaluated on data with pixels, beside X or alone (X nil, as image
// data sets hold them), ends with the bits it has on the same data without
// them (X alone): histories, validation figures, weights, Evaluate on
// gathered rows and on all rows in order, Predict, and a TrainBatch.
// Inputs of 48 (whole 16-column steps of the AVX-512 packers) and 20 (a Go
// tail), batches of 32 (full and partial 12-row panels) and of 8, the
// members of groupConfigs (one diverges).
func TestPixelsSameBits(t *testing.T) {
	const out = 3
	for _, in := range []int{48, 20} {
		data := pixelBlobs(150, in, out, uint64(in))
		for i := 149; i >= 0; i -= 2 {
			data.Rows = append(data.Rows, i) // 75 rows in a scattered order
		}
		val := pixelBlobs(2100, in, out, 99) // all of it: three chunks of Evaluate and Predict
		val.Rows = []int{59, 0, 17, 5, 2099, 8, 31, 1500, 41}
		for isa := kernels.Generic; isa <= kernels.DetectedISA(); isa++ {
			t.Run(fmt.Sprintf("in%d/%v", in, isa), func(t *testing.T) {
				defer withISA(t, isa)()
				type result struct {
					members      []*Model
					hists        []History
					loss, acc    []float64 // Evaluate of val's rows
					lossA, accA  []float64 // Evaluate of all val's rows in order
					probs        []float32 // the first member's Predict of all val's rows
					batchLoss    []float32 // a TrainBatch of the first group after Fit
					batchCorrect []int
				}
				const (
					floats = iota // X alone
					both          // X and Pixels
					pixels        // Pixels alone
				)
				train := func(held int) result {
					d, v := data, val
					switch held {
					case floats:
						d.Pixels, v.Pixels = nil, nil
					case pixels:
						d.X, v.X = nil, nil
					}
					cfgs := groupConfigs()
					members := make([]*Model, len(cfgs))
					for i, cfg := range cfgs {
						if i < 4 { // the first group: batch 32
							cfg.Batch = 32
						}
						members[i] = mustNew(t, cfg, in, out)
					}
					g, err := NewGroup(members[:4], 42)
					if err != nil {
						t.Fatal(err)
					}
					h, err := g.Fit(context.Background(), d, &v, nil)
					if err != nil {
						t.Fatal(err)
					}
					g2, err := NewGroup(members[4:], 42)
					if err != nil {
						t.Fatal(err)
					}
					h2, err := g2.Fit(context.Background(), d, &v, nil)
					if err != nil {
						t.Fatal(err)
					}
					r := result{members: members, hists: append(h, h2...)}
					r.loss, r.acc = g.Evaluate(v)
					r.loss, r.acc = slices.Clone(r.loss), slices.Clone(r.acc)
					all := v
					all.Rows = nil
					r.lossA, r.accA = g.Evaluate(all)
					r.lossA, r.accA = slices.Clone(r.lossA), slices.Clone(r.accA)
					r.probs = make([]float32, 2100*out)
					if held == pixels {
						err = members[0].PredictPixels(v.Pixels, 2100, r.probs)
					} else {
						err = members[0].Predict(v.X, 2100, r.probs)
					}
					if err != nil {
						t.Fatal(err)
					}
					tgt := make([]float32, 5*out)
					gatherRows(d.Y, out, data.Rows[:5], tgt)
					l, c, err := g.TrainBatch(d, data.Rows[:5], tgt)
					if err != nil {
						t.Fatal(err)
					}
					r.batchLoss, r.batchCorrect = slices.Clone(l), slices.Clone(c)
					return r
				}
				x := train(floats)
				for _, held := range []int{both, pixels} {
					p := train(held)
					for i := range x.members {
						if !sameHistory(x.hists[i], p.hists[i]) {
							t.Errorf("held %d, member %d: history differs:\n%+v\n%+v", held, i, withoutTimes(p.hists[i]), withoutTimes(x.hists[i]))
						}
						if !sameBits(x.members[i].params, p.members[i].params) || !sameBits(x.members[i].moving, p.members[i].moving) {
							t.Errorf("held %d, member %d: weights differ", held, i)
						}
					}
					for i := range x.loss {
						if x.loss[i] != p.loss[i] || x.acc[i] != p.acc[i] || x.lossA[i] != p.lossA[i] || x.accA[i] != p.accA[i] {
							t.Errorf("held %d, member %d: Evaluate %v %v, of all rows %v %v; with X alone %v %v, %v %v",
								held, i, p.loss[i], p.acc[i], p.lossA[i], p.accA[i], x.loss[i], x.acc[i], x.lossA[i], x.accA[i])
						}
					}
					if !sameBits(x.probs, p.probs) {
						t.Errorf("held %d: Predict differs", held)
					}
					if !sameBits(x.batchLoss, p.batchLoss) || !slices.Equal(x.batchCorrect, p.batchCorrect) {
						t.Errorf("held %d: TrainBatch %v %v, with X alone %v %v", held, p.batchLoss, p.batchCorrect, x.batchLoss, x.batchCorrect)
					}
				}
			})
		}
	}
}

// TestPixelsNoAllocations: a warm fused step, Evaluate, a model's
// TrainBatch and Diagnose on pixels allocate nothing, nor does setting a
// diagnostic batch where one was.
func TestPixelsNoAllocations(t *testing.T) {
	cfgs := groupConfigs()[:5]
	members := make([]*Model, len(cfgs))
	for i, cfg := range cfgs {
		members[i] = mustNew(t, cfg, 32, 4)
	}
	g, err := NewGroup(members, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := pixelBlobs(40, 32, 4, 7)
	rows := []int{31, 2, 17, 9, 0, 39, 22, 5}
	tgt := make([]float32, len(rows)*4)
	gatherRows(d.Y, 4, rows, tgt)
	if a := testing.AllocsPerRun(10, func() { g.step(g.all, d.input(), rows, tgt, len(rows)) }); a != 0 {
		t.Errorf("a step on pixels allocates %v times", a)
	}
	d.X = nil // pixels alone, as image data holds them
	if a := testing.AllocsPerRun(10, func() { g.TrainBatch(d, rows, tgt) }); a != 0 {
		t.Errorf("Group.TrainBatch on pixels allocates %v times", a)
	}
	m := members[1] // batch norm
	if a := testing.AllocsPerRun(10, func() { m.TrainBatch(d, rows, tgt) }); a != 0 {
		t.Errorf("TrainBatch on pixels allocates %v times", a)
	}
	if a := testing.AllocsPerRun(10, func() { m.Diagnose(d, rows, tgt) }); a != 0 {
		t.Errorf("Diagnose on pixels allocates %v times", a)
	}
	if err := m.SetDiagnosticBatch(d, rows, tgt); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(5, func() { m.SetDiagnosticBatch(d, rows[:5], tgt) }); a != 0 {
		t.Errorf("SetDiagnosticBatch into the buffers of an earlier one allocates %v times", a)
	}
	if a := testing.AllocsPerRun(5, func() { g.Evaluate(d) }); a != 0 {
		t.Errorf("Group.Evaluate of all rows of pixels allocates %v times", a)
	}
	d.Rows = rows
	if a := testing.AllocsPerRun(5, func() { g.Evaluate(d) }); a != 0 {
		t.Errorf("Group.Evaluate on pixels allocates %v times", a)
	}
	probs := make([]float32, 40*4)
	if a := testing.AllocsPerRun(5, func() { members[0].PredictPixels(d.Pixels, 40, probs) }); a != 0 {
		t.Errorf("PredictPixels allocates %v times", a)
	}
}

// TestPixelsChecked: pixels that are not X as bytes are refused.
func TestPixelsChecked(t *testing.T) {
	d := pixelBlobs(30, 6, 3, 5)
	m := mustNew(t, Config{Hidden: []int{4}, Batch: 8, Epochs: 1}, 6, 3)
	if err := m.CheckData(d); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		bad  func(d *Data)
		want string
	}{
		{"short", func(d *Data) { d.Pixels = d.Pixels[:len(d.Pixels)-1] }, "Pixels has 179 values, X 180"},
		{"last row", func(d *Data) { d.Pixels[179]++ }, "Pixels[179]"},
		{"middle row", func(d *Data) { d.Pixels[15*6+2] ^= 1 }, "Pixels[92]"},
	} {
		bad := d
		bad.Pixels = append([]uint8(nil), d.Pixels...)
		c.bad(&bad)
		if err := m.CheckData(bad); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: CheckData = %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

// TestPixelsAlone: data held as pixels alone (X nil) sizes and heads as
// its float32 copy does, and is checked as X is.
func TestPixelsAlone(t *testing.T) {
	d := pixelBlobs(30, 6, 3, 5)
	p := d
	p.X = nil
	m := mustNew(t, Config{Hidden: []int{4}, Batch: 8, Epochs: 1}, 6, 3)
	if err := m.CheckData(p); err != nil {
		t.Fatal(err)
	}
	if h, g := p.Head(7, 6), d.Head(7, 6); !slices.Equal(h.Rows, g.Rows) || len(h.Rows) != 7 {
		t.Fatalf("Head: rows %v, want %v", h.Rows, g.Rows)
	}
	tp := make([]float32, 2*3)
	bad := p
	bad.Pixels = bad.Pixels[:len(bad.Pixels)-1]
	if err := m.CheckData(bad); err == nil || !strings.Contains(err.Error(), "data Pixels has 179 values") {
		t.Errorf("ragged pixels: CheckData = %v", err)
	}
	if err := m.PredictPixels(p.Pixels, 31, make([]float32, 31*3)); err == nil || !strings.Contains(err.Error(), "PredictPixels of 31 rows") {
		t.Errorf("PredictPixels past the pixels: %v", err)
	}
	g, err := NewGroup([]*Model{m}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.TrainBatch(p, []int{0, 30}, tp); err == nil || !strings.Contains(err.Error(), "outside the data (30 rows") {
		t.Errorf("TrainBatch past the pixels: %v", err)
	}
}

// TestBatchPixelsSameBits checks, on every ISA path, that a model's
// TrainBatch, Diagnose and SetDiagnosticBatch (Fit's per-epoch
// diagnostics) give the same bits on a batch read from pixels (X nil, as
// image data holds them) as on the batch's float32 copy, read both ways:
// as Data{X} by rows 0 … b−1, and in place without row indices, the way
// the float32 TrainBatch and Diagnose this package had read the copy that
// the depth study gathered. Scattered rows, inputs of 48 and 20, batches
// of 32 and 13 (full and partial panels), the members of groupConfigs at
// batch 32 (one diverges), three steps each with a Diagnose before it.
func TestBatchPixelsSameBits(t *testing.T) {
	const out, n = 3, 150
	for _, in := range []int{48, 20} {
		data := pixelBlobs(n, in, out, uint64(in)+7)
		px := data
		px.X = nil
		for isa := kernels.Generic; isa <= kernels.DetectedISA(); isa++ {
			t.Run(fmt.Sprintf("in%d/%v", in, isa), func(t *testing.T) {
				defer withISA(t, isa)()
				for i, cfg := range groupConfigs() {
					cfg.Batch = 32
					for _, b := range []int{32, 13} {
						rows := make([]int, b) // scattered, one repeated
						for k := range rows {
							rows[k] = (k*37 + 5) % n
						}
						rows[b-1] = rows[0]
						x, tgt := make([]float32, b*in), make([]float32, b*out) // the float32 copy, gathered
						gatherRows(data.X, in, rows, x)
						data.Targets(rows, tgt, out)
						copyX, copyRows := Data{X: x}, rowRange(0, b)
						fromPx, fromCopy, inPlace := mustNew(t, cfg, in, out), mustNew(t, cfg, in, out), mustNew(t, cfg, in, out)
						for step := range 3 {
							dp, err := fromPx.Diagnose(px, rows, tgt)
							if err != nil {
								t.Fatal(err)
							}
							dp = dp.Clone()
							dc, err := fromCopy.Diagnose(copyX, copyRows, tgt)
							if err != nil {
								t.Fatal(err)
							}
							lossInPlace := floatDiagnosePass(inPlace, x, tgt, b)
							if !sameDiagnostics(dp, dc) || math.Float64bits(dp.Loss) != math.Float64bits(float64(lossInPlace)) ||
								!sameBits(fromPx.grads, fromCopy.grads) || !sameBits(fromPx.grads, inPlace.grads) {
								t.Errorf("member %d, batch %d, step %d: Diagnose from pixels %+v, from the copy %+v, in place loss %v",
									i, b, step, dp, dc, lossInPlace)
							}
							lp, cp, err := fromPx.TrainBatch(px, rows, tgt)
							if err != nil {
								t.Fatal(err)
							}
							lc, cc, err := fromCopy.TrainBatch(copyX, copyRows, tgt)
							if err != nil {
								t.Fatal(err)
							}
							g := inPlace.solo
							g.step(g.all, input{x: x}, nil, tgt, b)
							li, ci := g.loss[0], g.correct[0]
							if math.Float32bits(lp) != math.Float32bits(lc) || math.Float32bits(lp) != math.Float32bits(li) || cp != cc || cp != ci ||
								!sameBits(fromPx.params, fromCopy.params) || !sameBits(fromPx.params, inPlace.params) ||
								!sameBits(fromPx.moving, fromCopy.moving) || !sameBits(fromPx.moving, inPlace.moving) {
								t.Errorf("member %d, batch %d, step %d: TrainBatch from pixels %v (%d correct), from the copy %v (%d), in place %v (%d), or the weights differ",
									i, b, step, lp, cp, lc, cc, li, ci)
							}
						}

						// Fit's diagnostics on the batch set from pixels and from the copy.
						var hists [2]History
						for k, set := range []func(m *Model) error{
							func(m *Model) error { return m.SetDiagnosticBatch(px, rows, tgt) },
							func(m *Model) error { return m.SetDiagnosticBatch(copyX, copyRows, tgt) },
						} {
							m := mustNew(t, cfg, in, out)
							if err := set(m); err != nil {
								t.Fatal(err)
							}
							train := px
							train.Rows = rowRange(0, 70)
							h, err := m.Fit(context.Background(), train, nil, nil)
							if err != nil {
								t.Fatal(err)
							}
							hists[k] = h
						}
						if !sameHistory(hists[0], hists[1]) || len(hists[0].Epochs) == 0 {
							t.Fatalf("member %d, batch %d: Fit differs with the diagnostic batch set from pixels", i, b)
						}
						for e := range hists[0].Epochs {
							p, c := hists[0].Epochs[e].Diagnostics, hists[1].Epochs[e].Diagnostics
							if p == nil || c == nil || !sameDiagnostics(*p, *c) {
								t.Errorf("member %d, batch %d, epoch %d: diagnostics from pixels %+v, from the copy %+v", i, b, e+1, p, c)
							}
						}
					}
				}
			})
		}
	}
}

// floatDiagnosePass is Diagnose's pass as the float32 Diagnose ran it: no
// dropout (masks of 1), the batch x [rows×In] read in place without row
// indices. It returns the loss and leaves the gradient in m.grads.
func floatDiagnosePass(m *Model, x, t []float32, rows int) float32 {
	m.train.atLeast(rows, m.cfg.Batch)
	for _, mask := range m.use(&m.train).mask {
		for i := range mask {
			mask[i] = 1
		}
	}
	loss, _ := m.lossAndGrad(input{x: x}, nil, t, rows)
	return loss
}

// sameDiagnostics reports whether a and b hold the same bits.
func sameDiagnostics(a, b Diagnostics) bool {
	same := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	return same(a.Loss, b.Loss) &&
		slices.EqualFunc(a.GradNorm, b.GradNorm, same) &&
		slices.EqualFunc(a.Hidden, b.Hidden, func(x, y ActivationStats) bool {
			return same(x.Mean, y.Mean) && same(x.Std, y.Std) && same(x.Inactive, y.Inactive) && same(x.Dead, y.Dead)
		})
}
