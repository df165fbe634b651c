//go:build purego || !amd64

package kernels

func detectISA() ISA { return Generic }
