package kernels

import "fmt"

// checkSgemm validates Sgemm's arguments by the BLAS rules: sizes not
// negative, leading dimensions at least the stored row length (and 1), and
// slices long enough for every element the call touches. bias, when not
// nil, needs n values.
func checkSgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("kernels: Sgemm: negative size m=%d n=%d k=%d", m, n, k)
	}
	// Stored shapes: A is m×k (k×m if transA), B is k×n (n×k if transB).
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	if err := checkMatrix("A", a, aRows, aCols, lda); err != nil {
		return err
	}
	if err := checkMatrix("B", b, bRows, bCols, ldb); err != nil {
		return err
	}
	if err := checkMatrix("C", c, m, n, ldc); err != nil {
		return err
	}
	if bias != nil && len(bias) < n {
		return fmt.Errorf("kernels: Sgemm: len(bias)=%d < n=%d", len(bias), n)
	}
	return nil
}

// checkMatrix checks one row-major rows×cols matrix x with leading
// dimension ld.
func checkMatrix(name string, x []float32, rows, cols, ld int) error {
	if ld < max(1, cols) {
		return fmt.Errorf("kernels: Sgemm: ld%s=%d < max(1, %d)", name, ld, cols)
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		return fmt.Errorf("kernels: Sgemm: len(%s)=%d < %d for a %d×%d matrix with ld=%d",
			name, len(x), (rows-1)*ld+cols, rows, cols, ld)
	}
	return nil
}
