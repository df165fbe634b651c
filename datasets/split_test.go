package datasets

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestKFoldMNIST(t *testing.T) {
	folds, err := KFold(60000, 4, 42)
	if err != nil {
		t.Fatal(err)
	}
	heads := [][]int{{4, 6, 7, 31, 32, 34}, {0, 1, 11, 13, 17, 23}, {3, 5, 8, 14, 15, 18}, {2, 9, 10, 12, 16, 21}}
	sums := []int{451199502, 449205618, 451900501, 447664379}
	for f, fold := range folds {
		if !slices.Equal(fold.Test[:6], heads[f]) {
			t.Errorf("fold %d test starts %v, want %v", f, fold.Test[:6], heads[f])
		}
		sum := 0
		for _, r := range fold.Test {
			sum += r
		}
		if sum != sums[f] {
			t.Errorf("fold %d test index sum %d, want %d", f, sum, sums[f])
		}
	}
	checkFolds(t, folds, 60000, 4)
}

// checkFolds verifies sizes, order and that train ∪ test is every row once
// and the test sets partition the rows.
func checkFolds(t *testing.T, folds []Fold, n, k int) {
	t.Helper()
	if len(folds) != k {
		t.Fatalf("%d folds, want %d", len(folds), k)
	}
	seen := make([]int, n)
	for f, fold := range folds {
		want := n / k
		if f < n%k {
			want++
		}
		if len(fold.Test) != want || len(fold.Train) != n-want {
			t.Fatalf("n=%d k=%d fold %d: %d test, %d train, want %d test", n, k, f, len(fold.Test), len(fold.Train), want)
		}
		if !slices.IsSorted(fold.Test) || !slices.IsSorted(fold.Train) {
			t.Fatalf("fold %d lists not ascending", f)
		}
		inTest := make([]bool, n)
		for _, r := range fold.Test {
			inTest[r] = true
			seen[r]++
		}
		for _, r := range fold.Train {
			if inTest[r] {
				t.Fatalf("fold %d: row %d in train and test", f, r)
			}
		}
	}
	for r, c := range seen {
		if c != 1 {
			t.Fatalf("row %d is in %d test sets", r, c)
		}
	}
}

func TestKFoldSizes(t *testing.T) {
	for _, c := range []struct{ n, k int }{{2, 2}, {5, 2}, {7, 3}, {10, 10}, {11, 4}, {13, 5}} {
		folds, err := KFold(c.n, c.k, 7)
		if err != nil {
			t.Fatal(err)
		}
		checkFolds(t, folds, c.n, c.k)
	}
	// n=10, k=3, seed 42: the shuffled order is [8 1 5 0 7 2 9 4 3 6], cut 4|3|3.
	folds, _ := KFold(10, 3, 42)
	want := [][]int{{0, 1, 5, 8}, {2, 7, 9}, {3, 4, 6}}
	for f := range folds {
		if !slices.Equal(folds[f].Test, want[f]) {
			t.Errorf("fold %d test %v, want %v", f, folds[f].Test, want[f])
		}
	}
}

func TestKFoldErrors(t *testing.T) {
	for _, c := range []struct{ n, k int }{{10, 1}, {10, 0}, {10, -2}, {3, 4}, {0, 2}} {
		if _, err := KFold(c.n, c.k, 42); err == nil {
			t.Errorf("KFold(%d, %d) gave no error", c.n, c.k)
		}
	}
	// Defect: it said only "cannot have k=5 folds with only n=3 rows".
	if _, err := KFold(3, 5, 42); err == nil || !strings.HasSuffix(err.Error(), "with only n=3 rows: use at most 3 folds, or more rows") {
		t.Errorf("KFold(3, 5): %v", err)
	}
}

func TestValidationSplit(t *testing.T) {
	for _, c := range []struct {
		n        int
		fraction float64
		split    int
	}{{60000, 0.25, 45000}, {60000, 0.1, 54000}, {10, 0.3, 7}, {7, 0.5, 3}, {3, 0.2, 2}, {100, 0.333, 66}, {3, 0.01, 2}} {
		train, val, err := ValidationSplit(c.n, c.fraction)
		if err != nil {
			t.Fatalf("n=%d fraction=%v: %v", c.n, c.fraction, err)
		}
		if len(train) != c.split || len(val) != c.n-c.split || train[0] != 0 || val[0] != c.split || val[len(val)-1] != c.n-1 {
			t.Fatalf("n=%d fraction=%v: train %d rows, val %d rows starting at %d; want split at %d", c.n, c.fraction, len(train), len(val), val[0], c.split)
		}
	}
	for _, c := range []struct {
		n        int
		fraction float64
	}{{10, 0}, {10, 1}, {10, -0.1}, {10, 1.5}, {1, 0.5}, {0, 0.5}, {3, 0.99}} {
		if _, _, err := ValidationSplit(c.n, c.fraction); err == nil {
			t.Errorf("ValidationSplit(%d, %v) gave no error", c.n, c.fraction)
		}
	}
	// Defect: "20 rows cannot be split with fraction 0.99 (one side would
	// be empty)" said not what would do. The fraction it names splits.
	for _, n := range []int{2, 3, 7, 20, 60000} {
		_, _, err := ValidationSplit(n, 0.99999)
		var most float64
		if err == nil || !strings.HasSuffix(err.Error(), ", or more rows") {
			t.Fatalf("ValidationSplit(%d, 0.99999): %v", n, err)
		}
		fmt.Sscanf(err.Error()[strings.LastIndex(err.Error(), "at most ")+len("at most "):], "%g", &most)
		if _, _, err := ValidationSplit(n, most); err != nil || most < 0.5 {
			t.Errorf("n=%d: the fraction named, %v: %v", n, most, err)
		}
	}
	if _, _, err := ValidationSplit(1, 0.5); err == nil || !strings.Contains(err.Error(), "need at least 2") {
		t.Errorf("ValidationSplit(1, 0.5): %v", err)
	}
}

func TestUnseenClassesAndClassCounts(t *testing.T) {
	// Sorted by class: 0 0 0 1 1 2 2 2; the last 3 rows (2 2 2) are unseen.
	d := &Dataset{N: 8, Features: 1, X: make([]float32, 8)}
	d.setLabels([]int{0, 0, 0, 1, 1, 2, 2, 2}, 3)
	if got := d.ClassCounts(); !slices.Equal(got, []int{3, 2, 3}) {
		t.Errorf("ClassCounts %v", got)
	}
	train, val, err := ValidationSplit(d.N, 0.4) // rows 0..4 | 5..7
	if err != nil {
		t.Fatal(err)
	}
	if classes, rows := d.UnseenClasses(Fold{Train: train, Test: val}); !slices.Equal(classes, []int{2}) || rows != 3 {
		t.Errorf("unseen %v in %d rows, want [2] in 3", classes, rows)
	}
	// Training rows 0 1 7 show classes 0 and 2: class 1 (rows 3, 4) is unseen.
	if classes, rows := d.UnseenClasses(Fold{Train: []int{0, 1, 7}, Test: []int{2, 3, 4, 5, 6}}); !slices.Equal(classes, []int{1}) || rows != 2 {
		t.Errorf("unseen %v in %d rows, want [1] in 2", classes, rows)
	}
	if classes, rows := d.UnseenClasses(Fold{Train: []int{0, 3, 5}, Test: []int{1, 2, 4, 6, 7}}); classes != nil || rows != 0 {
		t.Errorf("unseen %v in %d rows, want none", classes, rows)
	}
}
