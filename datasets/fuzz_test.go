package datasets

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

// checkDataset asserts the invariants every loader promises.
func checkDataset(t *testing.T, d *Dataset) {
	t.Helper()
	if d.N < 1 || d.Features < 1 || d.Classes < 2 || len(d.X)+len(d.Pixels) != d.N*d.Features || len(d.Y) != d.N*d.Classes ||
		len(d.Labels) != d.N || len(d.ClassNames) != d.Classes {
		t.Fatalf("inconsistent shapes: N=%d Features=%d Classes=%d len X,Y,Labels,ClassNames = %d,%d,%d,%d",
			d.N, d.Features, d.Classes, len(d.X), len(d.Y), len(d.Labels), len(d.ClassNames))
	}
	for _, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("non-finite feature %v", v)
		}
	}
	for i, l := range d.Labels {
		if l < 0 || l >= d.Classes {
			t.Fatalf("label %d out of range", l)
		}
		for c := range d.Classes {
			if want := float32(0); c == l && d.Y[i*d.Classes+c] != 1 || c != l && d.Y[i*d.Classes+c] != want {
				t.Fatalf("row %d: Y is not the one-hot of label %d", i, l)
			}
		}
	}
}

func FuzzIDX(f *testing.F) {
	f.Add(tinyImages, tinyLabIDX)
	f.Add(gzipped(tinyImages), gzipped(tinyLabIDX))
	f.Add(tinyImages[:20], tinyLabIDX)                                                     // truncated
	f.Add(append(slices.Clone(tinyImages), 1), tinyLabIDX)                                 // trailing byte
	f.Add(idxBytes(0x08, []int{60000, 28, 28}, tinyPixels), tinyLabIDX)                    // huge claim
	f.Add(gzipped(idxBytes(0x08, []int{1<<32 - 1, 1<<32 - 1}, tinyPixels)), tinyLabIDX)    // huge claim, gzip
	f.Add(idxBytes(0x0D, []int{3, 4}, tinyPixels), idxBytes(0x08, []int{3}, []byte{0, 0})) // wrong type, short labels
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, []byte{})                         // gzip header only
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		d, err := decodeIDX("images", bytes.NewReader(images), int64(len(images)), "labels", bytes.NewReader(labels), int64(len(labels)), 0, 0)
		if err != nil {
			return
		}
		checkDataset(t, d)
		for _, v := range allRows(d) {
			if v < 0 || v > 1 {
				t.Fatalf("pixel %v outside [0,1]", v)
			}
		}
	})
}

var fuzzScales = []string{"", ScaleStandardize, ScaleMinMax, ScaleNone, "bogus"}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b,y\n1,2,p\n3,4,q\n"), "", uint8(0))
	f.Add([]byte("1,2,p\n3,4,q\n5,6,p\n"), "2", uint8(2))
	f.Add([]byte("y,a\n0,1.5\n1,-2e3\n10,7\n"), "y", uint8(1))
	f.Add([]byte("1,7,0\n2,7,1\n"), "", uint8(3))
	f.Add([]byte("1,2\n3\n"), "", uint8(0))                        // ragged
	f.Add([]byte("1,NaN,p\n2,3,q\n"), "", uint8(0))                // NaN
	f.Add([]byte("1e300,0\n-1e300,1\n"), "", uint8(1))             // overflow-prone
	f.Add([]byte("\"a\nb\",1,2\n\"x\"\"y\",3,4\n"), "0", uint8(2)) // quoted multi-line labels
	f.Add([]byte("\uFEFFh1,h2\n"), "h2", uint8(0))                 // header only
	f.Add([]byte(""), "", uint8(4))                                // empty
	f.Fuzz(func(t *testing.T, data []byte, labelColumn string, scale uint8) {
		opt := CSVOptions{LabelColumn: labelColumn, Scale: fuzzScales[int(scale)%len(fuzzScales)]}
		d, err := decodeCSV("fuzz.csv", bytes.NewReader(data), opt)
		if err != nil {
			return
		}
		checkDataset(t, d)
		if opt.Scale == ScaleMinMax {
			for _, v := range d.X {
				if v < 0 || v > 1 {
					t.Fatalf("minmax value %v outside [0,1]", v)
				}
			}
		}
		// The stored scaling and classes reproduce the rows exactly (what
		// predict does with a saved model's).
		opt = CSVOptions{LabelColumn: labelColumn, Scaling: d.Scaling, ClassNames: d.ClassNames, Features: d.Features}
		again, err := decodeCSV("fuzz.csv", bytes.NewReader(data), opt)
		if err != nil {
			t.Fatalf("stored scaling: %v", err)
		}
		if !slices.Equal(again.Labels, d.Labels) || !slices.EqualFunc(again.X, d.X, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Fatal("the stored scaling and classes give other rows")
		}
	})
}
