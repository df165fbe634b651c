package kernels

import "sync"

// Context carries what a caller's GEMMs need between calls: the number of
// threads they may use and the scratch memory (packing buffers) they reuse.
// A Context is used by one goroutine at a time.
type Context struct {
	threads int
	ws      workspace
}

// NewContext returns a Context whose GEMMs use up to threads goroutines
// (values below 1 mean 1).
func NewContext(threads int) *Context {
	c := &Context{}
	c.SetThreads(threads)
	return c
}

// SetThreads sets how many goroutines this Context's GEMMs may use
// (values below 1 mean 1). The sweep scheduler sets 1 per work unit.
func (c *Context) SetThreads(threads int) {
	if threads < 1 {
		threads = 1
	}
	c.threads = threads
}

// Threads reports the thread count set on c.
func (c *Context) Threads() int { return c.threads }

// contexts serves the package-level Sgemm, which has no Context argument.
var contexts = sync.Pool{New: func() any { return NewContext(1) }}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, with
// op(X) = Xᵀ when transX is set; op(A) is m×k, op(B) is k×n, C is m×n.
// It is the BLAS sgemm contract (beta = 0 means C is only written, never
// read, so NaNs in C do not propagate). It runs single-threaded on a pooled
// Context; use Context.Sgemm to control threads and reuse.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ctx := contexts.Get().(*Context)
	ctx.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	contexts.Put(ctx)
}
