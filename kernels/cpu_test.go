package kernels

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// TestCPUMatchesCPUInfo: CPU names the CPUID brand string with the family
// and model numbers that /proc/cpuinfo shows (and bench/cpuslug.sh reads).
// Only the numbers are compared with /proc/cpuinfo: its "model name" is
// the kernel's, which need not be the CPUID brand on a virtual machine
// (an "Oxide Virtual Turin-like Processor" shows as "AMD EPYC" there).
func TestCPUMatchesCPUInfo(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || !strings.Contains(string(info), "cpu family") {
		t.Skip("no x86 /proc/cpuinfo here")
	}
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `\s*: (.*)$`).FindStringSubmatch(string(info))
		if m == nil {
			t.Fatalf("no %q in /proc/cpuinfo", name)
		}
		return strings.TrimSpace(m[1])
	}
	numbers := " (family " + field("cpu family") + " model " + field("model") + ")"
	brand := strings.TrimSpace(cpuid.CPU.BrandName)
	if brand == "" {
		t.Skip("CPUID has no brand string here")
	}
	if got := CPU(); got != brand+numbers {
		t.Errorf("CPU() = %q, want the CPUID brand %q with /proc/cpuinfo's numbers%s", got, brand, numbers)
	}
}
