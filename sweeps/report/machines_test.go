package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestMachinesShown: the tables end with the machines the units ran on
// (one line, or a line each when several) and the engine warning;
// report.html's summary shows both; a study without them shows neither.
func TestMachinesShown(t *testing.T) {
	r := axisStudy()
	var b bytes.Buffer
	if err := WriteTables(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "machines") || strings.Contains(b.String(), "warning") {
		t.Errorf("machines or warning without any:\n%s", b.String())
	}

	one := sweeps.MachineUnits{Machine: sweeps.Machine{Host: "n1", CPU: "AMD EPYC (family 25 model 17)", ISA: "avx512"}, Engine: "1/avx512", Units: 5}
	r.Machines = []sweeps.MachineUnits{one}
	b.Reset()
	if err := WriteTables(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "\nmachines: n1, AMD EPYC (family 25 model 17), avx512: 5 units\n") {
		t.Errorf("tables end:\n%s", b.String())
	}

	r.Machines = append(r.Machines, sweeps.MachineUnits{Engine: "1/avx2", Units: 2})
	r.EngineNote = "2 of 7 units were computed under another engine identity"
	b.Reset()
	if err := WriteTables(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "\nmachines:\n  n1, AMD EPYC (family 25 model 17), avx512: 5 units\n  machine not recorded (engine 1/avx2): 2 units\nwarning: 2 of 7 units were computed under another engine identity\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("tables end:\n%s\nwant:\n%s", b.String(), want)
	}
	html := readReport(t, writeReport(t, r))
	if !strings.Contains(html, "<dt>machines</dt><dd>n1, AMD EPYC (family 25 model 17), avx512: 5 units; machine not recorded (engine 1/avx2): 2 units</dd>") ||
		!strings.Contains(html, "<dt>warning</dt><dd>2 of 7 units were computed under another engine identity</dd>") {
		t.Error("report.html's summary lacks the machines or the warning")
	}
}
