package main

import (
	"fmt"
	"strconv"

	"github.com/mlpsweep/mlpsweep/datasets"
)

// Row limits: --limit-rows of train and sweep.

// limitRows returns the first n rows of d (all of them for n 0), refusing
// a cut that leaves fewer than two classes, as loading refuses a one-class
// file. d may hold the n rows already (study.LoadData's cut).
func limitRows(d *datasets.Dataset, n int) (*datasets.Dataset, error) {
	if n == 0 || n > d.N {
		return d, nil
	}
	h := d.Head(n)
	var present []string
	for c, k := range h.ClassCounts() {
		if k > 0 {
			present = append(present, strconv.Quote(d.ClassNames[c]))
		}
	}
	if len(present) < 2 {
		return nil, fmt.Errorf("--limit-rows %d: the first %d rows of %s all have the class %s (of %d classes); need at least 2 classes: "+
			"raise --limit-rows, or shuffle the file's rows", n, n, d.Name, present[0], d.Classes)
	}
	return h, nil
}
