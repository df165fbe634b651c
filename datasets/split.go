package datasets

import (
	"fmt"
	"math"
)

// Fold is one cross-validation split of row indices 0..n−1. Both lists are
// in ascending order, as scikit-learn returns them.
type Fold struct {
	Train, Test []int
}

// KFold reproduces scikit-learn's
// KFold(n_splits=k, shuffle=True, random_state=seed).split(range(n)) exactly:
// the rows 0..n−1 are shuffled by numpy's legacy RandomState(seed).shuffle,
// the first n%k folds take n/k+1 consecutive shuffled rows and the others
// n/k, and each fold's test rows are its slice, train rows the rest.
func KFold(n, k int, seed uint32) ([]Fold, error) {
	if k < 2 {
		return nil, fmt.Errorf("k-fold: need at least 2 folds, got k=%d", k)
	}
	if k > n {
		return nil, fmt.Errorf("k-fold: cannot have k=%d folds with only n=%d rows: use at most %d folds, or more rows", k, n, n)
	}
	order := NewRandomState(seed).Permutation(n)
	testFold := make([]int, n) // [n] fold whose test set holds the row
	start := 0
	for f := 0; f < k; f++ {
		size := FoldSize(n, k, f)
		for _, row := range order[start : start+size] {
			testFold[row] = f
		}
		start += size
	}
	folds := make([]Fold, k)
	for f := range folds {
		size := FoldSize(n, k, f)
		folds[f] = Fold{Train: make([]int, 0, n-size), Test: make([]int, 0, size)}
	}
	// Walking rows in order leaves every list ascending.
	for row, owner := range testFold {
		for f := range folds {
			if f == owner {
				folds[f].Test = append(folds[f].Test, row)
			} else {
				folds[f].Train = append(folds[f].Train, row)
			}
		}
	}
	return folds, nil
}

// FoldSize is the test rows of fold f of KFold(n, k, ·), scikit-learn's
// fold size: the first n%k folds get one extra row (the others train).
func FoldSize(n, k, f int) int {
	if f < n%k {
		return n/k + 1
	}
	return n / k
}

// ValidationSplit reproduces Keras fit(validation_split=fraction): with
// split = ⌊n·(1−fraction)⌋, rows [0, split) train and the LAST rows
// [split, n) validate, unshuffled. Like Keras it fails when either side
// would be empty.
func ValidationSplit(n int, fraction float64) (train, val []int, err error) {
	if !(fraction > 0 && fraction < 1) {
		return nil, nil, fmt.Errorf("validation split: fraction must be in (0, 1), got %v", fraction)
	}
	split := int(math.Floor(float64(n) * (1.0 - fraction)))
	switch {
	case n < 2:
		return nil, nil, fmt.Errorf("validation split: %d rows cannot be split: need at least 2", n)
	case split <= 0 || split >= n:
		// The largest fraction that leaves a training row, cut to 4 digits.
		most := math.Floor((1-1/float64(n))*1e4) / 1e4
		return nil, nil, fmt.Errorf("validation split: %d rows cannot be split with fraction %v (one side would be empty): use a fraction of at most %v, or more rows", n, fraction, most)
	}
	return rowRange(0, split), rowRange(split, n), nil
}

// rowRange returns [lo, lo+1, …, hi−1].
func rowRange(lo, hi int) []int {
	r := make([]int, hi-lo)
	for i := range r {
		r[i] = lo + i
	}
	return r
}

// UnseenClasses returns the classes (ascending) of d that label some of f's
// test rows but none of its training rows, and how many test rows they
// label. A model cannot predict a class it never saw, so those rows score
// 0: the last rows of a file sorted by class, held out by ValidationSplit,
// are all of that kind.
func (d *Dataset) UnseenClasses(f Fold) (classes []int, rows int) {
	seen := make([]bool, d.Classes)
	for _, r := range f.Train {
		seen[d.Labels[r]] = true
	}
	unseen := make([]int, d.Classes) // test rows per unseen class
	for _, r := range f.Test {
		if c := d.Labels[r]; !seen[c] {
			unseen[c]++
			rows++
		}
	}
	for c, n := range unseen {
		if n > 0 {
			classes = append(classes, c)
		}
	}
	return classes, rows
}
