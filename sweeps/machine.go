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

// Reuse says which of a unit's stored results a study takes for it: the
// one rule (Better) that every reader follows, so that a local run, a
// shard, the queue's enqueuer and pruned coordinator, report, status,
// the live page and merge's counts take the same result of each unit. A unit has at most
// one stored row per engine identity ("<version>/<ISA path>").
type Reuse struct {
	// Strict takes only results of the study's own engine identity
	// (--strict-engine): bit-identical to a run on one kind of machine.
	Strict bool
	// Pruned says the study has a pruner: a unit stored pruned under its
	// own identity is then its result (the curve its pruner decided
	// from), before one done under another ISA path. A study without a
	// pruner trains a pruned unit again, and takes another path's done
	// one instead.
	Pruned bool
	// Study names the study reading ("": none in particular). A unit
	// stored pruned that it trained further and failed is failed for it
	// (that retrain's error), while the stored curve stays the others'
	// result: a failure never replaces a finished result in a store.
	Study string
}

// Stored is one stored row of a unit, as Reuse chooses among them.
type Stored struct {
	State  string // running, done, pruned, failed
	Engine string // the engine identity (EngineID) that computed it
}

// Rank ranks a unit's stored row s for a study under engine identity
// want: lower first; -1 when the study may not take it.
//
//	0: its own identity's, done; or pruned when r.Pruned
//	1: unless r.Strict, done under another ISA path of want's engine
//	   version (Reusable): the same training, not bit-identical (noted)
//	2: its own otherwise (failed, pruned without a pruner, running):
//	   what is stored, which the study trains again
func (r Reuse) Rank(s Stored, want string) int {
	switch {
	case s.Engine == want && (s.State == "done" || s.State == "pruned" && r.Pruned):
		return 0
	case s.Engine == want:
		return 2
	case s.State == "done" && Reusable(s.Engine, want, r.Strict):
		return 1
	}
	return -1
}

// Better reports whether r takes row a rather than b (the zero Stored:
// none yet) for a unit under engine identity want: a usable a of a lower
// Rank, or of the same rank and a first engine identity.
func (r Reuse) Better(a, b Stored, want string) bool {
	ra, rb := r.Rank(a, want), r.Rank(b, want)
	switch {
	case ra < 0:
		return false
	case rb < 0:
		return true
	case ra != rb:
		return ra < rb
	}
	return a.Engine < b.Engine
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
