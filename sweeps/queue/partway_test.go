package queue_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/cpuclock"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// jobPartwayRE matches a worker's partway line: the job, epoch, epochs,
// percent, step, steps, eta.
var jobPartwayRE = regexp.MustCompile(`^(unit \S+ fold \d of study q \(attempt 1\)): epoch (\d+)/(\d+): (\d+) % \((\d+)/(\d+) steps\)(?:, eta (\S+))?$`)

// TestWorkerPartwayLines: with Options.PartEvery a worker logs, for each
// job, a line partway through its epochs (here after every step: an
// interval of 1 ns), as train and sweep print them: every step but an
// epoch's last, in order, each with the job's time left but the first
// (nothing is past the warm-up then), the ETAs past a quarter of a job
// within a factor of 3 of the time it had left (and a second), on the
// process's CPU clock (one worker: the job's); without PartEvery, none.
// The ETA is the pace of the job's steps after its first on the wall
// clock, which other processes' load moves apart from the wall time left
// as it comes and goes: it is scaled by the CPU time per wall second
// since the job's first step.
func TestWorkerPartwayLines(t *testing.T) {
	url := storetest.Postgres(t)
	st, err := openPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, every := range []time.Duration{time.Nanosecond, 0} {
		// 2 units of 3 epochs of 38 steps (other units in each round),
		// the held-out rows scored after each.
		p, src := planCurves(t, t.TempDir(), 600, 1, 3, "[512, "+strconv.Itoa(512-int(every))+"]", true)
		if e, err := queue.Enqueue(context.Background(), st, p, src, queue.EnqueueOptions{GroupColumns: 128}); err != nil || e.Jobs != 2 {
			t.Fatalf("enqueue: %+v, %v", e, err)
		}
		log := &stampedLog{}
		if _, err := queue.Work(context.Background(), st, queue.Options{Workers: 1, ExitWhenDone: true, TimeoutFactor: 10, MinTimeout: time.Minute,
			PollInterval: 100 * time.Millisecond, Log: log, PartEvery: every}); err != nil {
			t.Fatalf("%v\n%s", err, log.text())
		}
		type at struct{ epoch, step int }
		last, firsts, ends := map[string]at{}, map[string]stamped{}, map[string]stamped{}
		for _, l := range log.lines() {
			if job, _, ok := strings.Cut(l.text, ": accuracy"); ok {
				ends[job] = l
			}
		}
		lines, sample := 0, ""
		for _, l := range log.lines() {
			m := jobPartwayRE.FindStringSubmatch(l.text)
			if m == nil {
				continue
			}
			lines++
			if lines == 100 {
				sample = l.text
			}
			n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
			job, epoch, epochs, step, steps := m[1], n(2), n(3), n(5), n(6)
			want := at{1, 1}
			if prev, ok := last[job]; ok {
				want = at{prev.epoch, prev.step + 1}
				if prev.step == steps-1 {
					want = at{prev.epoch + 1, 1}
				}
			}
			if (at{epoch, step}) != want || epochs != 3 || steps != 38 {
				t.Fatalf("%q after %+v", l.text, last[job])
			}
			last[job] = want
			if m[7] == "" {
				if want != (at{1, 1}) {
					t.Fatalf("%q: no ETA", l.text)
				}
				firsts[job] = l
				continue
			}
			eta, err := time.ParseDuration(m[7])
			pace := float64(l.cpu-firsts[job].cpu) / float64(l.at.Sub(firsts[job].at))
			eta, left, slack := time.Duration(pace*float64(eta)), ends[job].cpu-l.cpu, time.Duration(pace*float64(time.Second))
			quarter := float64(epoch-1)+float64(step)/float64(steps) >= 0.75
			if err != nil || quarter && (eta > 3*left+slack || eta < left/3-slack) {
				t.Errorf("%q: %v on the CPU clock with %v left (%v)", l.text, eta, left, err)
			}
		}
		if every > 0 {
			t.Logf("%d partway lines, e.g. %q", lines, sample)
		}
		switch {
		case every == 0 && lines > 0:
			t.Errorf("%d partway lines without PartEvery", lines)
		case every > 0 && (len(last) != 2 || lines != 2*3*37):
			t.Errorf("%d partway lines of %d jobs, want 2 × 3 epochs × 37 steps:\n%s", lines, len(last), log.text())
		}
	}
}

// stampedLog is a worker's log that notes when each line ends.
type stampedLog struct {
	w      syncWriter
	stamps []stamped
}

type stamped struct {
	text string
	at   time.Time
	cpu  time.Duration // cpuclock.Process
}

func (l *stampedLog) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		l.stamps = append(l.stamps, stamped{line, time.Now(), cpuclock.Process()})
	}
	return n, err
}

func (l *stampedLog) lines() []stamped {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	return append([]stamped(nil), l.stamps...)
}

func (l *stampedLog) text() string { return l.w.String() }
