package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
)

// deadWorkerLines name, a line per worker, the units of p on workers whose
// database session has ended, and what happens to them.
func deadWorkerLines(p queue.Progress) []string {
	var lines []string
	for _, w := range slices.Sorted(maps.Keys(p.DeadWorkers)) {
		units := p.DeadWorkers[w]
		lines = append(lines, fmt.Sprintf("worker %s is gone (its database session ended) with %s: %s; a live worker or sweep --wait hands them back to the queue within about %v, to train again",
			w, words.Count(len(units), "unit"), strings.Join(units, ", "), 3*queue.DefaultLivenessEvery))
	}
	return lines
}
