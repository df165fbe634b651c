package kernels

import (
	"runtime"
	"sync"
	"unsafe"
)

// Context carries what a caller's GEMMs need between calls: the backend,
// the number of threads they may use, the helper goroutines, and the
// scratch memory (packing buffers) they reuse. A Context is used by one
// goroutine at a time.
type Context struct {
	backend   GEMMBackend
	threads   int
	ws        workspace     // the calling goroutine's packing buffers
	call      gemm          // the running call, shared with the helpers
	gather    []float32     // SgemmBlocks' gathered rows of A (OpenBLAS backend)
	blocks    blocksGemm    // the running SgemmBlocks call, shared with the helpers
	blockList []ColumnBlock // its blocks
	pool      *pool         // threads−1 helpers, started by the first parallel call
	cleanup   runtime.Cleanup
}

// NewContext returns a Context on DefaultBackend whose GEMMs use up to
// threads goroutines (values below 1 mean 1).
func NewContext(threads int) *Context {
	c := &Context{backend: DefaultBackend()}
	c.SetThreads(threads)
	return c
}

// SetThreads sets how many goroutines this Context's GEMMs may use
// (values below 1 mean 1). The sweep scheduler sets 1 per work unit.
func (c *Context) SetThreads(threads int) {
	threads = max(threads, 1)
	if threads != c.threads && c.pool != nil {
		c.cleanup.Stop()
		c.pool.stop()
		c.pool = nil
	}
	c.threads = threads
}

// Threads reports the thread count set on c.
func (c *Context) Threads() int { return c.threads }

// workers returns c's helper pool, starting it on first use. The helpers
// exit when c is garbage collected or its thread count changes.
func (c *Context) workers() *pool {
	if c.pool == nil {
		c.pool = newPool(c.threads - 1)
		c.cleanup = runtime.AddCleanup(c, (*pool).stop, c.pool)
	}
	return c.pool
}

// workspace holds one thread's packing buffers, kept for the Context's
// lifetime: they only grow, so a warm Context allocates nothing per call.
type workspace struct {
	a     []float32     // packed A block, MC×KC in MR-row micro-panels
	b     []float32     // packed B block, KC×NC in NR-column micro-panels
	stage []float32     // one partial micro-panel's rows, max(MR, NR)×KC, zero-padded (see pack)
	tile  *[512]float32 // a narrow kernel's tile of C, 32 rows × 16 columns (see runNarrow)
}

// reserve makes the buffers at least na, nb and nstage floats long.
func (ws *workspace) reserve(na, nb, nstage int) {
	for _, r := range []struct {
		buf *[]float32
		n   int
	}{{&ws.a, na}, {&ws.b, nb}, {&ws.stage, nstage}} {
		if len(*r.buf) < r.n {
			*r.buf = alignedFloats(r.n)
		}
	}
}

// alignedFloats returns n zeroed floats starting on a 64-byte (cache line,
// ZMM) boundary.
func alignedFloats(n int) []float32 {
	buf := make([]float32, n+15)
	skip := (64 - int(uintptr(unsafe.Pointer(&buf[0]))%64)) % 64 / 4
	return buf[skip : skip+n : skip+n]
}

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
