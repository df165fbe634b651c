// Command elementwise generates the AVX2 and AVX-512 elementwise kernels of
// package kernels: kernels/elementwise_gen_amd64.s and its Go declarations
// kernels/elementwise_gen_amd64.go. Run it through go generate in
// kernels (see kernels/elementwise.go).
//
// Every kernel is written once against the simd type and emitted for both
// paths; each one's doc comment is the reference Go loop, which is also the
// body of its Go twin in package kernels.
package main

import (
	"strings"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

// kernel is one generated function per path: name+path is the symbol.
type kernel struct {
	name      string
	signature string
	doc       string // what it computes, then a tab-indented reference loop
	gen       func(s *simd)
}

var kernels = concat(activationKernels, rowKernels, updateKernels, regularizeKernels)

func concat(lists ...[]kernel) []kernel {
	var all []kernel
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

func main() {
	ConstraintExpr("amd64,!purego") // avo 0.5 takes the +build syntax and writes //go:build amd64 && !purego
	for _, k := range kernels {
		for _, s := range []*simd{avx2, avx512} {
			labelCount = 0
			TEXT(k.name+s.name, NOSPLIT, k.signature)
			Pragma("noescape")
			Doc(strings.Split(k.name+s.name+" "+k.doc, "\n")...)
			k.gen(s)
			VZEROUPPER()
			RET()
		}
	}
	Generate()
}

// slice loads the base pointer of the slice argument name.
func slice(name string) reg.GPVirtual {
	r := GP64()
	Load(Param(name).Base(), r)
	return r
}

// length loads the length of the slice argument name.
func length(name string) reg.GPVirtual {
	r := GP64()
	Load(Param(name).Len(), r)
	return r
}

// integer loads the int argument name.
func integer(name string) reg.GPVirtual {
	r := GP64()
	Load(Param(name), r)
	return r
}
