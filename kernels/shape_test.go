package kernels

import "testing"

// TestGEMMShapeString: the names BenchmarkSgemm and package bench give products.
func TestGEMMShapeString(t *testing.T) {
	for s, want := range map[GEMMShape]string{
		{M: 128, N: 128, K: 784}:               "m128n128k784",
		{M: 784, N: 128, K: 128, TransA: true}: "m784n128k128TN",
		{M: 128, N: 784, K: 128, TransB: true}: "m128n784k128NT",
	} {
		if got := s.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", s, got, want)
		}
	}
	if got := (GEMMShape{M: 2, N: 3, K: 4}).FLOPs(); got != 48 {
		t.Errorf("FLOPs of m2n3k4 = %v, want 48", got)
	}
}
