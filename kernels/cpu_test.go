package kernels

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCPUMatchesCPUInfo: CPU names the model, family and model numbers
// that /proc/cpuinfo shows (and bench/cpuslug.sh reads).
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
	want := field("model name") + " (family " + field("cpu family") + " model " + field("model") + ")"
	if got := CPU(); got != want {
		t.Errorf("CPU() = %q, /proc/cpuinfo says %q", got, want)
	}
}
