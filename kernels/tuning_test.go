package kernels

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// withTuning puts t in force on isa for a test and returns what undoes it.
func withTuning(t *testing.T, isa ISA, tn Tuning) (restore func()) {
	t.Helper()
	prev, src := tuning[isa], tuningSource
	if err := SetTuning(isa, tn, "test"); err != nil {
		t.Fatal(err)
	}
	return func() { applyTuning(isa, prev); tuningSource = src }
}

// TestTuningSameBits checks what lets a CPU pick its blocks: on every ISA
// path, products give the same bits with the table's Tuning and with
// others (small and large MC and NC, narrow and wide passes, a
// resident budget that splits A into row groups, the edges on the other
// kernel, no next-panel prefetch): Sgemm in both loop orders, transposed,
// with edge tiles and the epilogue, and SgemmBlocks on gathered rows, on
// one and two threads.
func TestTuningSameBits(t *testing.T) {
	shapes := []GEMMShape{
		{M: 128, N: 128, K: 784}, {M: 784, N: 128, K: 128, TransA: true}, {M: 128, N: 10, K: 128},
		{M: 128, N: 10, K: 128, TransA: true}, {M: 70, N: 3, K: 1100},
		{M: 130, N: 300, K: 1100}, {M: 37, N: 530, K: 70, TransB: true}, {M: 600, N: 50, K: 260},
	}
	for isa := Generic; isa <= DetectedISA(); isa++ {
		base := TableTuning(isa)
		bs := blockTable[isa]
		others := []Tuning{
			{MC: bs.mr, NC: bs.nr, AL2: bs.mr, NCA: bs.nr},
			{MC: 3 * bs.mr, NC: 5 * bs.nr, AL2: 3 * bs.mr * 64, NCA: bs.nr, EdgesAVX2: !base.EdgesAVX2, NextPanel: !base.NextPanel, NarrowN: narrowMaxN - base.NarrowN},
			{MC: 100 * bs.mr, NC: 400 * bs.nr, AL2: 1 << 22, NCA: 20 * bs.nr, EdgesAVX2: base.EdgesAVX2, NextPanel: base.NextPanel},
		}
		run := func(tn Tuning, threads int) [][]float32 {
			defer withISA(isa)()
			defer withTuning(t, isa, tn)()
			ctx := NewContext(threads)
			var out [][]float32
			rs := rand.New(rand.NewPCG(1, 2)) // the same operands for every Tuning
			for _, s := range shapes {
				a, b := randVec(rs, s.M*s.K), randVec(rs, s.K*s.N)
				lda, ldb := s.K, s.N
				if s.TransA {
					lda = s.M
				}
				if s.TransB {
					ldb = s.K
				}
				c := randVec(rs, s.M*s.N)
				ctx.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 0.5, a, lda, b, ldb, 1, c, s.N)
				bias := randVec(rs, s.N)
				d := make([]float32, s.M*s.N)
				ctx.SgemmBiasAct(s.TransA, s.TransB, s.M, s.N, s.K, a, lda, b, ldb, bias, Tanh, d, s.N)
				out = append(out, c, d)
			}
			const stored, k = 300, 200
			data := randVec(rs, stored*k)
			rows := rs.Perm(stored)[:150]
			var blocks []ColumnBlock
			for _, w := range []int{128, 10, 33, 256} {
				blocks = append(blocks, ColumnBlock{N: w, B: randVec(rs, k*w), Ldb: w, C: make([]float32, 150*w), Ldc: w, Bias: randVec(rs, w), Act: ReLU})
				out = append(out, blocks[len(blocks)-1].C)
			}
			ctx.SgemmBlocks(false, 150, k, 1, data, k, rows, 0, blocks, true)
			return out
		}
		want := run(base, 1)
		for i, tn := range others {
			for _, threads := range []int{1, 2} {
				got := run(tn, threads)
				for j := range want {
					if !bitsEqual(got[j], want[j]) {
						t.Fatalf("%v: tuning %d %+v, %d threads: result %d differs from the table's tuning %+v", isa, i, tn, threads, j, base)
					}
				}
			}
		}
	}
}

