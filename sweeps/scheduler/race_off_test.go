//go:build !race

package scheduler

// raceDetector is false without the race detector (see race_on_test.go).
const raceDetector = false
