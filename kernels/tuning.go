package kernels

import (
	"fmt"

	"github.com/klauspost/cpuid/v2"
)

// Tuning is what the GEMM chooses per CPU on one ISA path: how the cache
// blocks are cut, which kernels run the edges, whether B read in place is
// prefetched a panel ahead, and how wide a fused group should be. None of
// it changes a result's bits (KC, which fixes the summation order, belongs
// to the ISA path: blockTable), so a CPU runs any Tuning and gives the
// numbers of every other machine on its path (TestTuningSameBits).
type Tuning struct {
	MC  int `json:"mc"`  // rows of the packed A block, a multiple of MR
	NC  int `json:"nc"`  // columns of the packed B block, a multiple of NR
	AL2 int `json:"al2"` // floats of a whole packed op(A) kept in L2 (loopsResidentA, SgemmBlocks' row groups)
	NCA int `json:"nca"` // columns of B and C per pass beside a resident op(A), a multiple of NR

	// EdgesAVX2 (AVX-512 path) runs the column edges (n ≤ 16) on the AVX2
	// 6×16 kernel instead of the AVX-512 12×16: faster where AVX-512 runs
	// as two 256-bit halves (Zen 4).
	EdgesAVX2 bool `json:"edges_avx2"`
	// NarrowN (AVX-512 path): products with at most NarrowN ≤ 14 columns
	// (op(B) not transposed) run on the 32-row narrow kernels
	// (runNarrow); 0: never.
	NarrowN int `json:"narrow_n"`
	// NextPanel (AVX-512 path) has the first tile of each in-place B
	// micro-panel prefetch the next panel (microKernelsNext).
	NextPanel bool `json:"next_panel"`
	// GroupColumns is the first-layer width (sum of the members' first
	// layer columns) at which fused training groups run fastest; 0: not
	// known, the caller measures it.
	GroupColumns int `json:"group_columns"`
}

// defaultTunings are the Tuning of each ISA path on a CPU the table does
// not know: blockTable's blocks, the AVX-512 kernels on the edges (full
// 512-bit datapaths: Zen 5, Intel), the narrow kernels (every lane used,
// whatever the datapath), the next-panel prefetch (it helps wherever rows
// of B are a page apart), and a fused width to be measured.
var defaultTunings = [...]Tuning{
	Generic: tuningOf(blockTable[Generic]),
	AVX2:    tuningOf(blockTable[AVX2]),
	AVX512:  withNarrow(withNext(tuningOf(blockTable[AVX512]))),
}

func tuningOf(bs blockSizes) Tuning { return Tuning{MC: bs.mc, NC: bs.nc, AL2: bs.al2, NCA: bs.nca} }

func withNext(t Tuning) Tuning { t.NextPanel = true; return t }

func withNarrow(t Tuning) Tuning { t.NarrowN = narrowMaxN; return t }

// cpuModel is one row of cpuTable: the Tuning of the paths that differ from
// defaultTunings on the CPUs with this vendor, family and model (model
// anyModel: every model of the family without a row of its own).
type cpuModel struct {
	vendor        cpuid.Vendor
	family, model int
	name          string
	tunings       map[ISA]Tuning
}

const anyModel = -1

