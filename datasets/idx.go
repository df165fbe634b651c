package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlpsweep/mlpsweep/internal/hugepages"
)

// IDX format (LeCun & Cortes, the MNIST page): a big-endian header of magic
// bytes 0x00 0x00 TYPE RANK and RANK uint32 dimension sizes, then the
// elements in row-major order. The file may be gzip-compressed. Only the
// unsigned-byte element type is supported, which is what MNIST uses.
const (
	idxUbyte       = 0x08
	idxReadChunk   = 1 << 16 // bytes decoded per step of the payload stream
	gzipMinSize    = 18      // smallest gzip member: 10-byte header, 8-byte trailer
	gzipTrailerLen = 4       // ISIZE: uncompressed length mod 2³², the last 4 bytes
	// maxDeflateRatio bounds how far deflate can expand data: one 258-byte
	// match per 2 bits of input is 1032:1. A header claiming more than that
	// is rejected before anything is allocated.
	maxDeflateRatio = 1032
)

var idxOtherTypes = map[byte]string{0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}

// idxFile is an IDX file whose header has been read and checked; payload
// is positioned at the first element.
type idxFile struct {
	name    string
	dims    []int // dimension sizes, outermost first
	size    int   // elements (= bytes) in the payload: the product of dims
	exact   bool  // size confirmed by the file length (raw) or gzip ISIZE, so preallocating it is safe
	gzipped bool
	payload io.Reader
}

// cutShort ends the message of an IDX file that ends too soon or whose
// compressed data is damaged: what to do about it.
const cutShort = " (the file is cut short or damaged: replace it with a good copy)"

// openIDX reads and checks the header of the IDX file named name, whose
// fileSize bytes src holds. The claimed payload must fit the file (raw:
// exactly; gzip: within the deflate expansion bound) before anything is
// allocated for it.
func openIDX(name string, src io.ReaderAt, fileSize int64) (*idxFile, error) {
	if fileSize == 0 {
		return nil, fmt.Errorf("%s: file is empty", name)
	}
	f := &idxFile{name: name}
	var r io.Reader = io.NewSectionReader(src, 0, fileSize)
	limit := fileSize // most bytes the (decompressed) file can hold
	var start [2]byte
	if n, _ := src.ReadAt(start[:], 0); n == 2 && start == [2]byte{0x1f, 0x8b} {
		zr, err := gzip.NewReader(bufio.NewReaderSize(r, idxReadChunk))
		if err != nil {
			return nil, fmt.Errorf("%s: bad gzip stream: %v", name, err)
		}
		f.gzipped, r = true, zr
		limit = fileSize * maxDeflateRatio
	}
	f.payload = r

	var magic [4]byte
	if err := f.readHeader(magic[:], 0); err != nil {
		return nil, err
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%s: not an IDX file: starts with bytes % x, expected 00 00 then type and rank", name, magic)
	}
	switch typ := magic[2]; {
	case typ == idxUbyte:
	case idxOtherTypes[typ] != "":
		return nil, fmt.Errorf("%s: IDX element type 0x%02x (%s) is not supported; only unsigned byte (0x08) is", name, typ, idxOtherTypes[typ])
	default:
		return nil, fmt.Errorf("%s: not an IDX file: unknown element type 0x%02x", name, typ)
	}
	rank := int(magic[3])
	if rank == 0 {
		return nil, fmt.Errorf("%s: IDX header says rank 0 (no dimensions)", name)
	}
	dimBytes := make([]byte, 4*rank)
	if err := f.readHeader(dimBytes, len(magic)); err != nil {
		return nil, err
	}
	headerLen := int64(len(magic) + len(dimBytes))
	room := limit - headerLen // payload bytes the file can hold
	f.dims = make([]int, rank)
	for i := range f.dims {
		f.dims[i] = int(binary.BigEndian.Uint32(dimBytes[4*i:]))
	}
	if i := slices.Index(f.dims, 0); i >= 0 {
		return nil, fmt.Errorf("%s: IDX header says %s: dimension %d is 0", name, f.shape(), i+1)
	}
	size, fits := f.product()
	switch {
	case (!fits || size > room) && f.gzipped:
		return nil, fmt.Errorf("%s: header says %s bytes, more than a %d-byte gzip file can hold", name, f.claim(), fileSize)
	case !fits || size > room:
		return nil, fmt.Errorf("%s: header says %s bytes but the file has %d after its %d-byte header%s", name, f.claim(), room, headerLen, cutShort)
	case size < room && !f.gzipped:
		return nil, fmt.Errorf("%s: file has %d bytes after its %d-byte header, more than the %s its header describes", name, room, headerLen, f.claim())
	}
	f.size = int(size)
	f.exact = !f.gzipped || gzipLengthMatches(src, fileSize, headerLen+size)
	return f, nil
}

