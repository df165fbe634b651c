package hugepages

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// pageBytes is the size of an x86-64 and arm64 transparent huge page.
const pageBytes = 2 << 20

// advise marks the whole 2 MiB pages of b MADV_HUGEPAGE and drops them
// (MADV_DONTNEED): make may already have faulted some in as 4 KiB pages when
// it reused heap memory, and they read as zeros again once dropped (b is
// private anonymous memory, as all of Go's heap), so the values do not
// change and the next write to each faults in one 2 MiB page. Errors leave
// b as make returned it: a kernel without THP says EINVAL.
func advise(b []byte) {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := int((pageBytes - start%pageBytes) % pageBytes)
	if len(b)-lo < pageBytes {
		return
	}
	whole := b[lo : lo+(len(b)-lo)/pageBytes*pageBytes]
	if unix.Madvise(whole, unix.MADV_HUGEPAGE) != nil {
		return
	}
	_ = unix.Madvise(whole, unix.MADV_DONTNEED)
}
