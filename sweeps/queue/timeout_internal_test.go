package queue

import (
	"testing"
	"time"
)

// TestTimeoutOverflow: a timeout past a time.Duration's range is a century,
// not whatever the float conversion gives (it gave --min-timeout, so a
// huge --timeout-factor timed every job out after a minute).
func TestTimeoutOverflow(t *testing.T) {
	w := &groupWorker{opt: Options{TimeoutFactor: 1e6, MinTimeout: time.Minute}, rate: 1e9}
	for flops, want := range map[float64]time.Duration{
		1e6:  1000 * time.Second, // 1 ms expected
		1e3:  time.Minute,        // MinTimeout
		1e15: maxJobTimeout,      // 1e6 × 11.6 days
	} {
		if got := w.timeout(flops); got != want {
			t.Errorf("timeout(%g) at factor 1e6: %v, want %v", flops, got, want)
		}
	}
}
