//go:build netlib

package bench

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// char* openblas_get_config(void);
// char* openblas_get_corename(void);
import "C"

import (
	"fmt"
	"os"

	"gonum.org/v1/netlib/blas/netlib"
)

// With -tags netlib the GEMM measurements include OpenBLAS (through gonum's
// cgo bindings), limited to one thread like every figure here.
func init() {
	KernelsGEMM = "openblas"
	C.openblas_set_num_threads(1)
	coretype := os.Getenv("OPENBLAS_CORETYPE")
	if coretype == "" {
		coretype = "unset"
	}
	extraBackends = append(extraBackends, Backend{
		Name: "openblas",
		Detail: fmt.Sprintf("%s, %s kernels (OPENBLAS_CORETYPE %s), 1 thread",
			C.GoString(C.openblas_get_config()), C.GoString(C.openblas_get_corename()), coretype),
		Sgemm: blasSgemm(netlib.Implementation{}.Sgemm),
	})
}
