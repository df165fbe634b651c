package kernels

import (
	"fmt"
	"os"
	"strings"
)

// ISA names an instruction-set path of the kernels.
type ISA uint8

const (
	Generic ISA = iota // portable Go
	AVX2               // AVX2 + FMA3, 256-bit
	AVX512             // AVX-512 F/DQ/BW/VL, 512-bit
)

var isaNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

func (i ISA) String() string {
	if int(i) < len(isaNames) {
		return isaNames[i]
	}
	return fmt.Sprintf("ISA(%d)", i)
}

// ParseISA reads "generic", "avx2" or "avx512".
func ParseISA(s string) (ISA, error) {
	for i, name := range isaNames {
		if strings.EqualFold(s, name) {
			return ISA(i), nil
		}
	}
	return Generic, fmt.Errorf("unknown ISA %q (want generic, avx2 or avx512)", s)
}

// detectedISA is the best path this CPU and build support, read once.
var detectedISA = detectISA()

// activeISA is the path the kernels take; MLPSWEEP_ISA or SetISA lower it.
var activeISA = isaFromEnv()

// isaFromEnv applies MLPSWEEP_ISA once at start-up. A bad value is reported
// on stderr and ignored, since package initialization cannot return errors.
func isaFromEnv() ISA {
	s := os.Getenv("MLPSWEEP_ISA")
	if s == "" {
		return detectedISA
	}
	isa, err := ParseISA(s)
	if err == nil && isa > detectedISA {
		err = fmt.Errorf("this CPU or build supports at most %v", detectedISA)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlpsweep: ignoring MLPSWEEP_ISA=%s: %v\n", s, err)
		return detectedISA
	}
	return isa
}

// DetectedISA reports the best path this CPU and build support.
func DetectedISA() ISA { return detectedISA }

// ActiveISA reports the path the kernels take now.
func ActiveISA() ISA { return activeISA }

// SetISA forces a path, for tests and benchmarks; it fails if the CPU or the
// build cannot run it. Not safe while kernels run on other goroutines.
func SetISA(isa ISA) error {
	if isa > detectedISA {
		return fmt.Errorf("kernels: %v not available (this CPU or build supports at most %v)", isa, detectedISA)
	}
	activeISA = isa
	return nil
}