// gzipLengthMatches reports whether the gzip trailer's ISIZE (length mod
// 2³² of the last member) agrees with the expected decompressed length.
func gzipLengthMatches(src io.ReaderAt, fileSize, want int64) bool {
	if fileSize < gzipMinSize {
		return false
	}
	var isize [gzipTrailerLen]byte
	if _, err := src.ReadAt(isize[:], fileSize-gzipTrailerLen); err != nil {
		return false
	}
	return binary.LittleEndian.Uint32(isize[:]) == uint32(want)
}

// readHeader fills buf with the header bytes at offset off.
func (f *idxFile) readHeader(buf []byte, off int) error {
	n, err := io.ReadFull(f.payload, buf)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: %s ends after %d bytes, inside the IDX header%s", f.name, f.what(), off+n, cutShort)
	default:
		return fmt.Errorf("%s: %v", f.name, err)
	}
}

// stream passes the first want bytes of the payload (want ≤ size) to visit
// in order, in chunks. When want is the whole payload it then checks that
// nothing follows it (for gzip this also verifies the checksum); a prefix
// is read without looking further, so the first rows of a large file cost
// what they hold.
func (f *idxFile) stream(want int, visit func(chunk []byte)) error {
	buf := make([]byte, min(idxReadChunk, want))
	got := 0
	for got < want {
		n, err := f.payload.Read(buf[:min(len(buf), want-got)])
		if n > 0 {
			visit(buf[:n])
			got += n
		}
		if errors.Is(err, io.EOF) && got < want {
			return fmt.Errorf("%s: header says %s bytes but the %s has only %d%s", f.name, f.claim(), f.what(), got, cutShort)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: reading the %s failed after %d of %d data bytes: %v%s", f.name, f.what(), got, f.size, err, cutShort)
		}
	}
	if want < f.size {
		return nil
	}
	var one [1]byte
	n, err := io.ReadAtLeast(f.payload, one[:], 1)
	if n > 0 {
		return fmt.Errorf("%s: %s is longer than the %s bytes its header describes", f.name, f.what(), f.claim())
	}
	if !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: reading the %s failed at its end: %v%s", f.name, f.what(), err, cutShort)
	}
	return nil
}

// what names the byte stream: the file itself or its decompressed content.
func (f *idxFile) what() string {
	if f.gzipped {
		return "decompressed data"
	}
	return "file"
}

// shape renders the dimensions as "60000×28×28".
func (f *idxFile) shape() string {
	s := make([]string, len(f.dims))
	for i, d := range f.dims {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, "×")
}

// maxIDXPayload caps the dimension product so it cannot overflow; no file
// comes near it.
const maxIDXPayload = 1 << 62

// product is the number of elements the dimensions claim; fits is false
// when it exceeds maxIDXPayload.
func (f *idxFile) product() (size int64, fits bool) {
	size = 1
	for _, d := range f.dims {
		if size > maxIDXPayload/int64(d) {
			return 0, false
		}
		size *= int64(d)
	}
	return size, true
}

// claim renders the dimensions and their product: "60000×28×28 = 47040000".
func (f *idxFile) claim() string {
	size, fits := f.product()
	if !fits || len(f.dims) == 1 {
		return f.shape()
	}
	return fmt.Sprintf("%s = %d", f.shape(), size)
}

// readImages decodes the first items (≤ dims[0]) images of an images file,
// each of the remaining dims' product pixels, as they are: [items×features]
// bytes.
func (f *idxFile) readImages(items int) (px []uint8, features int, err error) {
	if len(f.dims) < 2 {
		return nil, 0, fmt.Errorf("%s: an images file needs rank ≥ 2 (items × pixels), header says %s (is this a labels file?)", f.name, f.shape())
	}
	features = f.size / f.dims[0]
	want := items * features
	px = hugepages.Bytes(min(want, f.initialCap()))[:0] // [items×features]
	err = f.stream(want, func(chunk []byte) { px = append(px, chunk...) })
	if err != nil {
		return nil, 0, err
	}
	return px, features, nil
}

