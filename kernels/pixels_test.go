package kernels

import (
	"math"
	"testing"
)

// TestPixelValue pins the pixel rule: byte b is float32(b)/255, correctly
// rounded (float64's quotient rounded once more to float32 is the same: 53
// ≥ 2·24+2 bits), for every byte, and PixelsToFloats writes just that.
func TestPixelValue(t *testing.T) {
	px := make([]uint8, 256)
	for b := range px {
		px[b] = uint8(b)
	}
	x := make([]float32, 257) // one more than px: left alone
	x[256] = -1
	PixelsToFloats(x, px)
	for b := range 256 {
		v := PixelValue(uint8(b))
		if v != float32(b)/255 || v != float32(float64(b)/255) || math.Float32bits(x[b]) != math.Float32bits(v) {
			t.Fatalf("byte %d: PixelValue %v, PixelsToFloats %v, want %v", b, v, x[b], float32(float64(b)/255))
		}
	}
	if x[256] != -1 || PixelValue(0) != 0 || PixelValue(255) != 1 {
		t.Fatalf("x[256] %v, PixelValue(0) %v, PixelValue(255) %v", x[256], PixelValue(0), PixelValue(255))
	}
}
