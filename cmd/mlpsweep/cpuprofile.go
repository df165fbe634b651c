package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// startCPUProfile starts a Go CPU profile of this process into path (for
// go tool pprof) and returns the function that stops it and closes the
// file, saying on stderr if the profile could not be written. The sweep's
// results do not depend on it.
func startCPUProfile(path string) (stop func(stderr io.Writer), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	return func(stderr io.Writer) {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "mlpsweep: --cpuprofile %s: %v (the results are stored)\n", path, err)
		}
	}, nil
}
