package datasets

import (
	"math/rand/v2"

	"github.com/mlpsweep/mlpsweep/internal/hugepages"
)

// Blobs is a synthetic data set for tests and examples, in the manner of
// scikit-learn's make_blobs: n rows in features dimensions drawn around
// classes Gaussian centers (standard normal), each row's class uniform and
// its offset from the center normal with σ 0.8. The same arguments give
// the same rows.
func Blobs(n, features, classes int) *Dataset {
	rng := rand.New(rand.NewPCG(1, 2))
	centers := make([]float64, classes*features)
	for i := range centers {
		centers[i] = rng.NormFloat64()
	}
	d := &Dataset{Name: "blobs", N: n, Features: features, Classes: classes,
		X: hugepages.Floats(n * features), Y: make([]float32, n*classes), Labels: make([]int, n)}
	for i := range n {
		c := rng.IntN(classes)
		d.Labels[i] = c
		d.Y[i*classes+c] = 1
		for j := range features {
			d.X[i*features+j] = float32(centers[c*features+j] + 0.8*rng.NormFloat64())
		}
	}
	return d
}
