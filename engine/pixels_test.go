package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
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
// and evaluated on data with pixels ends with the bits it has on the same
// data without them (X alone): histories, validation figures, weights and
// Evaluate. Inputs of 48 (whole 16-column steps of the AVX-512 packers)
// and 20 (a Go tail), batches of 32 (full and partial 12-row panels) and
// of 8, the members of groupConfigs (one diverges).
func TestPixelsSameBits(t *testing.T) {
	const out = 3
	for _, in := range []int{48, 20} {
		data := pixelBlobs(150, in, out, uint64(in))
		for i := 149; i >= 0; i -= 2 {
			data.Rows = append(data.Rows, i) // 75 rows in a scattered order
		}
		val := pixelBlobs(60, in, out, 99)
		val.Rows = []int{59, 0, 17, 5, 22, 8, 31, 40, 41}
		for isa := kernels.Generic; isa <= kernels.DetectedISA(); isa++ {
			t.Run(fmt.Sprintf("in%d/%v", in, isa), func(t *testing.T) {
				defer withISA(t, isa)()
				train := func(pixels bool) ([]*Model, []History, []float64, []float64) {
					d, v := data, val
					if !pixels {
						d.Pixels, v.Pixels = nil, nil
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
					loss, acc := g.Evaluate(v)
					return members, append(h, h2...), loss, acc
				}
				mx, hx, lx, ax := train(false)
				mp, hp, lp, ap := train(true)
				for i := range mx {
					if !sameHistory(hx[i], hp[i]) {
						t.Errorf("member %d: history with pixels differs:\n%+v\n%+v", i, withoutTimes(hp[i]), withoutTimes(hx[i]))
					}
					if !sameBits(mx[i].params, mp[i].params) || !sameBits(mx[i].moving, mp[i].moving) {
						t.Errorf("member %d: weights with pixels differ", i)
					}
				}
				for i := range lx {
					if lx[i] != lp[i] || ax[i] != ap[i] {
						t.Errorf("member %d: Evaluate %v %v with pixels, %v %v without", i, lp[i], ap[i], lx[i], ax[i])
					}
				}
			})
		}
	}
}

// TestPixelsNoAllocations: a warm fused step and Evaluate on pixels
// allocate nothing.
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
	d.Rows = rows
	if a := testing.AllocsPerRun(5, func() { g.Evaluate(d) }); a != 0 {
		t.Errorf("Group.Evaluate on pixels allocates %v times", a)
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
