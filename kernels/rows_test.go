package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var testRows = []int{0, 1, 5, 33}

// TestAddBias: every path adds in the loop's order, so results are exact;
// a trailing partial row is left alone.
func TestAddBias(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, n := range elementwiseSizes {
			for _, rows := range testRows {
				x := randomFloats(rows*n+n/2, normal(r, 1))
				bias := randomFloats(n, normal(r, 1))
				want := append([]float32(nil), x...)
				addBiasGeneric(want, bias, rows)
				xBuf, biasBuf := guardCopy(x), guardCopy(bias)
				AddBias(xBuf.slice(), biasBuf.slice())
				xBuf.check(t, "x")
				biasBuf.check(t, "bias")
				expectEqual(t, fmt.Sprintf("n=%d rows=%d: x", n, rows), xBuf.slice(), want)
			}
		}
	})
}

func TestSumRows(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range elementwiseSizes {
			for _, rows := range testRows {
				dy := randomFloats(rows*n+n/2, normal(r, 1))
				db := randomFloats(n, normal(r, 1))
				want := append([]float32(nil), db...)
				sumRowsGeneric(dy, want, rows)
				dyBuf, dbBuf := guardCopy(dy), guardCopy(db)
				SumRows(dyBuf.slice(), dbBuf.slice())
				dyBuf.check(t, "dy")
				dbBuf.check(t, "db")
				expectEqual(t, fmt.Sprintf("n=%d rows=%d: db", n, rows), dbBuf.slice(), want)
			}
		}
	})
}

// softmaxInputs returns rows×n logits and targets: one-hot rows, a
// soft-target row, a row of ties, and a row spread wide enough that most
// exponentials underflow.
func softmaxInputs(r *rand.Rand, rows, n int) (z, y []float32) {
	z = randomFloats(rows*n, normal(r, 3))
	y = make([]float32, rows*n)
	if n == 0 {
		return z, y
	}
	for row := 0; row < rows; row++ {
		zr, yr := z[row*n:row*n+n], y[row*n:row*n+n]
		switch row % 4 {
		case 1: // soft targets summing to 1
			var s float32
			for j := range yr {
				yr[j] = r.Float32()
				s += yr[j]
			}
			for j := range yr {
				yr[j] /= s
			}
		case 2: // ties in z and y: the first maximum counts
			for j := range zr {
				zr[j] = 1.5
			}
			yr[n-1-r.IntN(n)] = 1
		case 3:
			for j := range zr {
				zr[j] *= 40
			}
			yr[r.IntN(n)] = 1
		default:
			yr[r.IntN(n)] = 1
		}
	}
	return z, y
}

// Softmax tolerances: probabilities within 2⁻²¹ relative (exp 1 ulp, the
// reciprocal of the sum and a product); dz within 2⁻²¹·scale·(p + y), the
// size of its terms (plus 2⁻¹⁴⁰ for subnormal results); the loss within 2⁻²⁰ of Σ_rows (1 + |max z|) (the
// target-weighted logits are summed in float32).
func TestSoftmaxXent(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, n := range elementwiseSizes {
			for _, rows := range []int{1, 7} {
				for _, mode := range []string{"dz+probs", "dz", "probs", "loss", "dz=z"} {
					t.Run(fmt.Sprintf("n=%d/rows=%d/%s", n, rows, mode), func(t *testing.T) {
						testSoftmaxXent(t, r, rows, n, mode)
					})
				}
			}
		}
	})
}

