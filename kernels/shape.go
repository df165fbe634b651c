package kernels

import "fmt"

// GEMMShape is one sgemm problem: op(A) is M×K, op(B) is K×N, C is M×N.
// Benchmarks (kernels' BenchmarkSgemm, package bench) and `mlpsweep tune`
// name their products by it.
type GEMMShape struct {
	M, N, K        int
	TransA, TransB bool
}

// String names the shape "m128n128k784", with the transposes when set
// ("m784n128k128TN").
func (s GEMMShape) String() string {
	name := fmt.Sprintf("m%dn%dk%d", s.M, s.N, s.K)
	if s.TransA || s.TransB {
		name += transLetter(s.TransA) + transLetter(s.TransB)
	}
	return name
}

func transLetter(t bool) string {
	if t {
		return "T"
	}
	return "N"
}

// FLOPs is the multiply-add count of the product times two.
func (s GEMMShape) FLOPs() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// Leading returns the leading dimensions of row-major A, B and C stored
// without padding for the shape.
func (s GEMMShape) Leading() (lda, ldb, ldc int) {
	lda, ldb = s.K, s.N
	if s.TransA {
		lda = s.M
	}
	if s.TransB {
		ldb = s.K
	}
	return lda, ldb, s.N
}