// cpuTable is the per-CPU tuning, exact models first. Each entry says
// which figures chose it (bench/NOTES.md; ../shared/kernel-facts.md is
// the machine table); "not measured here" marks a value carried over
// from a CPU that was.
var cpuTable = []cpuModel{
	{cpuid.AMD, 25, 1, "AMD Zen 3", map[ISA]Tuning{
		// BLIS haswell's blocks: BenchmarkBlockSizes found MC 84–336 and
		// KC 192–512 within noise of them on this CPU (bench/NOTES.md
		// "Block sizes"). Fused width: no figures on Zen 3; measured.
		AVX2: defaultTunings[AVX2],
	}},
	{cpuid.AMD, 25, 17, "AMD Zen 4", map[ISA]Tuning{
		// MC 480: MC 240/480/960 alike at KC 1024 on 1024³ ("AVX-512 KC
		// 1024"); NCA 128: widths 32–512 alike with B in place ("Short-wide
		// products: op(A) resident in L2"); edges on AVX2: m128n10k128
		// +29 % ("column edges … on Zen 4"); next panel: m128n4224k784
		// +6.1 % ("the next micro-panel prefetched"); fused width 512:
		// whole sweeps at 512 columns 2.28–2.34 s of CPU against 2.38–2.42
		// alone and 2.38–2.48 at 1024–4096 ("Fused training: group width");
		// narrow kernels up to 14 columns: m128n10k128 1.29×, m128n10k128TN
		// 1.82× the edge kernels by CPU time ("Narrow products on the
		// 32-row kernel").
		AVX512: {MC: 480, NC: 6144, AL2: 480 * 256, NCA: 128, EdgesAVX2: true, NarrowN: narrowMaxN, NextPanel: true, GroupColumns: 512},
	}},
	{cpuid.AMD, 25, anyModel, "AMD family 25 (Zen 3/Zen 4)", map[ISA]Tuning{
		// Not measured here: every AVX-512 part of family 25 is a Zen 4
		// (two 256-bit halves), so its edges go to AVX2 and its narrow
		// products to the narrow kernels as on model 17.
		AVX512: {MC: 480, NC: 6144, AL2: 480 * 256, NCA: 128, EdgesAVX2: true, NarrowN: narrowMaxN, NextPanel: true},
	}},
	{cpuid.AMD, 26, 2, "AMD Zen 5", map[ISA]Tuning{
		// Blocks not measured here: the L2 (1 MiB) is Zen 4's, so are its
		// blocks. Edges on the 12×16 AVX-512 kernel: a full 512-bit
		// datapath does twice AVX2's work per instruction. Fused width
		// 1024: measured on this CPU by the session that filed issue 16
		// (../shared/kernel-facts.md "Fusion on the Zen 5"): `sweep --preset
		// seed --axes optimizer,activation,init --epochs 2 --workers 2`
		// 18.8 / 16.6 s at --group-columns 1024 and 18.3 / 16.6 s at 4096
		// against 20.1 / 18.8 s unfused; 1024 keeps a group's weights in
		// less cache. Narrow kernels not measured here: every lane of a
		// ZMM used where the 12×16 kernel uses n of 16 (faster on Zen 4 at
		// every n ≤ 14, where the edges ran on AVX2).
		AVX512: {MC: 480, NC: 6144, AL2: 480 * 256, NCA: 128, NarrowN: narrowMaxN, NextPanel: true, GroupColumns: 1024},
	}},
	{cpuid.AMD, 26, anyModel, "AMD family 26 (Zen 5)", map[ISA]Tuning{
		// Not measured here: Zen 5's blocks, edges and narrow kernels, its
		// fused width measured.
		AVX512: {MC: 480, NC: 6144, AL2: 480 * 256, NCA: 128, NarrowN: narrowMaxN, NextPanel: true},
	}},
}

// tuning holds the Tuning in force per ISA path, and tuningSource where
// it came from; activeBlocks are blockTable with it applied. Set once at
// start-up (this CPU's row of cpuTable, then a tuned file: LoadTuneFile);
// SetTuning changes them.
var (
	tuning       [len(blockTable)]Tuning
	tuningSource string
	activeBlocks [len(blockTable)]blockSizes
	// edgesAVX2 is tuning[AVX512].EdgesAVX2, read by the AVX-512 driver.
	edgesAVX2 bool
	// narrowN is tuning[AVX512].NarrowN, read by sgemm.
	narrowN int
)

func init() {
	row, name := tableRow(cpuid.CPU.VendorID, cpuid.CPU.Family, cpuid.CPU.Model)
	for isa := range tuning {
		t := defaultTunings[isa]
		if row != nil {
			if rt, ok := row.tunings[ISA(isa)]; ok {
				t = rt
			}
		}
		applyTuning(ISA(isa), t)
	}
	tuningSource = "table: " + name
}

