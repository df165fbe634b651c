package kernels

import "fmt"

// GEMMBackend is the implementation behind a Context's Sgemm and
// SgemmBiasAct.
type GEMMBackend uint8

const (
	BLIS     GEMMBackend = iota // this package's GEMM (gemm.go), on the active ISA path
	OpenBLAS                    // the system OpenBLAS through cgo; builds with -tags netlib only (netlib.go)
)

var backendNames = [...]string{BLIS: "blis", OpenBLAS: "openblas"}

func (b GEMMBackend) String() string {
	if int(b) < len(backendNames) {
		return backendNames[b]
	}
	return fmt.Sprintf("GEMMBackend(%d)", b)
}

// DefaultBackend is the backend of a new Context: OpenBLAS in builds with
// -tags netlib, BLIS otherwise.
func DefaultBackend() GEMMBackend {
	if netlibSgemm != nil {
		return OpenBLAS
	}
	return BLIS
}

// SetBackend selects the GEMM behind c's Sgemm and SgemmBiasAct. OpenBLAS
// fails in builds without -tags netlib.
func (c *Context) SetBackend(b GEMMBackend) error {
	switch {
	case b == OpenBLAS && netlibSgemm == nil:
		return fmt.Errorf("kernels: GEMM backend %v needs a build with -tags netlib", b)
	case b != BLIS && b != OpenBLAS:
		return fmt.Errorf("kernels: unknown GEMM backend %v", b)
	}
	c.backend = b
	return nil
}

// Backend reports the GEMM behind c's Sgemm and SgemmBiasAct.
func (c *Context) Backend() GEMMBackend { return c.backend }
