//go:build race

package scheduler

// raceDetector reports a build with the race detector, which slows the Go
// code several times but not the asm kernels: a run's cost per FLOP then
// depends on how much of it is Go, which timing tests must not hold it to.
const raceDetector = true
