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
// allRows is every row of d as float32, [N×Features] (Row of each).
func allRows(d *Dataset) []float32 {
	x := make([]float32, d.N*d.Features)
	for i := range d.N {
		d.Row(i, x[i*d.Features:])
	}
	return x
}

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

// TestFingerprintPinned pins the fingerprints stored results and resumed
// studies are keyed by, as computed when image data still held a float32
// copy X (commit 140e67d): holding pixels alone must not change them.
func TestFingerprintPinned(t *testing.T) {
	csv, err := loadCSVString(t, "height,weight,species\n1.5,10,cat\n2,-20.25,dog\n3,30,cat\n4,1e-3,ant\n", CSVOptions{Scale: ScaleStandardize})
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := MNIST("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		d      *Dataset
		pixels bool // held as pixels alone
		want   string
	}{
		{"csv", csv, false, "2a4f50e3288bac129a07ee69fe8322d04c45e5f18c439809bdedb8f9df1d3a54"},
		{"blobs", Blobs(300, 5, 3), false, "9b4f7f48b96bb3cda07490f0b43b76ccbe15058afec5c3095f227894a8b703af"},
		{"mnist train", train, true, "8c4ba9ff638e3bf1172db70aa3dc95102a13c4cad22bfdc9091a0da6d3a9baa6"},
		{"mnist test", test, true, "2cbbfa12c0cc933ed86209f690bd58ba947a67d2b35d9d095082103b5d2432e3"},
		{"mnist train head 6000", train.Head(6000), true, "68b2f846cffd32f52f1eb27c5e9837de55e3f60e3d9f955c41250df9f1f386f9"},
	} {
		if c.pixels != (c.d.X == nil) {
			t.Errorf("%s: X %d values, Pixels %d", c.name, len(c.d.X), len(c.d.Pixels))
		}
		if got := c.d.Fingerprint(); got != c.want {
			t.Errorf("%s: fingerprint %s, want %s", c.name, got, c.want)
		}
	}
}

// TestPixelRows: a data set held as pixels reads, hashes and heads as its
// float32 copy does.
func TestPixelRows(t *testing.T) {
	px := make([]uint8, 256*3) // every byte value, 3 features a row
	for i := range px {
		px[i] = uint8(i * 7)
	}
	d := &Dataset{N: 256, Features: 3, Pixels: px}
	d.setLabels(make([]int, 256), 2)
	f := *d
	f.Pixels, f.X = nil, make([]float32, len(px))
	for i, b := range px {
		f.X[i] = float32(b) / 255
	}
	if !slices.Equal(allRows(d), f.X) || !slices.Equal(allRows(&f), f.X) {
		t.Fatal("Row of pixels is not the float32 copy's row")
	}
	if d.Fingerprint() != f.Fingerprint() {
		t.Fatal("pixels and their float32 copy fingerprint differently")
	}
	if h := d.Head(100); h.X != nil || len(h.Pixels) != 300 || h.Fingerprint() != f.Head(100).Fingerprint() {
		t.Fatal("Head of pixels differs from Head of the float32 copy")
	}
	if got := d.Row(5, make([]float32, 8)); len(got) != 3 || got[2] != float32(px[17])/255 {
		t.Fatalf("Row(5) = %v", got)
	}
}
