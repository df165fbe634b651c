package words

import (
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 epochs", 1: "1 epoch", 2: "2 epochs", 10: "10 epochs"} {
		if got := Count(n, "epoch"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestInts(t *testing.T) {
	huge := make([]int, 100_000)
	for i := range huge {
		huge[i] = 1
	}
	huge[len(huge)-1] = 2
	for _, tc := range []struct {
		xs   []int
		sep  string
		want string
	}{
		{nil, ", ", ""},
		{[]int{128}, ", ", "128"},
		{[]int{128, 64}, "-", "128-64"},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8}, " ", "1 2 3 4 5 6 7 8"},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9}, ", ", "1, 2, 3, 4, 5, 6, 7, …, 9 (1 more)"},
		{huge, ", ", "1, 1, 1, 1, 1, 1, 1, …, 2 (99,992 more)"},
	} {
		if got := Ints(tc.xs, tc.sep); got != tc.want {
			t.Errorf("Ints(%d numbers, %q) = %q, want %q", len(tc.xs), tc.sep, got, tc.want)
		}
	}
	if got := Ints(huge, ","); len(got) > 100 || !strings.HasSuffix(got, "more)") {
		t.Errorf("Ints of 100,000 numbers: %d bytes", len(got))
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 99992: "99,992", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
