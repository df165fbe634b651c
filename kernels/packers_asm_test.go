//go:build amd64 && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

type (
	transposeGatherFunc      = func(panel, src []float32, offs []int, cols int)
	copyGatherFunc           = func(dst, src []float32, offs []int, cols, panels int)
	transposeGatherBytesFunc = func(panel []float32, src []uint8, offs []int, cols int, div float32)
	copyGatherBytesFunc      = func(dst []float32, src []uint8, offs []int, cols, panels int, div float32)
)

// sentinelFilled returns n floats, each sentinel.
func sentinelFilled(n int, sentinel float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = sentinel
	}
	return x
}

// packerRuns returns the packer natively (when the CPU has isa) and
// emulated, by name.
func packerRuns(name string, isa ISA, native, emulated any) map[string]any {
	m := map[string]any{name + " emulated": emulated}
	if DetectedISA() >= isa {
		m[name+" native"] = native
	}
	return m
}

// TestGatherPackers checks every gathering packer, natively where the CPU
// runs it and interpreted (so the AVX-512 ones on any CPU), against the
// reference loop of its doc comment, bit for bit, on rows gathered from
// anywhere in the source (its first and last floats included), with the
// floats past what it must write left alone.
func TestGatherPackers(t *testing.T) {
	const ld, stored, sentinel = 803, 40, -7.25
	r := rand.New(rand.NewPCG(21, 22))
	src := make([]float32, stored*ld)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	filled := func(n int) []float32 { return sentinelFilled(n, sentinel) }
	for _, pk := range []struct {
		name    string
		w, step int // panel rows; cols must be a multiple of step
		isa     ISA
		native  transposeGatherFunc
	}{
		{"packTransposeGather6AVX2", 6, 4, AVX2, packTransposeGather6AVX2},
		{"packTransposeGather12AVX2", 12, 8, AVX2, packTransposeGather12AVX2},
		{"packTransposeGather12AVX512", 12, 16, AVX512, packTransposeGather12AVX512},
	} {
		for name, f := range packerRuns(pk.name, pk.isa, pk.native, emuGatherTranspose(t, pk.name)) {
			pack := f.(transposeGatherFunc)
			for _, cols := range []int{0, pk.step, 3 * pk.step, 784 / pk.step * pk.step} {
				offs := make([]int, pk.w)
				for j := range offs {
					offs[j] = r.IntN(stored)*ld + r.IntN(ld-cols+1)
				}
				offs[0], offs[pk.w-1] = 0, stored*ld-cols // the first and the last floats of src
				panel := filled(pk.w*cols + pk.w)
				pack(panel, src, offs, cols)
				for i, x := range panel {
					want := float32(sentinel)
					if p, j := i/pk.w, i%pk.w; p < cols {
						want = src[offs[j]+p]
					}
					if math.Float32bits(x) != math.Float32bits(want) {
						t.Fatalf("%s, cols %d: panel[%d] = %v, want %v", name, cols, i, x, want)
					}
				}
			}
		}
	}
	for _, pk := range []struct {
		name    string
		w, step int // panel width; len(offs) must be a multiple of step
		isa     ISA
		native  copyGatherFunc
	}{
		{"packCopyGather6AVX2", 6, 1, AVX2, packCopyGather6AVX2},
		{"packCopyGather12AVX2", 12, 1, AVX2, packCopyGather12AVX2},
		{"packCopyGather12AVX512", 12, 4, AVX512, packCopyGather12AVX512},
	} {
		for name, f := range packerRuns(pk.name, pk.isa, pk.native, emuGatherCopy(t, pk.name)) {
			pack := f.(copyGatherFunc)
			for _, c := range []struct{ rows, cols, panels int }{{4, 4, 1}, {8, 64, 3}, {64, 64, 65}, {12, 20, 2}, {3, 3, 1}} {
				if c.rows%pk.step != 0 {
					continue
				}
				width := c.panels * pk.w // floats read per gathered row
				offs := make([]int, c.rows)
				for i := range offs {
					offs[i] = r.IntN(stored)*ld + r.IntN(ld-width+1)
				}
				offs[0], offs[c.rows-1] = 0, stored*ld-width
				offs[1%c.rows] = 0 // second of four rows: packCopyGather6AVX2's masked load of it starts before src
				dst, want := filled(c.panels*c.cols*pk.w+pk.w), filled(c.panels*c.cols*pk.w+pk.w)
				pack(dst, src, offs, c.cols, c.panels)
				for p := range offs {
					for q := range c.panels {
						copy(want[(q*c.cols+p)*pk.w:][:pk.w], src[offs[p]+q*pk.w:])
					}
				}
				if !bitsEqual(dst, want) {
					t.Fatalf("%s, rows %d cols %d panels %d: differs from the reference loop", name, c.rows, c.cols, c.panels)
				}
			}
		}
	}
}

