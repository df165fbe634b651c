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

	"github.com/mlpsweep/mlpsweep/kernels"
)

// With -tags netlib the GEMM measurements include OpenBLAS (the kernels'
// OpenBLAS backend, as the engine uses it in this build), limited to one
// thread like every figure here.
func init() {
	C.openblas_set_num_threads(1)
	coretype := os.Getenv("OPENBLAS_CORETYPE")
	if coretype == "" {
		coretype = "unset"
	}
	extraBackends = append(extraBackends, kernelsBackend(kernels.OpenBLAS,
		fmt.Sprintf("%s, %s kernels (OPENBLAS_CORETYPE %s), 1 thread",
			C.GoString(C.openblas_get_config()), C.GoString(C.openblas_get_corename()), coretype)))
}
