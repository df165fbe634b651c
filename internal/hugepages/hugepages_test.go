package hugepages

import "testing"

// Floats is make: zeroed, of length and capacity n, and holding what is
// written to it, below, at and above the size that asks for huge pages.
func TestFloatsIsMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, MinBytes/4 - 1, MinBytes / 4, MinBytes/4 + 524288 + 12345} {
		x := Floats(n)
		if len(x) != n || cap(x) != n {
			t.Fatalf("Floats(%d): len %d cap %d", n, len(x), cap(x))
		}
		for i, v := range x {
			if v != 0 {
				t.Fatalf("Floats(%d)[%d] = %g, want 0", n, i, v)
			}
		}
		for i := range x {
			x[i] = float32(i)
		}
		for i, v := range x {
			if v != float32(i) {
				t.Fatalf("Floats(%d)[%d] = %g after writing %g", n, i, v, float32(i))
			}
		}
	}
}

// The reused case: a large array freed and collected, its memory faulted in
// and dirty, is given out zeroed again.
func TestFloatsReusedMemoryZeroed(t *testing.T) {
	const n = 2 * MinBytes / 4
	for round := range 3 {
		x := Floats(n)
		for i, v := range x {
			if v != 0 {
				t.Fatalf("round %d: Floats(%d)[%d] = %g, want 0", round, n, i, v)
			}
		}
		for i := range x {
			x[i] = 1
		}
		x = nil
		_ = x
	}
}