// TestGatherBytePackers is TestGatherPackers for the packers of stored
// pixels: every byte value, each float32(b)/PixelMax bit for bit, rows
// gathered from anywhere (the first and the last bytes of src included:
// the emulator fails any read past them), nothing written past the panel.
func TestGatherBytePackers(t *testing.T) {
	const ld, stored, sentinel = 803, 40, -7.25
	r := rand.New(rand.NewPCG(25, 26))
	src := make([]uint8, stored*ld)
	for i := range src {
		src[i] = uint8(r.Uint32())
	}
	filled := func(n int) []float32 { return sentinelFilled(n, sentinel) }
	for _, pk := range []struct {
		name    string
		w, step int
		isa     ISA
		native  transposeGatherBytesFunc
	}{
		{"packTransposeGatherBytes6AVX2", 6, 4, AVX2, packTransposeGatherBytes6AVX2},
		{"packTransposeGatherBytes12AVX512", 12, 16, AVX512, packTransposeGatherBytes12AVX512},
	} {
		for name, f := range packerRuns(pk.name, pk.isa, pk.native, emuGatherTransposeBytes(t, pk.name)) {
			pack := f.(transposeGatherBytesFunc)
			for _, cols := range []int{0, pk.step, 3 * pk.step, 784 / pk.step * pk.step} {
				offs := make([]int, pk.w)
				for j := range offs {
					offs[j] = r.IntN(stored)*ld + r.IntN(ld-cols+1)
				}
				offs[0], offs[pk.w-1] = 0, stored*ld-cols
				panel := filled(pk.w*cols + pk.w)
				pack(panel, src, offs, cols, PixelMax)
				for i, x := range panel {
					want := float32(sentinel)
					if p, j := i/pk.w, i%pk.w; p < cols {
						want = float32(src[offs[j]+p]) / PixelMax
					}
					if math.Float32bits(x) != math.Float32bits(want) {
						t.Fatalf("%s, cols %d: panel[%d] = %v, want %v", name, cols, i, x, want)
					}
				}
			}
		}
	}
	for _, pk := range []struct {
		name   string
		w      int
		isa    ISA
		native copyGatherBytesFunc
	}{
		{"packCopyGatherBytes6AVX2", 6, AVX2, packCopyGatherBytes6AVX2},
		{"packCopyGatherBytes12AVX512", 12, AVX512, packCopyGatherBytes12AVX512},
	} {
		for name, f := range packerRuns(pk.name, pk.isa, pk.native, emuGatherCopyBytes(t, pk.name)) {
			pack := f.(copyGatherBytesFunc)
			for _, c := range []struct{ rows, cols, panels int }{{4, 4, 1}, {8, 64, 3}, {64, 64, 65}, {12, 20, 2}} {
				width := c.panels * pk.w // bytes read per gathered row
				offs := make([]int, c.rows)
				for i := range offs {
					offs[i] = r.IntN(stored)*ld + r.IntN(ld-width+1)
				}
				offs[0], offs[c.rows-1] = 0, stored*ld-width
				dst, want := filled(c.panels*c.cols*pk.w+pk.w), filled(c.panels*c.cols*pk.w+pk.w)
				pack(dst, src, offs, c.cols, c.panels, PixelMax)
				for p := range offs {
					for q := range c.panels {
						for i := range pk.w {
							want[(q*c.cols+p)*pk.w+i] = float32(src[offs[p]+q*pk.w+i]) / PixelMax
						}
					}
				}
				if !bitsEqual(dst, want) {
					t.Fatalf("%s, rows %d cols %d panels %d: differs from the reference loop", name, c.rows, c.cols, c.panels)
				}
			}
		}
	}
}

// TestPackCopyAVX512 checks packCopy12AVX512, natively where the CPU runs
// it and interpreted, against the reference loop of its doc comment, bit
// for bit, with the floats past what it must write left alone, and with
// the last row ending where src does (its masked loads must not read on).
func TestPackCopyAVX512(t *testing.T) {
	const w, sentinel = 12, -7.25
	r := rand.New(rand.NewPCG(23, 24))
	runs := map[string]func(dst, src []float32, ld, cols, panels int){"emulated": emuCopyPanels(t, "packCopy12AVX512")}
	if DetectedISA() >= AVX512 {
		runs["native"] = packCopy12AVX512
	}
	for how, pack := range runs {
		for _, c := range []struct{ cols, panels, pad int }{{4, 1, 0}, {8, 3, 5}, {128, 65, 3}, {784, 2, 0}} {
			ld := c.panels*w + c.pad
			src := make([]float32, (c.cols-1)*ld+c.panels*w)
			for i := range src {
				src[i] = float32(r.NormFloat64())
			}
			dst, want := make([]float32, c.panels*c.cols*w+w), make([]float32, c.panels*c.cols*w+w)
			for i := range dst {
				dst[i], want[i] = sentinel, sentinel
			}
			pack(dst, src, ld, c.cols, c.panels)
			for p := range c.cols {
				for q := range c.panels {
					copy(want[(q*c.cols+p)*w:][:w], src[p*ld+q*w:])
				}
			}
			if !bitsEqual(dst, want) {
				t.Fatalf("packCopy12AVX512 %s, cols %d panels %d ld %d: differs from the reference loop", how, c.cols, c.panels, ld)
			}
		}
	}
}
