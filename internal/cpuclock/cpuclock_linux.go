// Package cpuclock reads the CPU time of the calling OS thread, so that
// timings taken on a machine shared with other processes count only the
// time the thread ran (the caller locks its goroutine to its thread).
package cpuclock

import (
	"time"

	"golang.org/x/sys/unix"
)

// Thread returns the CPU time the calling OS thread has used, read from
// CLOCK_THREAD_CPUTIME_ID (up to date to the call; getrusage's
// RUSAGE_THREAD lags by up to a scheduler tick), or the wall clock if that
// fails. Only differences of two readings on one thread mean anything.
func Thread() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}

// Process returns the CPU time all threads of the process have used, read
// from CLOCK_PROCESS_CPUTIME_ID, or the wall clock if that fails: what a
// test holds an estimate of a run's time to where other processes on the
// machine would move the run's wall time. Only differences mean anything.
func Process() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
