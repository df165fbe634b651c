// Command gemm generates the GEMM micro-kernels and the FMA peak loops of
// package kernels with avo:
//
//	go run ./gemm -set microkernel -out ../kernels/microkernel_gen_amd64.s -stubs ../kernels/microkernel_gen_amd64.go -pkg kernels
//	go run ./gemm -set pack -out ../kernels/pack_gen_amd64.s -stubs ../kernels/pack_gen_amd64.go -pkg kernels
//	go run ./gemm -set peak -out ../kernels/peak_gen_amd64.s -stubs ../kernels/peak_gen_amd64.go -pkg kernels
//	go run ./gemm -set gather -out ../kernels/gather_gen_amd64.s -stubs ../kernels/gather_gen_amd64.go -pkg kernels
//
// (run from _gen; `go generate ./kernels` runs all four).
package main

import (
	"flag"
	"fmt"
	"os"

	. "github.com/mmcloughlin/avo/build"
)

func main() {
	set := flag.String("set", "", "what to generate: microkernel, pack, peak or gather")
	flag.Parse()
	ConstraintExpr("amd64,!purego")
	switch *set {
	case "microkernel":
		laneMaskTable()
		for _, t := range tiles {
			microKernel(t)
		}
		for n := 1; n <= narrowMaxN; n++ {
			narrowKernel(n)
		}
	case "pack":
		laneMaskTable()
		for _, w := range packWidths {
			packCopy(w)
			packTranspose(w)
			if w%8 == 0 {
				packCopyMasked(w)
			}
		}
		packCopyAVX512(12)
		packTranspose32AVX512()
	case "peak":
		for _, s := range simds {
			peak(s)
		}
	case "gather":
		gatherLaneMaskTable()
		for _, w := range gatherWidths {
			if w == 6 {
				packCopyGather6()
			} else {
				packCopyGather(w)
			}
			packTransposeGather(w)
		}
		packTransposeGatherBytes6()
		packCopyGatherBytes6()
		for _, w := range gatherWidthsAVX512 {
			packCopyGatherAVX512(w)
			packTransposeGatherAVX512(w)
			packTransposeGatherBytesAVX512(w)
			packCopyGatherBytesAVX512(w)
		}
	default:
		fmt.Fprintf(os.Stderr, "gemm: -set must be microkernel, pack, peak or gather, not %q\n", *set)
		os.Exit(2)
	}
	Generate()
}
