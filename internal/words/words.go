// Package words writes counts and lists in messages: "1 epoch" beside
// "3 epochs", and lists of numbers cut short, so that a network of
// 100,000 hidden layers makes a line, not 400 KB.
package words

import (
	"strconv"
	"strings"
)

// Count is n and noun, plural (noun+"s") unless n is 1: "1 epoch",
// "3 epochs", "0 units". Every noun it is given makes its plural with s.
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// MaxListed is how many numbers Ints writes before "… N more".
const MaxListed = 8

// Ints writes xs joined by sep ("128, 64"; "128-64"), at most MaxListed
// of them: the first MaxListed−1, "…", the last, and how many were left
// out ("1, 1, 1, 1, 1, 1, 1, …, 2 (99,992 more)").
func Ints(xs []int, sep string) string {
	var b strings.Builder
	shown := xs
	if len(xs) > MaxListed {
		shown = xs[:MaxListed-1]
	}
	for i, x := range shown {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strconv.Itoa(x))
	}
	if len(xs) > MaxListed {
		left := len(xs) - MaxListed
		b.WriteString(sep + "…" + sep + strconv.Itoa(xs[len(xs)-1]) + " (" + thousands(left) + " more)")
	}
	return b.String()
}

// thousands writes n ≥ 0 with commas: 99992 is "99,992".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
