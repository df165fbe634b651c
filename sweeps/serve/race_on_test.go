//go:build race

package serve

// raceSlowdown is how much slower the race detector makes the server's
// code: timing bounds stretch by it.
const raceSlowdown = 10
