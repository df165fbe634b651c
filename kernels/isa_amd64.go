//go:build amd64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

func detectISA() ISA {
	switch {
	case cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512BW, cpuid.AVX512VL):
		return AVX512
	case cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3):
		return AVX2
	}
	return Generic
}
