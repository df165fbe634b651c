//go:build amd64 && !purego

package kernels

// peakFMAs is the number of vector FMAs per iteration of the peak loops
// (peakAccumulators in _gen/gemm/peak.go).
const peakFMAs = 12

// peakLoops holds the FMA peak loop of each vector ISA path: peakFMAs
// FMAs of 8 or 16 lanes, 2 flops per lane.
var peakLoops = [...]peakLoop{
	AVX2:   {peakAVX2, peakFMAs * 8 * 2},
	AVX512: {peakAVX512, peakFMAs * 16 * 2},
}