// readLabels decodes a rank-1 labels file.
func (f *idxFile) readLabels() ([]byte, error) {
	if len(f.dims) != 1 {
		return nil, fmt.Errorf("%s: a labels file needs rank 1, header says %s (is this an images file?)", f.name, f.shape())
	}
	labels := make([]byte, 0, f.initialCap())
	if err := f.stream(f.size, func(chunk []byte) { labels = append(labels, chunk...) }); err != nil {
		return nil, err
	}
	return labels, nil
}

// initialCap is the payload length when the file confirms it; otherwise a
// modest start, so a lying gzip header costs memory only as data arrives.
func (f *idxFile) initialCap() int {
	if f.exact {
		return f.size
	}
	return min(f.size, idxReadChunk)
}

// LoadIDX loads a pair of IDX files (each gzip or raw): images of any shape
// N×d₁×…, flattened to N×(d₁·…) features held as their bytes (Pixels; a
// feature's value is its byte over 255, in [0,1]), and N labels. Classes is
// the largest label + 1.
func LoadIDX(imagesPath, labelsPath string) (*Dataset, error) {
	return loadIDXFiles(imagesPath, labelsPath, 0, 0)
}

// LoadIDXHead is LoadIDX keeping the first rows rows (all for 0 or more
// than the file has), what LoadIDX(…).Head(rows) holds, the classes
// included (counted over every label); it decodes only the images it keeps.
func LoadIDXHead(imagesPath, labelsPath string, rows int) (*Dataset, error) {
	return loadIDXFiles(imagesPath, labelsPath, 0, rows)
}

// loadIDXFiles opens both files and decodes them, the first rows images
// (0: all); classes 0 means infer from all the labels.
func loadIDXFiles(imagesPath, labelsPath string, classes, rows int) (*Dataset, error) {
	var srcs [2]*os.File
	var sizes [2]int64
	for i, p := range []string{imagesPath, labelsPath} {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		srcs[i], sizes[i] = f, st.Size()
	}
	d, err := decodeIDX(imagesPath, srcs[0], sizes[0], labelsPath, srcs[1], sizes[1], classes, rows)
	if err != nil {
		return nil, err
	}
	d.Name = strings.TrimSuffix(filepath.Base(imagesPath), ".gz")
	return d, nil
}

// decodeIDX builds a Dataset from an images and a labels IDX stream, of
// its first rows items (0: all). classes 0 means the largest label + 1 (at
// least 2), over all the labels.
func decodeIDX(imagesName string, images io.ReaderAt, imagesSize int64, labelsName string, labels io.ReaderAt, labelsSize int64, classes, rows int) (*Dataset, error) {
	lf, err := openIDX(labelsName, labels, labelsSize)
	if err != nil {
		return nil, err
	}
	raw, err := lf.readLabels()
	if err != nil {
		return nil, err
	}
	imf, err := openIDX(imagesName, images, imagesSize)
	if err != nil {
		return nil, err
	}
	if imf.dims[0] != len(raw) {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", imagesName, imf.dims[0], labelsName, len(raw))
	}
	maxLabel := int(slices.Max(raw))
	switch {
	case classes == 0 && maxLabel == 0:
		return nil, fmt.Errorf("%s: every label is 0; need at least 2 classes", labelsName)
	case classes == 0:
		classes = maxLabel + 1
	case maxLabel >= classes:
		at := slices.Index(raw, byte(maxLabel))
		return nil, fmt.Errorf("%s: label %d at item %d is not below the %d classes", labelsName, maxLabel, at, classes)
	}
	n := len(raw)
	if rows > 0 && rows < n {
		n, raw = rows, raw[:rows]
	}
	px, features, err := imf.readImages(n)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Pixels: px, N: n, Features: features, ClassNames: make([]string, classes)}
	for c := range d.ClassNames {
		d.ClassNames[c] = strconv.Itoa(c)
	}
	ints := make([]int, len(raw))
	for i, b := range raw {
		ints[i] = int(b)
	}
	d.setLabels(ints, classes)
	return d, nil
}
