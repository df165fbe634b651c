package kernels

import (
	"strings"
	"testing"
)

// TestSetBackend checks the backend choice: the build's default on a new
// Context, BLIS always available, OpenBLAS only with -tags netlib, unknown
// values refused without changing the Context.
func TestSetBackend(t *testing.T) {
	ctx := NewContext(1)
	if got, want := ctx.Backend(), DefaultBackend(); got != want {
		t.Fatalf("new Context backend %v, want %v", got, want)
	}
	if err := ctx.SetBackend(BLIS); err != nil || ctx.Backend() != BLIS {
		t.Fatalf("SetBackend(BLIS) = %v, backend %v", err, ctx.Backend())
	}
	err := ctx.SetBackend(OpenBLAS)
	if netlibSgemm == nil {
		if err == nil || !strings.Contains(err.Error(), "-tags netlib") || ctx.Backend() != BLIS {
			t.Fatalf("SetBackend(OpenBLAS) without netlib = %v, backend %v", err, ctx.Backend())
		}
	} else if err != nil || ctx.Backend() != OpenBLAS {
		t.Fatalf("SetBackend(OpenBLAS) = %v, backend %v", err, ctx.Backend())
	}
	before := ctx.Backend()
	if err := ctx.SetBackend(GEMMBackend(7)); err == nil || ctx.Backend() != before {
		t.Fatalf("SetBackend(7) = %v, backend %v", err, ctx.Backend())
	}
	if s := GEMMBackend(7).String(); s != "GEMMBackend(7)" {
		t.Errorf("String = %q", s)
	}
}
