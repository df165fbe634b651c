package kernels

// sgemmRef is the plain triple loop that defines Sgemm, kept as the
// reference every fast path is compared with.
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum float32
			for p := 0; p < k; p++ {
				var aip, bpj float32
				if transA {
					aip = a[p*lda+i]
				} else {
					aip = a[i*lda+p]
				}
				if transB {
					bpj = b[j*ldb+p]
				} else {
					bpj = b[p*ldb+j]
				}
				sum += aip * bpj
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * sum
			} else {
				c[i*ldc+j] = alpha*sum + beta*c[i*ldc+j]
			}
		}
	}
}
