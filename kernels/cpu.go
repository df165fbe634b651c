package kernels

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// CPU describes this machine's processor for people and reports: its model
// name with the family and model numbers, which tell CPUs apart where VMs
// show a generic name ("AMD EPYC (family 25 model 17)"). These are the
// fields bench/cpuslug.sh reads from /proc/cpuinfo to name benchmark
// baselines; cpuid reads them on any OS.
func CPU() string { return cpuDescription }

var cpuDescription = describeCPU()

func describeCPU() string {
	name := strings.TrimSpace(cpuid.CPU.BrandName)
	if name == "" {
		name = runtime.GOARCH
	}
	if cpuid.CPU.Family == 0 && cpuid.CPU.Model == 0 {
		return name // not an x86 CPU, or cpuid could not tell
	}
	return fmt.Sprintf("%s (family %d model %d)", name, cpuid.CPU.Family, cpuid.CPU.Model)
}
