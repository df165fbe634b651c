package kernels

import (
	"math/rand/v2"
	"testing"
)

// Sizes of the 784-128-10 MNIST MLP at batch 128.
const (
	benchBatch  = 128
	benchHidden = 128
	benchParams = 784*128 + 128 + 128*10 + 10 // 101,770
)

// elementwiseBench is one kernel call on n elements touching bytes bytes.
type elementwiseBench struct {
	name  string
	n     int
	bytes int
	run   func()
}

// BenchmarkElementwise/<kernel>/<isa> times each exported kernel on every
// path at the MLP's sizes; it reports GB/s (bytes read + written) and
// ns/elem.
//
//	go test -run - -bench Elementwise ./kernels
func BenchmarkElementwise(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	buf := func(n int) []float32 { return randomFloats(n, normal(r, 1)) }
	positive := func(n int) []float32 { return randomFloats(n, between(r, 0.01, 0.1)) }
	act := benchBatch * benchHidden
	x, y, dy, dx, bias := buf(act), buf(act), buf(act), buf(act), buf(benchHidden)
	mask := randomFloats(act, func() float32 { return float32(r.IntN(2)) * 2 })
	classes := 10
	z, onehot, dz := buf(benchBatch*classes), make([]float32, benchBatch*classes), buf(benchBatch*classes)
	for row := 0; row < benchBatch; row++ {
		onehot[row*classes+r.IntN(classes)] = 1
	}
	wide := 100
	zWide, onehotWide, dzWide := buf(benchBatch*wide), make([]float32, benchBatch*wide), buf(benchBatch*wide)
	for row := 0; row < benchBatch; row++ {
		onehotWide[row*wide+r.IntN(wide)] = 1
	}
	w, g, s1, s2 := buf(benchParams), buf(benchParams), positive(benchParams), positive(benchParams)
	weights := buf(784 * 128)

	var benches []elementwiseBench
	for _, a := range []struct {
		name string
		act  Activation
	}{{"relu", ReLU}, {"tanh", Tanh}, {"sigmoid", Sigmoid}, {"elu", ELU}, {"selu", SELU}} {
		benches = append(benches,
			elementwiseBench{a.name, act, 8 * act, func() { ActForward(a.act, x) }},
			elementwiseBench{a.name + "Backward", act, 12 * act, func() { ActBackward(a.act, y, dy, dx) }})
	}
	benches = append(benches,
		elementwiseBench{"addBias", act, 8 * act, func() { AddBias(x, bias) }},
		elementwiseBench{"sumRows128", act, 4 * act, func() { SumRows(dy, bias) }},
		elementwiseBench{"sumRows10", benchBatch * classes, 4 * benchBatch * classes, func() { SumRows(dz, bias[:classes]) }},
		elementwiseBench{"softmaxXent10", benchBatch * classes, 12 * benchBatch * classes, func() {
			SoftmaxXent(z, onehot, benchBatch, classes, 1.0/benchBatch, dz, nil)
		}},
		elementwiseBench{"softmaxXent100", benchBatch * wide, 12 * benchBatch * wide, func() {
			SoftmaxXent(zWide, onehotWide, benchBatch, wide, 1.0/benchBatch, dzWide, nil)
		}},
		elementwiseBench{"sgd", benchParams, 12 * benchParams, func() { SGD(w, g, 1e-9) }},
		elementwiseBench{"sgdMomentum", benchParams, 20 * benchParams, func() { SGDMomentum(w, g, s1, 1e-9, 0.9, false) }},
		elementwiseBench{"sgdNesterov", benchParams, 20 * benchParams, func() { SGDMomentum(w, g, s1, 1e-9, 0.9, true) }},
		elementwiseBench{"adam", benchParams, 28 * benchParams, func() { Adam(w, g, s1, s2, 1e-9, 0.9, 0.999, 1e-7) }},
		elementwiseBench{"rmsprop", benchParams, 20 * benchParams, func() { RMSprop(w, g, s1, 1e-9, 0.9, 1e-7) }},
		elementwiseBench{"adagrad", benchParams, 20 * benchParams, func() { Adagrad(w, g, s1, 1e-9, 1e-7) }},
		elementwiseBench{"adadelta", benchParams, 28 * benchParams, func() { Adadelta(w, g, s1, s2, 1e-9, 0.95, 1e-7) }},
		elementwiseBench{"l1l2Penalty", len(weights), 4 * len(weights), func() { L1L2Penalty(weights, 1e-4, 1e-4) }},
		elementwiseBench{"addL1L2Grad", len(weights), 12 * len(weights), func() { AddL1L2Grad(weights, g, 1e-4, 1e-4) }},
		elementwiseBench{"dropout", act, 12 * act, func() { Mul(x, mask) }},
	)

	for _, bench := range benches {
		b.Run(bench.name, func(b *testing.B) {
			for _, isa := range []ISA{Generic, AVX2, AVX512} {
				b.Run(isa.String(), func(b *testing.B) {
					prev := ActiveISA()
					if err := SetISA(isa); err != nil {
						b.Skip(err)
					}
					defer SetISA(prev)
					b.SetBytes(int64(bench.bytes))
					for b.Loop() {
						bench.run()
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bench.n), "ns/elem")
				})
			}
		})
	}
}
