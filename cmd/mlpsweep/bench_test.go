package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/bench"
)

func TestBenchUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if status := run([]string{"bench", "--help"}, &out, &errOut); status != 0 || !strings.Contains(out.String(), "--quick") {
		t.Errorf("bench --help: status %d, stdout %q", status, out.String())
	}
	out.Reset()
	if status := run([]string{"bench", "extra"}, &out, &errOut); status != 2 || !strings.Contains(errOut.String(), `unexpected argument "extra"`) {
		t.Errorf("bench extra: status %d, stderr %q", status, errOut.String())
	}
}

func TestPrintBenchResult(t *testing.T) {
	var out bytes.Buffer
	printBenchResult(&out, bench.Result{Name: "sgemm-m128n10k128", M: 128, N: 10, K: 128, Backend: "mlpsweep", GFLOPS: 55, PeakGFLOPS: 110})
	printBenchResult(&out, bench.Result{Name: "epoch-784-128-10", Backend: "mlpsweep", GFLOPS: 22, PeakGFLOPS: 110,
		Batch: 128, Rows: 45000, Seconds: 0.5, SamplesPerSecond: 90000})
	want := "sgemm-m128n10k128      mlpsweep      55.0   50.0\n" +
		"\nepoch-784-128-10 (Adam, batch 128, 45000 rows): 0.500 s/epoch, 90000 samples/s, 22.0 GFLOP/s, 20.0% of peak\n"
	if out.String() != want {
		t.Errorf("printed\n%q\nwant\n%q", out.String(), want)
	}
}
