package hugepages

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// A written array from Floats sits in 2 MiB pages: the process's
// AnonHugePages (/proc/self/smaps_rollup) grows by nearly all of its whole
// 2 MiB pages. Skipped where the kernel has no transparent huge pages or
// they are off, and where it had no free 2 MiB page to give (a machine
// state, which /proc/vmstat's thp_fault_fallback shows).
func TestFloatsInHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		t.Skipf("this kernel offers no transparent huge pages: %v", err)
	}
	if strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are off on this machine (/sys/kernel/mm/transparent_hugepage/enabled: %s)", strings.TrimSpace(string(mode)))
	}
	runtime.GC()
	debug.FreeOSMemory() // nothing freed earlier gives memory back while we count
	before := readKB(t, "/proc/self/smaps_rollup", "AnonHugePages")
	fallbacks := readKB(t, "/proc/vmstat", "thp_fault_fallback")

	const n = 64 << 20 / 4 // 64 MiB
	x := Floats(n)
	for i := range x {
		x[i] = 1
	}
	grew := readKB(t, "/proc/self/smaps_rollup", "AnonHugePages") - before
	runtime.KeepAlive(x)

	start := uintptr(unsafe.Pointer(unsafe.SliceData(x)))
	lo := (pageBytes - start%pageBytes) % pageBytes
	whole := (4*n - int(lo)) / pageBytes * pageBytes >> 10 // KiB
	t.Logf("AnonHugePages +%d KiB for %d KiB of whole 2 MiB pages (THP %s)", grew, whole, strings.TrimSpace(string(mode)))
	if grew >= whole*3/4 {
		return
	}
	if fb := readKB(t, "/proc/vmstat", "thp_fault_fallback"); fb > fallbacks {
		t.Skipf("the kernel had no free 2 MiB pages to give (thp_fault_fallback %d → %d): AnonHugePages +%d KiB of %d", fallbacks, fb, grew, whole)
	}
	t.Errorf("AnonHugePages grew by %d KiB, want at least %d of the array's %d KiB of whole 2 MiB pages", grew, whole*3/4, whole)
}

// readKB returns the number after key (as "key: 123 kB" or "key 123") in a
// /proc file.
func readKB(t *testing.T, path, key string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("cannot read %s to count huge pages: %v", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && strings.TrimSuffix(fields[0], ":") == key {
			v, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatalf("%s: %s: %v", path, key, err)
			}
			return v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Skipf("%s has no %s line (kernel too old to count it)", path, key)
	return 0
}
