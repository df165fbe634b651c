// Package hugepages allocates the large arrays that hold training rows (the
// data loaders' X and pixels, bench.Synthetic) in 2 MiB pages where the
// operating system offers them: an epoch gathers its batches from rows all
// over a 100+ MB array, and in 4 KiB pages nearly every row it reads costs a
// TLB miss and a page walk. Figures: bench/NOTES.md, "Training rows in 2 MiB
// pages".
package hugepages

import "unsafe"

// MinBytes is the smallest array asked for in huge pages: smaller ones fit
// the reach of the L2 TLB in 4 KiB pages (Zen 4: 3072 entries, 12 MiB), and
// the first and last 2 MiB, which stay in 4 KiB pages, would be most of them.
const MinBytes = 16 << 20

// Floats returns a zeroed []float32 of length and capacity n, as make does.
// When it holds MinBytes or more, the whole 2 MiB pages inside it are
// faulted in as 2 MiB pages on first write where the OS allows it (Linux
// with transparent huge pages "always" or "madvise"); elsewhere, or if the
// OS refuses, it is make's memory as it was. The mark outlives the array:
// once it is collected, the heap memory it lay in still faults in (and
// khugepaged may collapse it into) 2 MiB pages, so Floats is for arrays that
// live as long as their data set, not for scratch buffers.
func Floats(n int) []float32 {
	x := make([]float32, n)
	if n >= MinBytes/4 {
		advise(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*n))
	}
	return x
}

// Bytes is Floats for a []byte of length and capacity n (an image data
// set's pixels).
func Bytes(n int) []byte {
	b := make([]byte, n)
	if n >= MinBytes {
		advise(b)
	}
	return b
}
