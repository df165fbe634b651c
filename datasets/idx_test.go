package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes builds an IDX file: magic 00 00 typ rank, big-endian dims, payload.
func idxBytes(typ byte, dims []int, payload []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, payload...)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Three 2×2 images and their labels.
var (
	tinyPixels = []byte{0, 255, 51, 102, 1, 2, 3, 4, 254, 128, 0, 0}
	tinyLabels = []byte{0, 2, 1}
	tinyImages = idxBytes(0x08, []int{3, 2, 2}, tinyPixels)
	tinyLabIDX = idxBytes(0x08, []int{3}, tinyLabels)
)

func TestLoadIDX(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ images, labels []byte }{
		{tinyImages, tinyLabIDX},
		{gzipped(tinyImages), gzipped(tinyLabIDX)},
		{gzipped(tinyImages), tinyLabIDX},
	} {
		d, err := LoadIDX(writeFile(t, dir, "img", c.images), writeFile(t, dir, "lab", c.labels))
		if err != nil {
			t.Fatal(err)
		}
		if d.N != 3 || d.Features != 4 || d.Classes != 3 || d.Name != "img" {
			t.Fatalf("N=%d Features=%d Classes=%d Name=%q", d.N, d.Features, d.Classes, d.Name)
		}
		for i, b := range tinyPixels {
			if x := d.Row(i/4, make([]float32, 4))[i%4]; x != float32(b)/255 {
				t.Fatalf("Row %d [%d] = %v, want %v", i/4, i%4, x, float32(b)/255)
			}
		}
		if d.X != nil || !slices.Equal(d.Pixels, tinyPixels) || !slices.Equal(d.Head(2).Pixels, tinyPixels[:8]) {
			t.Fatalf("Pixels %v (head of 2: %v), want the file's %v", d.Pixels, d.Head(2).Pixels, tinyPixels)
		}
		wantY := []float32{1, 0, 0, 0, 0, 1, 0, 1, 0}
		if !slices.Equal(d.Labels, []int{0, 2, 1}) || !slices.Equal(d.Y, wantY) {
			t.Fatalf("Labels %v Y %v", d.Labels, d.Y)
		}
		if !slices.Equal(d.ClassNames, []string{"0", "1", "2"}) {
			t.Fatalf("ClassNames %v", d.ClassNames)
		}
	}
}

// TestLoadIDXHead: the first rows of an IDX pair, gzipped or raw, are
// LoadIDX's Head(rows), the classes counted over every label; the images
// past them are not read (a gzip stream cut short after them still loads;
// a raw file's length is checked against its header at open).
func TestLoadIDXHead(t *testing.T) {
	dir := t.TempDir()
	cut := tinyImages[:len(tinyImages)-4] // the third image missing
	for _, images := range [][]byte{tinyImages, gzipped(tinyImages), gzipped(cut)} {
		img, lab := writeFile(t, dir, "img", images), writeFile(t, dir, "lab", tinyLabIDX)
		for rows := 1; rows <= 2; rows++ {
			d, err := LoadIDXHead(img, lab, rows)
			if err != nil {
				t.Fatal(err)
			}
			if d.N != rows || d.Classes != 3 || !slices.Equal(d.Labels, []int{0, 2}[:rows]) || len(d.Pixels) != 4*rows || d.X != nil {
				t.Fatalf("rows %d: N=%d Classes=%d Labels %v len(Pixels)=%d len(X)=%d", rows, d.N, d.Classes, d.Labels, len(d.Pixels), len(d.X))
			}
			if !slices.Equal(d.Pixels, tinyPixels[:4*rows]) {
				t.Fatalf("rows %d: Pixels %v, want %v", rows, d.Pixels, tinyPixels[:4*rows])
			}
		}
		_, err := LoadIDXHead(img, lab, 0)
		if short := !bytes.Equal(images, tinyImages) && !bytes.Equal(images, gzipped(tinyImages)); short != (err != nil) {
			t.Fatalf("all rows of a file cut short=%v: err %v", short, err)
		}
	}
}

