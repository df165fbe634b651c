package bench

import (
	"slices"
	"time"
)

// medianPerCall times fn: one warm-up call (pages buffers in, fills
// caches), then samples timings of as many back-to-back calls as fill
// minTime each. It returns the median time of one call.
func medianPerCall(fn func(), samples int, minTime time.Duration) time.Duration {
	start := time.Now()
	fn()
	calls := 1
	if first := time.Since(start); first < minTime {
		calls = int(minTime/max(first, time.Nanosecond)) + 1
	}
	perCall := make([]time.Duration, samples)
	for s := range perCall {
		start := time.Now()
		for range calls {
			fn()
		}
		perCall[s] = time.Since(start) / time.Duration(calls)
	}
	return median(perCall)
}

// median returns the middle value of xs (the upper one of the two middle
// values when len(xs) is even); xs is sorted in place.
func median[T int64 | float64 | time.Duration](xs []T) T {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
