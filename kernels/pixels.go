package kernels

// PixelMax is what an image's stored byte is divided by: byte b stands for
// float32(b)/255 in [0, 1], the value numpy gives for
// x.astype("float32") / 255. SgemmBlocksPixels's assembly divides by it
// (VCVTDQ2PS, VDIVPS: exact, so it agrees with PixelValue bit for bit).
const PixelMax = 255

// pixelValues[b] = float32(b)/PixelMax for every byte b.
var pixelValues = func() (t [256]float32) {
	for b := range t {
		t[b] = float32(b) / PixelMax
	}
	return t
}()

// PixelValue is the float32 an image's byte b stands for, float32(b)/255:
// the one rule by which the data sets (datasets.Dataset.Row, Fingerprint),
// the engine (engine.Data's checks) and the first layer's products
// (SgemmBlocksPixels, checked against it) read pixels.
func PixelValue(b uint8) float32 { return pixelValues[b] }

// PixelsToFloats writes the values of pixels px (PixelValue) into
// x [len(px)].
func PixelsToFloats(x []float32, px []uint8) {
	x = x[:len(px)]
	for i, b := range px {
		x[i] = pixelValues[b]
	}
}
