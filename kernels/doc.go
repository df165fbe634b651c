// Package kernels holds every piece of numeric work the engine does: a
// BLAS-shaped single-precision GEMM and the elementwise kernels of MLP
// training (activations, softmax cross-entropy, bias gradients, optimizer
// updates, regularizer terms, dropout).
//
// All matrices are row-major float32. A matrix X with leading dimension ldx
// holds element (i, j) at X[i*ldx+j].
//
// Work that may use several threads or needs scratch memory goes through a
// *Context, which owns its packing workspaces and thread count, so a training
// step allocates nothing once warm. Contexts are not safe for concurrent use;
// give each goroutine its own.
package kernels
