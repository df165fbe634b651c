// Package spell guesses which known name a misspelt one meant: a command
// or flag of the CLI, a key of a study file. It is the one "did you mean"
// of mlpsweep's messages.
package spell

// Closest returns the one candidate nearest to name, at most two letters
// added, dropped or changed away; "" when none is, or two are as near.
func Closest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		switch d := editDistance(name, c); {
		case d < bestDist:
			best, bestDist = c, d
		case d == bestDist:
			best = "" // two as near: no guess
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes: flag
// and key names are ASCII). A dozen lines, so no library for it.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1) // prev[j]: distance of a[:i-1] and b[:j]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev = cur
	}
	return prev[len(b)]
}