func TestIDXExactCapacity(t *testing.T) {
	// A genuine gzip file confirms its length through ISIZE; a gzip file
	// whose header lies must not be trusted for preallocation.
	f, err := openIDX("ok", bytes.NewReader(gzipped(tinyImages)), int64(len(gzipped(tinyImages))))
	if err != nil || !f.exact {
		t.Fatalf("genuine gzip: exact=%v err=%v", f != nil && f.exact, err)
	}
	lying := gzipped(idxBytes(0x08, []int{1000, 20}, make([]byte, 40)))
	f, err = openIDX("lying", bytes.NewReader(lying), int64(len(lying)))
	if err != nil || f.exact || f.initialCap() > idxReadChunk {
		t.Fatalf("lying gzip: err=%v exact=%v", err, f.exact)
	}
	if _, _, err := f.readImages(f.dims[0]); err == nil || !strings.Contains(err.Error(), "has only 40") {
		t.Fatalf("lying gzip read: %v", err)
	}
}

func TestIDXErrors(t *testing.T) {
	gzTiny := gzipped(tinyImages)
	badCRC := slices.Clone(gzTiny)
	badCRC[len(badCRC)-8] ^= 0xff // CRC-32 is the 8th..5th last bytes
	cases := []struct {
		name, want string
		images     []byte
		labels     []byte
	}{
		{"empty", "file is empty", []byte{}, tinyLabIDX},
		{"short header", "ends after 3 bytes, inside the IDX header", []byte{0, 0, 8}, tinyLabIDX},
		{"short header gz", "decompressed data ends after 3 bytes", gzipped([]byte{0, 0, 8}), tinyLabIDX},
		{"bad magic", "not an IDX file", idxBytes(0x08, []int{3, 4}, tinyPixels)[1:], tinyLabIDX},
		{"text file", "not an IDX file", []byte("hello, world, this is text"), tinyLabIDX},
		{"float type", "0x0d (float32) is not supported", idxBytes(0x0D, []int{3, 4}, tinyPixels), tinyLabIDX},
		{"unknown type", "unknown element type 0x42", idxBytes(0x42, []int{3, 4}, tinyPixels), tinyLabIDX},
		{"rank 0", "rank 0", idxBytes(0x08, nil, tinyPixels), tinyLabIDX},
		{"truncated dims", "inside the IDX header", tinyImages[:9], tinyLabIDX},
		{"zero dim", "dimension 2 is 0", idxBytes(0x08, []int{3, 0, 2}, nil), tinyLabIDX},
		{"truncated raw", "header says 3×2×2 = 12 bytes but the file has 5 after its 16-byte header", tinyImages[:21], tinyLabIDX},
		{"trailing raw", "file has 13 bytes after its 16-byte header, more than the 3×2×2 = 12", append(slices.Clone(tinyImages), 7), tinyLabIDX},
		{"huge dims raw", "header says 4294967295×4294967295×4294967295 bytes but the file has 12", idxBytes(0x08, []int{1<<32 - 1, 1<<32 - 1, 1<<32 - 1}, tinyPixels), tinyLabIDX},
		{"truncated gz payload", "3×2×2 = 12 bytes but the decompressed data has only 5", gzipped(tinyImages[:21]), tinyLabIDX},
		{"trailing gz", "decompressed data is longer than the 3×2×2 = 12 bytes", gzipped(append(slices.Clone(tinyImages), 7)), tinyLabIDX},
		{"cut gz stream", "unexpected EOF", gzTiny[:len(gzTiny)-10], tinyLabIDX},
		{"gz checksum", "checksum", badCRC, tinyLabIDX},
		{"gz bad header", "bad gzip stream", []byte{0x1f, 0x8b, 0, 0}, tinyLabIDX},
		{"huge claim gz", "header says 60000×28×28 = 47040000 bytes, more than a", gzipped(idxBytes(0x08, []int{60000, 28, 28}, tinyPixels)), tinyLabIDX},
		{"images rank 1", "needs rank ≥ 2", tinyLabIDX, tinyLabIDX},
		{"labels rank 2", "labels file needs rank 1", tinyImages, tinyImages},
		{"count mismatch", "has 3 images but", tinyImages, idxBytes(0x08, []int{2}, []byte{0, 1})},
		{"one class", "every label is 0", tinyImages, idxBytes(0x08, []int{3}, []byte{0, 0, 0})},
		{"labels corrupt", "lab: header says 3 bytes but the file has 2", tinyImages, tinyLabIDX[:10]},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := writeFile(t, dir, "img", c.images)
			_, err := LoadIDX(img, writeFile(t, dir, "lab", c.labels))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v does not name the file", err)
			}
		})
	}
}

