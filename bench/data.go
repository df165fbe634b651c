package bench

import (
	"math/rand/v2"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/hugepages"
)

// MNIST's training-split shape as the Keras workload behind the seed study
// (docs/keras-semantics.md) fits it: 60,000 rows less Keras's 25 %
// validation split, 28×28 pixels, 10 classes.
const (
	MNISTRows     = 45000
	MNISTFeatures = 784
	MNISTClasses  = 10
)

// Synthetic returns rows samples of features pixels, bytes uniform in
// [0, 255] held as MNIST's are (Pixels alone, in 2 MiB pages; X nil), with
// one-hot labels drawn uniformly from classes, from a fixed stream. Speed
// depends only on the shapes, so it stands in for MNIST without the
// download.
func Synthetic(rows, features, classes int) engine.Data {
	r := rand.New(rand.NewPCG(uint64(rows), uint64(features)))
	px := hugepages.Bytes(rows * features) // [rows×features]
	for i := range px {
		px[i] = uint8(r.Uint32())
	}
	y := make([]float32, rows*classes) // [rows×classes] one-hot
	for i := range rows {
		y[i*classes+r.IntN(classes)] = 1
	}
	return engine.Data{Y: y, Pixels: px}
}