// TestCPUTable checks every row of the table against its paths' blocks,
// and the look-up: an exact model first, then the family's row, else the
// defaults, each named.
func TestCPUTable(t *testing.T) {
	for _, row := range cpuTable {
		for isa, tn := range row.tunings {
			if err := tn.check(isa); err != nil {
				t.Errorf("%s: %v", row.name, err)
			}
		}
	}
	for _, c := range []struct {
		vendor        cpuid.Vendor
		family, model int
		name          string
		edges         bool
		group         int
	}{
		{cpuid.AMD, 25, 17, "AMD Zen 4 (AMD family 25 model 17)", true, 512},
		{cpuid.AMD, 25, 97, "AMD family 25 (Zen 3/Zen 4) (AMD family 25 model 97)", true, 0},
		{cpuid.AMD, 26, 2, "AMD Zen 5 (AMD family 26 model 2)", false, 1024},
		{cpuid.Intel, 6, 143, "default (Intel family 6 model 143)", false, 0},
	} {
		row, name := tableRow(c.vendor, c.family, c.model)
		if name != c.name {
			t.Errorf("tableRow(%v, %d, %d) = %q, want %q", c.vendor, c.family, c.model, name, c.name)
		}
		tn := defaultTunings[AVX512]
		if row != nil {
			tn = row.tunings[AVX512]
		}
		if tn.EdgesAVX2 != c.edges || tn.GroupColumns != c.group {
			t.Errorf("%s: AVX-512 edges %v, group columns %d; want %v, %d", name, tn.EdgesAVX2, tn.GroupColumns, c.edges, c.group)
		}
	}
	if !strings.HasPrefix(TuningSource(), "table: ") && !strings.HasPrefix(TuningSource(), "tuned: ") {
		t.Errorf("TuningSource() = %q", TuningSource())
	}
}

// TestSetTuningChecks: SetTuning refuses blocks the path cannot run and
// keeps the Tuning in force.
func TestSetTuningChecks(t *testing.T) {
	for isa := Generic; isa <= AVX512; isa++ {
		bs := blockTable[isa]
		before := ActiveTuning(isa)
		for _, tn := range []Tuning{
			{MC: bs.mr + 1, NC: bs.nr, AL2: bs.mr, NCA: bs.nr},
			{MC: 0, NC: bs.nr, AL2: bs.mr, NCA: bs.nr},
			{MC: bs.mr, NC: bs.nr * 3 / 2, AL2: bs.mr, NCA: bs.nr},
			{MC: bs.mr, NC: bs.nr, AL2: bs.mr, NCA: 0},
			{MC: bs.mr, NC: bs.nr, AL2: bs.mr, NCA: -bs.nr},
			{MC: bs.mr, NC: bs.nr, AL2: 0, NCA: bs.nr},
			{MC: bs.mr, NC: bs.nr, AL2: bs.mr, NCA: bs.nr, GroupColumns: -1},
			{MC: bs.mr, NC: bs.nr, AL2: bs.mr, NCA: bs.nr, NarrowN: -1},
			{MC: bs.mr, NC: bs.nr, AL2: bs.mr, NCA: bs.nr, NarrowN: narrowMaxN + 1},
		} {
			if err := SetTuning(isa, tn, "bad"); err == nil {
				t.Errorf("%v: SetTuning(%+v) accepted", isa, tn)
			}
		}
		if ActiveTuning(isa) != before {
			t.Errorf("%v: a refused tuning changed the one in force", isa)
		}
	}
	if fmt.Sprint(SetTuning(ISA(9), Tuning{}, "")) == "<nil>" {
		t.Error("SetTuning on an unknown ISA accepted")
	}
}