// TestIDXCutShortSaysWhatToDo: an IDX file that ends too soon, raw or
// gzipped, or whose gzip data is damaged, is named as such, with what to
// do. Defect: a truncated train-images-idx3-ubyte.gz said only "reading
// the decompressed data failed after 480376 of 47040000 data bytes:
// unexpected EOF".
func TestIDXCutShortSaysWhatToDo(t *testing.T) {
	gzTiny := gzipped(tinyImages)
	badCRC := slices.Clone(gzTiny)
	badCRC[len(badCRC)-5] ^= 0xff
	dir := t.TempDir()
	for name, images := range map[string][]byte{
		"short header": tinyImages[:3], "short header gz": gzipped(tinyImages[:3]),
		"raw": tinyImages[:21], "gz payload": gzipped(tinyImages[:21]),
		"gz stream": gzTiny[:len(gzTiny)-10], "gz checksum": badCRC,
	} {
		_, err := LoadIDX(writeFile(t, dir, "img", images), writeFile(t, dir, "lab", tinyLabIDX))
		if err == nil || !strings.HasSuffix(err.Error(), "(the file is cut short or damaged: replace it with a good copy)") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestIDXBriefExample(t *testing.T) {
	img := idxBytes(0x08, []int{60000, 28, 28}, make([]byte, 1000))
	_, err := openIDX("train-images-idx3-ubyte", bytes.NewReader(img), int64(len(img)))
	want := "train-images-idx3-ubyte: header says 60000×28×28 = 47040000 bytes but the file has 1000 after its 16-byte header (the file is cut short or damaged: replace it with a good copy)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestIDXLabelOutOfRange(t *testing.T) {
	dir := t.TempDir()
	img := writeFile(t, dir, "img", tinyImages)
	lab := writeFile(t, dir, "lab", idxBytes(0x08, []int{3}, []byte{1, 12, 3}))
	if _, err := loadIDXFiles(img, lab, mnistClasses, 0); err == nil || !strings.Contains(err.Error(), "label 12 at item 1 is not below the 10 classes") {
		t.Fatalf("err = %v", err)
	}
	if _, err := LoadIDX(filepath.Join(dir, "missing"), lab); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("err = %v", err)
	}
}

func TestMNISTUncompressedNames(t *testing.T) {
	// A --data directory may hold raw files, also under the dotted names.
	dir := t.TempDir()
	writeFile(t, dir, "train-images-idx3-ubyte", tinyImages)
	writeFile(t, dir, "train-labels.idx1-ubyte", tinyLabIDX)
	writeFile(t, dir, "t10k-images-idx3-ubyte.gz", gzipped(tinyImages))
	writeFile(t, dir, "t10k-labels-idx1-ubyte", idxBytes(0x08, []int{3}, []byte{9, 0, 1}))
	train, test, err := MNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 3 || test.N != 3 || train.Classes != 10 || test.Classes != 10 || test.Labels[0] != 9 {
		t.Fatalf("train %d×%d/%d test %d labels %v", train.N, train.Features, train.Classes, test.N, test.Labels)
	}
}
