package datasets

import (
	"slices"
	"testing"
)

// Reference values from numpy (see docs/keras-semantics.md).

func TestRandomSample(t *testing.T) {
	if got := NewRandomState(42).RandomSample(); got != 0.3745401188473625 {
		t.Fatalf("RandomState(42).random_sample() = %.17g, want 0.3745401188473625", got)
	}
}

func TestMT19937Reference(t *testing.T) {
	// init_genrand(5489) is the reference generator of Matsumoto &
	// Nishimura; its 10000th output is 4123659995 (C++ std::mt19937 check).
	rs := NewRandomState(5489)
	var v uint32
	for range 10000 {
		v = rs.Uint32()
	}
	if v != 4123659995 {
		t.Fatalf("10000th output = %d, want 4123659995", v)
	}
}

func TestPermutation10(t *testing.T) {
	if got, want := NewRandomState(42).Permutation(10), []int{8, 1, 5, 0, 7, 2, 9, 4, 3, 6}; !slices.Equal(got, want) {
		t.Fatalf("permutation(10) = %v, want %v", got, want)
	}
}

func TestPermutation60000(t *testing.T) {
	p := NewRandomState(42).Permutation(60000)
	head := []int{12628, 37730, 39991, 8525, 8279, 51012, 14871, 15127, 9366, 33322}
	tail := []int{54343, 38158, 860, 15795, 56422}
	if !slices.Equal(p[:10], head) || !slices.Equal(p[len(p)-5:], tail) {
		t.Fatalf("permutation(60000) = %v … %v, want %v … %v", p[:10], p[len(p)-5:], head, tail)
	}
	sorted := slices.Clone(p)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != i {
			t.Fatalf("not a permutation: sorted[%d] = %d", i, v)
		}
	}
}

func TestRandomIntervalBounds(t *testing.T) {
	rs := NewRandomState(1)
	for _, max := range []uint64{1, 2, 3, 7, 8, 1000, 1<<32 - 1, 1 << 32, 1<<40 + 3} {
		for range 200 {
			if v := rs.randomInterval(max); v > max {
				t.Fatalf("randomInterval(%d) = %d", max, v)
			}
		}
	}
	if v := rs.randomInterval(0); v != 0 {
		t.Fatalf("randomInterval(0) = %d", v)
	}
}
