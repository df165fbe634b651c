package engine

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
)

// Model files use the safetensors layout (github.com/huggingface/safetensors),
// so that other ecosystems read the weights without our code:
//
//	8 bytes    N, the header's length, little-endian uint64 (N ≤ 100,000,000)
//	N bytes    a JSON object starting with '{', padded with spaces (0x20):
//	           {"__metadata__": {string: string, …},
//	            "NAME": {"dtype": "F32", "shape": [d, …], "data_offsets": [begin, end]}, …}
//	rest       the tensors' bytes, little-endian, row-major; offsets are
//	           relative to the start of this part, and the tensors cover it
//	           exactly, without gaps or overlap
//
// The Go package that implements the format (nlpodyssey/safetensors) has
// no release and no recent upkeep, and copies tensors through its own view
// types; the format is small, so this file writes and reads it itself,
// checking every rule the format states (safetensors_test.go).

// stMaxHeader is the format's limit on N, against huge JSON allocations.
const stMaxHeader = 100_000_000

// stTensor is one tensor of a file: float32 (dtype F32) or, for the row
// order in checkpoints, int64 (I64). Exactly one of f32 and i64 is set.
type stTensor struct {
	name  string
	shape []int
	f32   []float32
	i64   []int64
	begin int64 // read files: where its data starts (file order)
}

// stDtypes maps the dtypes this package reads to their byte sizes.
var stDtypes = map[string]int{"F32": 4, "I64": 8}

func (t *stTensor) dtype() string {
	if t.i64 != nil {
		return "I64"
	}
	return "F32"
}

func (t *stTensor) bytes() int {
	if t.i64 != nil {
		return 8 * len(t.i64)
	}
	return 4 * len(t.f32)
}

type stInfo struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// writeSafetensors writes tensors, in the given order, and meta. The header
// is padded to a multiple of 8 bytes so that the data part starts aligned.
func writeSafetensors(w io.Writer, tensors []stTensor, meta map[string]string) error {
	var h bytes.Buffer
	h.WriteString(`{"__metadata__":`)
	b, err := json.Marshal(meta) // keys sorted
	if err != nil {
		return err
	}
	h.Write(b)
	var off int64
	for i := range tensors {
		t := &tensors[i]
		n := 1
		for _, d := range t.shape {
			n *= d
		}
		if n != len(t.f32)+len(t.i64) {
			return fmt.Errorf("safetensors: tensor %q has shape %v but %d values", t.name, t.shape, len(t.f32)+len(t.i64))
		}
		name, _ := json.Marshal(t.name)
		info, _ := json.Marshal(stInfo{Dtype: t.dtype(), Shape: t.shape, DataOffsets: [2]int64{off, off + int64(t.bytes())}})
		fmt.Fprintf(&h, ",%s:%s", name, info)
		off += int64(t.bytes())
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for i := range tensors {
		t := &tensors[i]
		for _, v := range t.f32 {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		for _, v := range t.i64 {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err = w.Write(buf)
	return err
}

// readSafetensors parses a whole file held in b, checking the format's
// rules: header length within the limit and the file, a JSON object
// starting with '{' (trailing spaces allowed), no duplicate names, a string
// map for __metadata__, known dtypes, non-negative shapes whose byte size
// equals the offsets' span, and offsets that tile the data part exactly.
// Values are not checked (the format allows NaN; the model loader refuses it).
func readSafetensors(b []byte) (map[string]stTensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("%d bytes is too short for a safetensors file (the header length alone takes 8)", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > stMaxHeader {
		return nil, nil, fmt.Errorf("header length %d exceeds the format's limit of %d bytes (not a safetensors file?)", n, stMaxHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("header length %d runs past the end of the %d-byte file (truncated?)", n, len(b))
	}
	header, data := b[8:8+n], b[8+n:]
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, errors.New("header does not start with '{': not a safetensors file")
	}
	header = bytes.TrimRight(header, " ")
	infos, meta, err := parseHeader(header)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(infos))
	for name := range infos {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := infos[a].DataOffsets, infos[b].DataOffsets
		return cmp.Or(cmp.Compare(ia[0], ib[0]), cmp.Compare(ia[1], ib[1]), cmp.Compare(a, b))
	})
	tensors := make(map[string]stTensor, len(infos))
	var next int64
	for _, name := range names {
		info := infos[name]
		size, ok := stDtypes[info.Dtype]
		if !ok {
			return nil, nil, fmt.Errorf("tensor %q: dtype %q (this reader takes F32 and I64)", name, info.Dtype)
		}
		count := uint64(1)
		for _, d := range info.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("tensor %q: shape %v has a negative dimension", name, info.Shape)
			}
			hi, lo := bits.Mul64(count, uint64(d))
			if hi != 0 || lo > uint64(len(data)) {
				return nil, nil, fmt.Errorf("tensor %q: shape %v is larger than the file", name, info.Shape)
			}
			count = lo
		}
		begin, end := info.DataOffsets[0], info.DataOffsets[1]
		switch {
		case begin != next:
			return nil, nil, fmt.Errorf("tensor %q: data starts at offset %d, want %d (tensors must tile the data without gaps or overlap)", name, begin, next)
		case end < begin || end > int64(len(data)):
			return nil, nil, fmt.Errorf("tensor %q: data offsets [%d, %d] are outside the %d data bytes (truncated?)", name, begin, end, len(data))
		case uint64(end-begin) != count*uint64(size):
			return nil, nil, fmt.Errorf("tensor %q: %d data bytes, but dtype %s and shape %v take %d", name, end-begin, info.Dtype, info.Shape, count*uint64(size))
		}
		next = end
		raw := data[begin:end]
		t := stTensor{name: name, shape: info.Shape, begin: begin}
		if info.Dtype == "I64" {
			t.i64 = make([]int64, count)
			for i := range t.i64 {
				t.i64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		} else {
			t.f32 = make([]float32, count)
			for i := range t.f32 {
				t.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
		tensors[name] = t
	}
	if next != int64(len(data)) {
		return nil, nil, fmt.Errorf("the tensors cover %d of the %d data bytes (trailing bytes or a missing tensor)", next, len(data))
	}
	return tensors, meta, nil
}

// inFileOrder lists the tensors of a read file in the order of their data.
func inFileOrder(tensors map[string]stTensor) []stTensor {
	ts := make([]stTensor, 0, len(tensors))
	for _, t := range tensors {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b stTensor) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.bytes(), b.bytes()), cmp.Compare(a.name, b.name))
	})
	return ts
}

