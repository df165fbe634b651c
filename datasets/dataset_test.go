package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"testing"
)

func tinyDataset() *Dataset {
	d := &Dataset{Name: "tiny", N: 3, Features: 2, X: []float32{0.5, -1, 2, 0, 1e-3, 7}, ClassNames: []string{"a", "b"}}
	d.setLabels([]int{1, 0, 1}, 2)
	return d
}

func TestFingerprint(t *testing.T) {
	d := tinyDataset()
	var b []byte
	for _, v := range []int{3, 2, 2} {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	for _, v := range append(slices.Clone(d.X), d.Y...) {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	sum := sha256.Sum256(b)
	if got, want := d.Fingerprint(), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("Fingerprint %s, want %s", got, want)
	}
	e := tinyDataset()
	e.X[5] = math.Nextafter32(7, 8)
	if e.Fingerprint() == d.Fingerprint() {
		t.Fatal("one ulp change in X left the fingerprint unchanged")
	}
	// Longer than the hashing buffer, to cover chunking.
	big := &Dataset{N: 5000, Features: 1, X: make([]float32, 5000)}
	big.X[4999] = 1
	big.setLabels(make([]int, 5000), 1)
	b = b[:0]
	for _, v := range []int{5000, 1, 1} {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	for _, v := range append(slices.Clone(big.X), big.Y...) {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	sum = sha256.Sum256(b)
	if got := big.Fingerprint(); got != hex.EncodeToString(sum[:]) {
		t.Fatal("chunked fingerprint differs from the one-shot hash")
	}
}

func TestSubsetAndHead(t *testing.T) {
	d := tinyDataset()
	s := subset(d, []int{2, 0, 2})
	if s.N != 3 || !slices.Equal(s.X, []float32{1e-3, 7, 0.5, -1, 1e-3, 7}) || !slices.Equal(s.Labels, []int{1, 1, 1}) ||
		!slices.Equal(s.Y, []float32{0, 1, 0, 1, 0, 1}) {
		t.Fatalf("subset: N=%d X %v Labels %v Y %v", s.N, s.X, s.Labels, s.Y)
	}
	s.X[0] = 99
	if d.X[4] == 99 {
		t.Fatal("Subset shares memory")
	}
	h := d.Head(2)
	if h.N != 2 || !slices.Equal(h.X, d.X[:4]) || !slices.Equal(h.Labels, []int{1, 0}) || len(h.Y) != 4 {
		t.Fatalf("Head: N=%d X %v Labels %v", h.N, h.X, h.Labels)
	}
	_ = append(h.X, 42)
	if d.X[4] == 42 {
		t.Fatal("appending to Head's X overwrote the parent")
	}
	if d.Head(10).N != 3 || d.Head(-1).N != 0 {
		t.Fatal("Head does not clamp")
	}
	if h.Fingerprint() != subset(d, []int{0, 1}).Fingerprint() {
		t.Fatal("Head(2) and subset(0,1) differ")
	}
}

// subset returns a copy of d holding the given rows, in the given order
// (repeats allowed). A row outside [0, N) panics, as an index would.
func subset(d *Dataset, rows []int) *Dataset {
	s := &Dataset{
		Name: d.Name, ClassNames: d.ClassNames, Scaling: d.Scaling,
		N: len(rows), Features: d.Features, Classes: d.Classes,
		X:      make([]float32, len(rows)*d.Features),
		Y:      make([]float32, len(rows)*d.Classes),
		Labels: make([]int, len(rows)),
	}
	for i, r := range rows {
		copy(s.X[i*d.Features:(i+1)*d.Features], d.X[r*d.Features:(r+1)*d.Features])
		copy(s.Y[i*d.Classes:(i+1)*d.Classes], d.Y[r*d.Classes:(r+1)*d.Classes])
		s.Labels[i] = d.Labels[r]
	}
	return s
}
