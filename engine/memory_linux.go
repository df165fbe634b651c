package engine

import "syscall"

// physicalMemory is the machine's total RAM in bytes.
func physicalMemory() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 1 << 40
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
