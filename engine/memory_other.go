//go:build !linux

package engine

// physicalMemory is a ceiling where the machine's RAM is not looked up.
func physicalMemory() uint64 { return 1 << 40 }
