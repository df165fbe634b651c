// Package allocs bounds the heap a test input may allocate: the fuzz
// targets of the parsers of untrusted files (study files, model files)
// fail an input that makes them allocate more than a limit, as a hostile
// file would. It imports only the standard library, so any test may use it.
package allocs

import (
	"runtime/metrics"
	"testing"
)

// Bound returns a func that fails t if more than limit bytes were
// allocated on the heap between the call to Bound and its own; use it as
// defer allocs.Bound(t, limit)(). It reads runtime/metrics, which stops
// nothing, so it is cheap enough for every fuzz input. Other goroutines'
// allocations count too: call it where little else runs.
func Bound(t testing.TB, limit uint64) func() {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	before := sample[0].Value.Uint64()
	return func() {
		metrics.Read(sample)
		if got := sample[0].Value.Uint64() - before; got > limit {
			t.Fatalf("allocated %d MB for one input (limit %d MB)", got>>20, limit>>20)
		}
	}
}
