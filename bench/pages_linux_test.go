package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/cpuclock"
	"github.com/mlpsweep/mlpsweep/internal/hugepages"
)

// Whether the training rows should sit in 2 MiB pages (issue #10, issue 16;
// the figures are in NOTES.md, "Training rows in 2 MiB pages"). The data
// sets and Synthetic hold their X or pixels in huge pages (internal/hugepages); these
// benchmarks keep the question measurable on other machines.

// hugeMiB is how many MiB of x are in huge pages: AnonHugePages of the
// mapping holding x's first whole 2 MiB page.
func hugeMiB[T any](b *testing.B, x []T) float64 {
	const page = 2 << 20
	start := uintptr(unsafe.Pointer(unsafe.SliceData(x)))
	kb, err := anonHugeKB(start + (page-start%page)%page)
	if err != nil {
		b.Fatal(err)
	}
	return float64(kb) / 1024
}

// anonHugeKB is AnonHugePages of the mapping holding addr in
// /proc/self/smaps.
func anonHugeKB(addr uintptr) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok {
			a, errA := strconv.ParseUint(lo, 16, 64)
			z, errB := strconv.ParseUint(hi, 16, 64)
			if errA == nil && errB == nil {
				in = uint64(addr) >= a && uint64(addr) < z
				continue
			}
		}
		if in && fields[0] == "AnonHugePages:" && len(fields) > 1 {
			return strconv.Atoi(fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no mapping holds %#x in /proc/self/smaps", addr)
}

// BenchmarkEpochPages is BenchmarkEpoch's epoch on the same rows held twice:
// in 2 MiB pages (mnistShaped, from hugepages.Bytes) and in a copy from a
// plain make, in 4 KiB pages unless THP is "always", one epoch of each per op
// in alternating order, each timed by the thread's CPU time so that time
// other jobs take from the core does not count. It reports both times, their
// ratio and the MiB of each array in huge pages.
func BenchmarkEpochPages(b *testing.B) {
	const batch = 128
	b.Run(benchName(Reference, batch), func(b *testing.B) {
		huge := mnistShaped()
		plain := engine.Data{Pixels: slices.Clone(huge.Pixels), Y: huge.Y} // Pixels [rows×features]
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		m := newModel(b, Reference, batch, 1)
		var spent [2]time.Duration // 4 KiB, 2 MiB pages
		epoch := func(i int, d engine.Data) {
			start := cpuclock.Thread()
			if _, err := m.Fit(context.Background(), d, nil, nil); err != nil {
				b.Fatal(err)
			}
			spent[i] += cpuclock.Thread() - start
		}
		epoch(0, plain) // warm-up
		epoch(1, huge)
		spent = [2]time.Duration{}
		n := 0
		for b.Loop() {
			first := n % 2
			epoch(first, [2]engine.Data{plain, huge}[first])
			epoch(1-first, [2]engine.Data{plain, huge}[1-first])
			n++
		}
		b.ReportMetric(spent[0].Seconds()*1e3/float64(n), "ms-4KiB/epoch")
		b.ReportMetric(spent[1].Seconds()*1e3/float64(n), "ms-2MiB/epoch")
		b.ReportMetric(spent[1].Seconds()/spent[0].Seconds(), "2MiB/4KiB")
		b.ReportMetric(hugeMiB(b, huge.Pixels), "MiB-huge")
		b.ReportMetric(hugeMiB(b, plain.Pixels), "MiB-huge-plain")
	})
}

// BenchmarkPageWalk follows a chain of loads through one cache line in each
// 4 KiB page of a span, in random page order, in 4 KiB and in 2 MiB pages:
// the lines (64 B per 4 KiB) stay in L2 up to 16 MiB, so the time per load
// beyond the L2 TLB's reach (Zen 4: 3072 entries, 12 MiB of 4 KiB pages) is
// the address translation's.
func BenchmarkPageWalk(b *testing.B) {
	const n = 128 << 20 / 4 // floats
	plain := make([]float32, n)
	huge := hugepages.Floats(n)
	for _, v := range []struct {
		name string
		x    []float32
	}{{"4KiB", plain}, {"2MiB", huge}} {
		u := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(v.x))), n)
		for _, mib := range []int{8, 16, 128} {
			pages := mib << 20 / 4096
			perm := rand.New(rand.NewPCG(1, 2)).Perm(pages)
			slot := func(i int) uint32 { return uint32(perm[i]*1024 + perm[i]%64*16) } // [float index]
			for i := range pages {
				u[slot(i)] = slot((i + 1) % pages)
			}
			b.Run(fmt.Sprintf("%s/%dMiB", v.name, mib), func(b *testing.B) {
				at := slot(0)
				for b.Loop() {
					for range 1024 {
						at = u[at]
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/load")
				pageWalkSink = at
			})
		}
	}
}

var pageWalkSink uint32
