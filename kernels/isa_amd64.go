//go:build amd64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

func detectISA() ISA {
	switch {
	// The AVX-512 GEMM also runs the AVX2 packers and masks tiles with BMI2's
	// BZHI; every AVX-512 CPU has them, but say so.
	case cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3, cpuid.BMI2):
		return AVX512
	case cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3):
		return AVX2
	}
	return Generic
}
