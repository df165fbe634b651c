//go:build !linux

package scheduler

import "time"

// threadCPU falls back to the wall clock where the thread's CPU time is not
// at hand: calibrate's timings then include the time other processes take.
func threadCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }
