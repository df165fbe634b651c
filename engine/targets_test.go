package engine

import (
	"math"
	"testing"
)

// TestTargets: targets builds from the classes oneHotClasses finds the
// bits gatherRows copies from a one-hot Y, and Y that is not one-hot
// (two ones, a soft label, a −0, no one at all) is copied as it is.
func TestTargets(t *testing.T) {
	const out = 4
	onehot := blobs(30, 3, out, 8).Y
	g := &Group{}
	rows := []int{29, 0, 7, 7, 13}
	want := make([]float32, len(rows)*out)
	gatherRows(onehot, out, rows, want)
	g.classes = oneHotClasses(onehot, out, g.classes)
	if len(g.classes) != 30 {
		t.Fatalf("oneHotClasses found %d classes of 30 one-hot rows", len(g.classes))
	}
	got := make([]float32, len(rows)*out)
	for i := range got {
		got[i] = 9 // stale values must go
	}
	g.targets(onehot, out, rows, got)
	if !sameBits(got, want) {
		t.Fatalf("targets from classes %v, gathered %v", got, want)
	}
	for _, bad := range []struct {
		name string
		row  []float32
	}{
		{"two ones", []float32{1, 0, 1, 0}},
		{"soft", []float32{0.5, 0.5, 0, 0}},
		{"negative zero", []float32{float32(math.Copysign(0, -1)), 1, 0, 0}},
		{"no one", []float32{0, 0, 0, 0}},
	} {
		y := append([]float32(nil), onehot...)
		copy(y[7*out:], bad.row)
		g.classes = oneHotClasses(y, out, g.classes)
		if len(g.classes) != 0 {
			t.Errorf("%s: oneHotClasses found classes", bad.name)
		}
		gatherRows(y, out, rows, want)
		g.targets(y, out, rows, got)
		if !sameBits(got, want) {
			t.Errorf("%s: targets %v, want the rows of Y %v", bad.name, got, want)
		}
	}
}
