package sweeps

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// Machine is where a unit was trained. Units stored before mlpsweep
// recorded it have empty fields.
type Machine struct {
	Host string `json:"host"` // host name
	CPU  string `json:"cpu"`  // kernels.CPU: model name, family and model
	ISA  string `json:"isa"`  // kernels path: generic, avx2, avx512
}

var hostName = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
})

// ThisMachine is the machine this process trains on, with the kernels'
// active ISA path.
func ThisMachine() Machine {
	return Machine{Host: hostName(), CPU: kernels.CPU(), ISA: kernels.ActiveISA().String()}
}

// EngineVersionOf is the engine version of an engine identity (EngineID):
// "1" of "1/avx512".
func EngineVersionOf(engineID string) string {
	v, _, _ := strings.Cut(engineID, "/")
	return v
}

// Reusable reports whether a unit computed under engine identity stored may
// stand for one under want: always under the same identity; unless strict,
// also under the same engine version on another ISA path, whose float32
// sums round in another order (the same training, not bit for bit the same
// numbers); never across engine versions.
func Reusable(stored, want string, strict bool) bool {
	return stored == want || (!strict && EngineVersionOf(stored) == EngineVersionOf(want))
}

// MachineUnits counts a study's units trained on one machine under one
// engine identity.
type MachineUnits struct {
	Machine
	Engine string `json:"engine"` // EngineID of the units
	Units  int    `json:"units"`
}

// String is "vm, AMD EPYC (family 25 model 17), avx512: 12 units"; a
// machine that was not recorded shows its engine.
func (m MachineUnits) String() string {
	where := "machine not recorded (engine " + m.Engine + ")"
	if m.Host != "" {
		where = m.Host + ", " + m.CPU + ", " + m.ISA
	}
	return fmt.Sprintf("%s: %d units", where, m.Units)
}

// countMachines counts units by machine and engine, most units first.
func countMachines(units []UnitResult) []MachineUnits {
	ms := []MachineUnits{}
	for _, u := range units {
		i := slices.IndexFunc(ms, func(m MachineUnits) bool { return m.Machine == u.Machine && m.Engine == u.EngineVer })
		if i < 0 {
			ms = append(ms, MachineUnits{Machine: u.Machine, Engine: u.EngineVer})
			i = len(ms) - 1
		}
		ms[i].Units++
	}
	slices.SortFunc(ms, func(a, b MachineUnits) int {
		return cmp.Or(b.Units-a.Units, cmp.Compare(a.Engine, b.Engine), cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.CPU, b.CPU), cmp.Compare(a.ISA, b.ISA))
	})
	return ms
}

// engineNote warns when some units were computed under another engine
// identity than the study's engine (reused from a host with another ISA
// path); "" when none was.
func engineNote(engine string, ms []MachineUnits) string {
	counts := map[string]int{}
	var others []string
	total, other := 0, 0
	for _, m := range ms {
		total += m.Units
		if m.Engine == engine {
			continue
		}
		if counts[m.Engine] == 0 {
			others = append(others, m.Engine)
		}
		counts[m.Engine] += m.Units
		other += m.Units
	}
	if other == 0 {
		return ""
	}
	slices.Sort(others)
	parts := make([]string, len(others))
	for i, e := range others {
		parts[i] = fmt.Sprintf("%s: %d", e, counts[e])
	}
	return fmt.Sprintf("%d of %d units were computed under another engine identity than the study's %s (%s), on hosts with another ISA path: "+
		"they are not bit-identical to units of %s (training rounds differently, so accuracies can differ slightly); sweep --strict-engine trains them again under %s",
		other, total, engine, strings.Join(parts, ", "), engine, engine)
}
