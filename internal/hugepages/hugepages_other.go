//go:build !linux

package hugepages

// advise does nothing where transparent huge pages are not asked for
// through madvise: the array stays as make returned it.
func advise([]byte) {}