// readSafetensorsFile reads the file at path into memory, refusing before
// it allocates a file whose header announces more than maxBytes in all or
// a size other than the file's: it reads the 8-byte length and the header
// first, then exactly the data bytes the header's offsets cover. A device
// that never ends (/dev/zero) or a huge sparse file fails at once.
func readSafetensorsFile(path string, maxBytes int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(-1) // unknown: a pipe or device
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return nil, fmt.Errorf("too short for a safetensors file (the header length alone takes 8 bytes): %w", err)
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	switch {
	case hlen > stMaxHeader:
		return nil, fmt.Errorf("header length %d exceeds the format's limit of %d bytes (not a safetensors file?)", hlen, stMaxHeader)
	case size >= 0 && hlen > uint64(size-8):
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file (truncated?)", hlen, size)
	}
	b := append(make([]byte, 0, 8+min(hlen, 1<<20)), n[:]...)
	// ReadAll grows with what arrives: a short stream allocates no more.
	header, err := io.ReadAll(io.LimitReader(f, int64(hlen)))
	if err != nil {
		return nil, err
	}
	if uint64(len(header)) != hlen {
		return nil, fmt.Errorf("header length %d runs past the end of the file after %d bytes (truncated?)", hlen, len(header))
	}
	b = append(b, header...)
	if len(header) == 0 || header[0] != '{' {
		return nil, errors.New("header does not start with '{': not a safetensors file")
	}
	infos, _, err := parseHeader(bytes.TrimRight(header, " "))
	if err != nil {
		return nil, err
	}
	var span int64
	for name, info := range infos {
		if info.DataOffsets[1] < 0 || info.DataOffsets[1] > maxBytes {
			return nil, fmt.Errorf("tensor %q: data offsets %v exceed the limit of %d bytes for a model file", name, info.DataOffsets, maxBytes)
		}
		span = max(span, info.DataOffsets[1])
	}
	total := 8 + int64(hlen) + span
	switch {
	case total > maxBytes:
		return nil, fmt.Errorf("the header announces %d bytes in all, over the limit of %d for a model file", total, maxBytes)
	case size >= 0 && total != size:
		return nil, fmt.Errorf("the header announces %d bytes in all but the file has %d (truncated, or bytes appended)", total, size)
	}
	if size >= 0 { // the size is known: one buffer, filled in place
		b = append(make([]byte, 0, total), b...)
		b = b[:total]
		if _, err := io.ReadFull(f, b[8+hlen:]); err != nil {
			return nil, fmt.Errorf("reading %d data bytes: %w", span, err)
		}
		return b, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, span+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != span {
		return nil, fmt.Errorf("the header announces %d data bytes but the file holds %d (truncated, or bytes appended)", span, len(data))
	}
	return append(b, data...), nil
}

// parseHeader decodes the header object key by key, so that a duplicate
// name is an error rather than silently the last one.
func parseHeader(header []byte) (map[string]stInfo, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("header is not a JSON object")
	}
	infos := map[string]stInfo{}
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("header JSON: %v", err)
		}
		name := tok.(string) // object keys are strings
		if seen[name] {
			return nil, nil, fmt.Errorf("header names %q twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("header JSON: %v", err)
		}
		if name == "__metadata__" {
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ is not a map of strings to strings: %v", err)
			}
			continue
		}
		var info stInfo
		strict := json.NewDecoder(bytes.NewReader(raw))
		strict.DisallowUnknownFields()
		if err := strict.Decode(&info); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %v", name, err)
		}
		if info.Dtype == "" || info.Shape == nil || !bytes.Contains(raw, []byte(`"data_offsets"`)) {
			return nil, nil, fmt.Errorf("tensor %q: want dtype, shape and data_offsets", name)
		}
		infos[name] = info
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("header JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("header has bytes after its JSON object other than space padding")
	}
	if meta == nil {
		meta = map[string]string{}
	}
	return infos, meta, nil
}
