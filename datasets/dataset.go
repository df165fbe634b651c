package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// Dataset is a classification data set held in memory.
type Dataset struct {
	Name string
	// The features are held once, [N×Features]: as X (CSV data, Blobs),
	// or, for an IDX file, as Pixels, its bytes, whose values are the
	// bytes over 255 (kernels.PixelValue; X nil). Row gives a row as
	// float32 either way; engine.DataOf hands whichever is set to the
	// engine, which reads pixels directly (a quarter of the memory of
	// their float32 copy).
	X                    []float32 // [N×Features]; nil for IDX data
	Pixels               []uint8   // [N×Features], value kernels.PixelValue(Pixels[i]); nil for CSV data
	Y                    []float32 // [N×Classes] one-hot
	Labels               []int     // [N] class index
	ClassNames           []string  // [Classes] label text of each class index
	N, Features, Classes int
	// Scaling is the scaling LoadCSV applied to the raw features; nil for
	// IDX files (pixels are divided by 255).
	Scaling *Scaling
	// FeatureNames are a CSV header's names of the feature columns, in
	// order, [Features]; nil without a header (IDX files, headerless CSV).
	FeatureNames []string
}

// setLabels fills Labels and the one-hot Y [N×Classes] from class indices,
// which the caller has checked to lie in [0, classes).
func (d *Dataset) setLabels(labels []int, classes int) {
	d.Labels = labels
	d.Classes = classes
	d.Y = make([]float32, len(labels)*classes)
	for i, c := range labels {
		d.Y[i*classes+c] = 1
	}
}

// Row writes the features of row i into dst (len(dst) ≥ Features) as the
// engine reads them, X's row or the row's pixels over 255, and returns
// dst[:Features]. It is the one way to read a row as float32 whichever way
// the features are held.
func (d *Dataset) Row(i int, dst []float32) []float32 {
	dst = dst[:d.Features]
	if d.X != nil {
		copy(dst, d.X[i*d.Features:(i+1)*d.Features])
		return dst
	}
	kernels.PixelsToFloats(dst, d.Pixels[i*d.Features:(i+1)*d.Features])
	return dst
}

// Fingerprint is the hex SHA-256 of N, Features and Classes (each a
// little-endian uint64) followed by the little-endian bytes of the
// features as float32 (X, or the pixels over 255: the same hash as for
// their float32 copy) and of Y: two data sets with equal fingerprints feed
// the engine identical numbers.
func (d *Dataset) Fingerprint() string {
	h := sha256.New()
	var buf [1 << 14]byte
	for i, v := range []int{d.N, d.Features, d.Classes} {
		binary.LittleEndian.PutUint64(buf[8*i:], uint64(v))
	}
	h.Write(buf[:24])
	for px := d.Pixels; d.X == nil && len(px) > 0; {
		chunk := min(len(px), len(buf)/4)
		for i, b := range px[:chunk] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(kernels.PixelValue(b)))
		}
		h.Write(buf[:4*chunk])
		px = px[chunk:]
	}
	for _, xs := range [][]float32{d.X, d.Y} {
		for len(xs) > 0 {
			chunk := min(len(xs), len(buf)/4)
			for i, v := range xs[:chunk] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			h.Write(buf[:4*chunk])
			xs = xs[chunk:]
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Head returns the first n rows (n is clamped to [0, N]) sharing d's
// memory; the slices are capped so appending to them cannot overwrite d.
func (d *Dataset) Head(n int) *Dataset {
	n = max(0, min(n, d.N))
	h := *d
	h.N = n
	if d.X != nil {
		h.X = d.X[: n*d.Features : n*d.Features]
	}
	if d.Pixels != nil {
		h.Pixels = d.Pixels[: n*d.Features : n*d.Features]
	}
	h.Y = d.Y[: n*d.Classes : n*d.Classes]
	h.Labels = d.Labels[:n:n]
	return &h
}

// ClassCounts returns the number of rows of each class, [Classes].
func (d *Dataset) ClassCounts() []int {
	counts := make([]int, d.Classes)
	for _, c := range d.Labels {
		counts[c]++
	}
	return counts
}
