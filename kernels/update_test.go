package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// optimizerCase runs one optimizer step on w, g and its state slots, through
// the exported function (run) and through the Go twin (ref).
type optimizerCase struct {
	name     string
	state    int // state slots after w and g
	run, ref func(w, g []float32, s [][]float32)
}

var optimizerCases = []optimizerCase{
	{"SGD", 0,
		func(w, g []float32, s [][]float32) { SGD(w, g, 0.05) },
		func(w, g []float32, s [][]float32) { sgdGeneric(w, g, 0.05) }},
	{"SGDMomentum", 1,
		func(w, g []float32, s [][]float32) { SGDMomentum(w, g, s[0], 0.05, 0.9, false) },
		func(w, g []float32, s [][]float32) { sgdMomentumGeneric(w, g, s[0], 0.05, 0.9, false) }},
	{"SGDNesterov", 1,
		func(w, g []float32, s [][]float32) { SGDMomentum(w, g, s[0], 0.05, 0.9, true) },
		func(w, g []float32, s [][]float32) { sgdMomentumGeneric(w, g, s[0], 0.05, 0.9, true) }},
	{"Adam", 2,
		func(w, g []float32, s [][]float32) { Adam(w, g, s[0], s[1], 3e-3, 0.9, 0.999, 1e-7) },
		func(w, g []float32, s [][]float32) { adamGeneric(w, g, s[0], s[1], 3e-3, 1-0.9, 1-0.999, 1e-7) }},
	{"RMSprop", 1,
		func(w, g []float32, s [][]float32) { RMSprop(w, g, s[0], 1e-2, 0.9, 1e-7) },
		func(w, g []float32, s [][]float32) { rmspropGeneric(w, g, s[0], 1e-2, 0.9, 1-0.9, 1e-7) }},
	{"Adagrad", 1,
		func(w, g []float32, s [][]float32) { Adagrad(w, g, s[0], 1e-2, 1e-7) },
		func(w, g []float32, s [][]float32) { adagradGeneric(w, g, s[0], 1e-2, 1e-7) }},
	{"Adadelta", 2,
		func(w, g []float32, s [][]float32) { Adadelta(w, g, s[0], s[1], 1, 0.95, 1e-7) },
		func(w, g []float32, s [][]float32) { adadeltaGeneric(w, g, s[0], s[1], 1, 0.95, 1-0.95, 1e-7) }},
}

// TestOptimizers runs three steps of each optimizer from random weights,
// gradients and (non-negative) state. Tolerance: FMA rounding, 2⁻²¹ of the
// size of the values involved: |before| + |after| for w; for a state slot
// also |g| + g², the size of the terms it accumulates.
func TestOptimizers(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, c := range optimizerCases {
			for _, n := range elementwiseSizes {
				t.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(t *testing.T) {
					testOptimizer(t, r, c, n)
				})
			}
		}
	})
}

func testOptimizer(t *testing.T, r *rand.Rand, c optimizerCase, n int) {
	w := randomFloats(n, normal(r, 1))
	want := append([]float32(nil), w...)
	wBuf := guardCopy(w)
	state, wantState := make([][]float32, c.state), make([][]float32, c.state)
	stateBufs := make([]guardedBuffer, c.state)
	for k := range state {
		s := randomFloats(n, between(r, 0, 0.1)) // velocities and squares: non-negative is valid for all
		wantState[k] = append([]float32(nil), s...)
		stateBufs[k] = guardCopy(s)
		state[k] = stateBufs[k].slice()
	}
	for step := 0; step < 3; step++ {
		g := randomFloats(n, normal(r, 0.3))
		gBuf := guardCopy(g)
		before := append([]float32(nil), wBuf.slice()...)
		stateBefore := make([][]float32, len(state))
		for k := range state {
			stateBefore[k] = append([]float32(nil), state[k]...)
		}
		c.run(wBuf.slice(), gBuf.slice(), state)
		c.ref(want, g, wantState)
		gBuf.check(t, "g")
		expectEqual(t, "g (input)", gBuf.slice(), g)
		expectNear(t, "w", wBuf.slice(), want, func(i int) float64 {
			return 0x1p-21 * (math.Abs(float64(before[i])) + math.Abs(float64(want[i])))
		})
		for k := range state {
			expectNear(t, fmt.Sprintf("state %d", k), state[k], wantState[k], func(i int) float64 {
				gi := math.Abs(float64(g[i]))
				return 0x1p-21 * (math.Abs(float64(stateBefore[k][i])) + math.Abs(float64(wantState[k][i])) + gi + gi*gi)
			})
		}
		// Continue both from the same point, so errors do not accumulate.
		copy(want, wBuf.slice())
		for k := range state {
			copy(wantState[k], state[k])
		}
	}
	wBuf.check(t, "w")
	for k := range stateBufs {
		stateBufs[k].check(t, fmt.Sprintf("state %d", k))
	}
}

// TestUpdatesInPieces checks that the optimizer updates and AddL1L2Grad,
// run on consecutive pieces of their slices whose bounds are not multiples
// of the vector width, give the bits of one call on the whole: the masked
// tails compute each element as the vector bodies do. An optimizer step
// may therefore be applied a piece at a time (say, a weight matrix's rows
// as a product finishes them) without changing any result.
func TestUpdatesInPieces(t *testing.T) {
	const n = 1000
	cuts := []int{0, 3, 37, 444, 445, 461, 600, 999, n}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, c := range optimizerCases {
			w := randomFloats(n, normal(r, 1))
			g := randomFloats(n, normal(r, 0.3))
			state := make([][]float32, c.state)
			for k := range state {
				state[k] = randomFloats(n, between(r, 0, 0.1))
			}
			pw := append([]float32(nil), w...)
			pstate := make([][]float32, c.state)
			for k := range state {
				pstate[k] = append([]float32(nil), state[k]...)
			}
			c.run(w, g, state)
			for i := 1; i < len(cuts); i++ {
				lo, hi := cuts[i-1], cuts[i]
				piece := make([][]float32, c.state)
				for k := range pstate {
					piece[k] = pstate[k][lo:hi]
				}
				c.run(pw[lo:hi], g[lo:hi], piece)
			}
			expectEqual(t, c.name+" w in pieces", pw, w)
			for k := range state {
				expectEqual(t, fmt.Sprintf("%s state %d in pieces", c.name, k), pstate[k], state[k])
			}
		}
		x := randomFloats(n, normal(r, 1))
		x[5], x[500] = 0, 0
		g := randomFloats(n, normal(r, 0.3))
		pg := append([]float32(nil), g...)
		AddL1L2Grad(x, g, 1e-3, 1e-2)
		for i := 1; i < len(cuts); i++ {
			lo, hi := cuts[i-1], cuts[i]
			AddL1L2Grad(x[lo:hi], pg[lo:hi], 1e-3, 1e-2)
		}
		expectEqual(t, "AddL1L2Grad in pieces", pg, g)
	})
}