func testSoftmaxXent(t *testing.T, r *rand.Rand, rows, n int, mode string) {
	z, y := softmaxInputs(r, rows, n)
	const scale = 1.0 / 7
	wantDz, wantProbs := make([]float32, len(z)), make([]float32, len(z))
	var wantLoss float32
	var wantCorrect int
	if n > 0 {
		wantLoss, wantCorrect = softmaxXentGeneric(z, y, rows, n, scale, wantDz, wantProbs)
	}

	zBuf, yBuf := guardCopy(z), guardCopy(y)
	dzBuf, probsBuf := guardCopy(make([]float32, len(z))), guardCopy(make([]float32, len(z)))
	var dz, probs []float32
	switch mode {
	case "dz+probs":
		dz, probs = dzBuf.slice(), probsBuf.slice()
	case "dz":
		dz = dzBuf.slice()
	case "probs":
		probs = probsBuf.slice()
	case "dz=z":
		dz = zBuf.slice()
	}
	loss, correct := SoftmaxXent(zBuf.slice(), yBuf.slice(), rows, n, scale, dz, probs)
	for _, b := range []guardedBuffer{zBuf, yBuf, dzBuf, probsBuf} {
		b.check(t, "buffer")
	}
	expectEqual(t, "y (input)", yBuf.slice(), y)
	if mode != "dz=z" {
		expectEqual(t, "z (input)", zBuf.slice(), z)
	}

	if correct != wantCorrect {
		t.Errorf("correct = %d, want %d", correct, wantCorrect)
	}
	lossBound := 0.0
	for row := 0; row < rows; row++ {
		m := 0.0
		for _, v := range z[row*n : row*n+n] {
			m = max(m, math.Abs(float64(v)))
		}
		lossBound += 0x1p-20 * (1 + m)
	}
	if d := math.Abs(float64(loss - wantLoss)); d > lossBound {
		t.Errorf("loss = %v, want %v (difference %.3g, bound %.3g)", loss, wantLoss, d, lossBound)
	}
	if dz != nil {
		expectNear(t, "dz", dz, wantDz, func(i int) float64 {
			return 0x1p-21*scale*(float64(wantProbs[i])+math.Abs(float64(y[i]))) + 0x1p-140
		})
	}
	if probs != nil {
		expectNear(t, "probs", probs, wantProbs, func(i int) float64 { return 0x1p-21*float64(wantProbs[i]) + 0x1p-140 })
	}
	untouched := make([]float32, len(z))
	if dz == nil {
		expectEqual(t, "dz (nil)", dzBuf.slice(), untouched)
	}
	if probs == nil {
		expectEqual(t, "probs (nil)", probsBuf.slice(), untouched)
	}
}

// TestSoftmax: Softmax gives SoftmaxXent's Generic probs bit for bit, each
// row within 2⁻²¹ relative of a float64 softmax and summing to 1, and leaves
// guard bands alone (the reference takes the same float32 differences
// z − max z, then works in float64).
func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range elementwiseSizes {
		for _, rows := range []int{0, 1, 7} {
			t.Run(fmt.Sprintf("n=%d/rows=%d", n, rows), func(t *testing.T) {
				z, y := softmaxInputs(r, rows, n)
				want := make([]float32, len(z))
				if n > 0 && rows > 0 {
					softmaxXentGeneric(z, y, rows, n, 1, nil, want)
				}
				buf := guardCopy(z)
				Softmax(buf.slice(), rows, n)
				buf.check(t, "z")
				got := buf.slice()
				expectEqual(t, "softmax", got, want)
				for row := 0; row < rows && n > 0; row++ {
					zr := z[row*n : row*n+n]
					zmax := zr[0]
					for _, v := range zr {
						zmax = max(zmax, v)
					}
					var s float64 // the differences z − max z are float32, as documented
					for _, v := range zr {
						s += math.Exp(float64(v - zmax))
					}
					var total float64
					for j, v := range zr {
						p := math.Exp(float64(v-zmax)) / s
						if d := math.Abs(float64(got[row*n+j]) - p); d > 0x1p-21*p+0x1p-140 {
							t.Errorf("row %d col %d: %v, want %v", row, j, got[row*n+j], p)
						}
						total += float64(got[row*n+j])
					}
					if math.Abs(total-1) > 0x1p-20 {
						t.Errorf("row %d sums to %v", row, total)
					}
				}
			})
		}
	}
}

// TestSoftmaxXentNaN: a NaN logit makes the row's loss NaN on every path,
// which is how the engine detects divergence.
func TestSoftmaxXentNaN(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, n := range []int{3, 10, 17} {
			for j := 0; j < n; j++ {
				z, y := make([]float32, n), make([]float32, n)
				y[0] = 1
				z[j] = float32(math.NaN())
				if loss, _ := SoftmaxXent(z, y, 1, n, 1, nil, nil); !math.IsNaN(float64(loss)) {
					t.Fatalf("n=%d, NaN at %d: loss %v, want NaN", n, j, loss)
				}
			}
		}
	})
}
