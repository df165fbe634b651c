package scheduler

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time the calling OS thread has used (the caller
// locks its goroutine to the thread): time spent waiting for the core while
// other processes run does not count, which makes calibrate's timings hold
// on a loaded machine. It reads CLOCK_THREAD_CPUTIME_ID, which brings the
// running thread's time up to date; getrusage(RUSAGE_THREAD) does not, and
// lags by up to a scheduler tick (4 ms): a fused step of 0.5 ms often
// measured 0 with it.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
