package scheduler

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/isatest"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// checkMachines fails unless every unit of r was trained on this host and
// CPU with the ISA path isa (trained, or reused from a run that did).
func checkMachines(t *testing.T, r sweeps.StudyResult, isa kernels.ISA, units int) {
	t.Helper()
	host, _ := os.Hostname()
	want := sweeps.MachineUnits{Machine: sweeps.Machine{Host: host, CPU: kernels.CPU(), ISA: isa.String()},
		Engine: engine.Version + "/" + isa.String(), Units: units}
	if len(r.Machines) != 1 || r.Machines[0] != want {
		t.Errorf("machines %+v, want %+v", r.Machines, want)
	}
	for _, c := range r.Configs {
		for _, u := range c.Units {
			if u.Machine != want.Machine || u.EngineVer != want.Engine {
				t.Errorf("unit %s fold %d: machine %+v engine %s", c.Key, u.Fold, u.Machine, u.EngineVer)
			}
		}
	}
}

// TestUnitsOfAnotherISA: units a study stored while the kernels ran on a
// lower ISA path (a host without the wider one) are reused by the same
// study running on the wider path, with their machine and a warning in the
// result; with StrictEngine they are trained again, bit-identical to a
// fresh run on the wider path, and a later run reuses those first.
func TestUnitsOfAnotherISA(t *testing.T) {
	hi, lo := isatest.TwoPaths(t)
	data := datasets.Blobs(300, 10, 3)
	isatest.Use(t, hi)
	fresh := run(t, parse(t, tinyStudy), data, t.TempDir(), 2)
	checkMachines(t, fresh, hi, 9)
	if fresh.EngineNote != "" {
		t.Errorf("a study run on one machine has an engine note: %q", fresh.EngineNote)
	}

	forEachStore(t, func(t *testing.T, dir, url string) {
		isatest.Use(t, lo)
		old := runOn(t, tinyStudy, data, dir, url, 2)
		checkMachines(t, old, lo, 9)

		isatest.Use(t, hi)
		mixed := runOn(t, tinyStudy, data, dir, url, 2)
		if mixed.UnitsRun != 0 || mixed.UnitsReused != 9 || !sameBits(numbers(mixed), numbers(old)) {
			t.Errorf("non-strict: %d trained, %d reused (want 0, 9); numbers are the stored ones: %v",
				mixed.UnitsRun, mixed.UnitsReused, sameBits(numbers(mixed), numbers(old)))
		}
		checkMachines(t, mixed, lo, 9)
		if mixed.Engine != sweeps.EngineID() || !strings.HasPrefix(mixed.EngineNote, "9 of 9 units were computed under another engine identity than the study's "+sweeps.EngineID()) {
			t.Errorf("engine %s, note %q", mixed.Engine, mixed.EngineNote)
		}
		if got := loadStudy(t, dir, url, "tiny"); got.EngineNote != mixed.EngineNote || !sameBits(numbers(got), numbers(mixed)) {
			t.Errorf("loads back with note %q", got.EngineNote)
		}

		strict, err := RunStudy(context.Background(), parse(t, tinyStudy), data, Options{Dir: dir, Store: openStore(t, dir, url), Workers: 2, StrictEngine: true})
		if err != nil {
			t.Fatal(err)
		}
		if strict.UnitsRun != 9 || strict.UnitsReused != 0 || strict.EngineNote != "" || !sameBits(numbers(strict), numbers(fresh)) {
			t.Errorf("strict: %d trained, %d reused (want 9, 0), note %q; bit-identical to a fresh run: %v",
				strict.UnitsRun, strict.UnitsReused, strict.EngineNote, sameBits(numbers(strict), numbers(fresh)))
		}
		checkMachines(t, strict, hi, 9)

		again := runOn(t, tinyStudy, data, dir, url, 2)
		if again.UnitsReused != 9 || again.EngineNote != "" || !sameBits(numbers(again), numbers(fresh)) {
			t.Errorf("after the strict run: %d reused, note %q; the exact engine's units first: %v",
				again.UnitsReused, again.EngineNote, sameBits(numbers(again), numbers(fresh)))
		}
	})
}