// tableRow finds the row of cpuTable for a CPU and names what it found.
func tableRow(vendor cpuid.Vendor, family, model int) (*cpuModel, string) {
	numbers := fmt.Sprintf("(%v family %d model %d)", vendor, family, model)
	for _, exact := range []bool{true, false} {
		for i := range cpuTable {
			r := &cpuTable[i]
			if r.vendor == vendor && r.family == family && (r.model == model) == exact && (exact || r.model == anyModel) {
				return r, r.name + " " + numbers
			}
		}
	}
	return nil, "default " + numbers
}

// TableTuning returns the Tuning the table gives this CPU on isa: what a
// process runs without a tuned file.
func TableTuning(isa ISA) Tuning {
	row, _ := tableRow(cpuid.CPU.VendorID, cpuid.CPU.Family, cpuid.CPU.Model)
	if row != nil {
		if t, ok := row.tunings[isa]; ok {
			return t
		}
	}
	return defaultTunings[isa]
}

// RegisterTile returns the micro-tile of isa, MR×NR: MC must be a
// multiple of MR, NC and NCA of NR.
func RegisterTile(isa ISA) (mr, nr int) { return blockTable[isa].mr, blockTable[isa].nr }

// ActiveTuning returns the Tuning in force on isa.
func ActiveTuning(isa ISA) Tuning { return tuning[isa] }

// TuningSource says where the Tuning in force comes from: "table: AMD Zen 4
// (AMD family 25 model 17)", "table: default (…)" for a CPU the table does
// not know, or "tuned: <file>".
func TuningSource() string { return tuningSource }

// GroupColumns is the first-layer width (columns summed over the members)
// of the fastest fused training group on this CPU and the active path, from
// the table or a tuned file; 0: not known, measure it.
func GroupColumns() int { return tuning[ActiveISA()].GroupColumns }

// SetTuning puts t in force on isa, source naming where it came from (see
// TuningSource), after checking it against the path's blocks. Results keep
// their bits. Not safe while kernels run on other goroutines.
func SetTuning(isa ISA, t Tuning, source string) error {
	if int(isa) >= len(tuning) {
		return fmt.Errorf("kernels: unknown ISA %v", isa)
	}
	if err := t.check(isa); err != nil {
		return err
	}
	applyTuning(isa, t)
	tuningSource = source
	return nil
}

// check reports a Tuning the GEMM cannot run on isa.
func (t Tuning) check(isa ISA) error {
	bs := blockTable[isa]
	switch {
	case t.MC < bs.mr || t.MC%bs.mr != 0 || t.MC > 1<<16:
		return fmt.Errorf("kernels: %v tuning: MC %d is not a multiple of MR %d in [%d, 65536]", isa, t.MC, bs.mr, bs.mr)
	case t.NC < bs.nr || t.NC%bs.nr != 0 || t.NC > 1<<20:
		return fmt.Errorf("kernels: %v tuning: NC %d is not a multiple of NR %d in [%d, 1048576]", isa, t.NC, bs.nr, bs.nr)
	case t.NCA < bs.nr || t.NCA%bs.nr != 0 || t.NCA > 1<<20:
		return fmt.Errorf("kernels: %v tuning: NCA %d is not a multiple of NR %d in [%d, 1048576]", isa, t.NCA, bs.nr, bs.nr)
	case t.AL2 < bs.mr || t.AL2 > 1<<26:
		return fmt.Errorf("kernels: %v tuning: AL2 %d outside [%d, 2^26] floats", isa, t.AL2, bs.mr)
	case t.NarrowN < 0 || t.NarrowN > narrowMaxN:
		return fmt.Errorf("kernels: %v tuning: narrow width %d outside [0, %d]", isa, t.NarrowN, narrowMaxN)
	case t.GroupColumns < 0 || t.GroupColumns > 1<<20:
		return fmt.Errorf("kernels: %v tuning: group columns %d outside [0, 1048576]", isa, t.GroupColumns)
	}
	return nil
}

// applyTuning puts a checked t in force on isa.
func applyTuning(isa ISA, t Tuning) {
	tuning[isa] = t
	bs := blockTable[isa]
	bs.mc, bs.nc, bs.al2, bs.nca = t.MC, t.NC, t.AL2, t.NCA
	activeBlocks[isa] = bs
	if isa == AVX512 {
		edgesAVX2, narrowN = t.EdgesAVX2, t.NarrowN
	}
}
