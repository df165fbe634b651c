//go:build purego || !amd64

package kernels

// peakLoops is empty without asm: PeakGFLOPS fails for every ISA.
var peakLoops [AVX512 + 1]peakLoop
