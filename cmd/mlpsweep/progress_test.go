package main

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/internal/cpuclock"
	"github.com/mlpsweep/mlpsweep/internal/fixture"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// TestETA: the ETA extrapolates the rate of the work done to the work
// forecast, marks an expectation with ~, gives a median pruner's bounds
// as a range, and is empty before any work and after the last.
func TestETA(t *testing.T) {
	s := scheduler.Status{Elapsed: 10 * time.Second, WorkDone: 100, WorkLeast: 150, WorkToRun: 400, WorkMost: 400, WorkFull: 800, Timed: true}
	for _, c := range []struct {
		f    prune.Forecast
		done int64
		want string
	}{
		{prune.Schedule, 100, ", eta 30s"},
		{prune.Expected, 100, ", eta ~30s"},
		{prune.Bounded, 100, ", eta 5s–30s"},
		{prune.Bounded, 200, ", eta 0s–10s"},
		{prune.Schedule, 0, ""},
		{prune.Schedule, 400, ""},
		{prune.Bounded, 400, ""},
	} {
		s.Forecast, s.WorkDone = c.f, c.done
		if got := eta(s); got != c.want {
			t.Errorf("forecast %v, %d done: %q, want %q", c.f, c.done, got, c.want)
		}
	}
	// 100 done in 10 s of which 5 s were the warm-up (Status.Warmup): 300
	// left take 15 s, not 30; none while a first step is all that was
	// timed.
	w := scheduler.Status{Elapsed: 10 * time.Second, Warmup: 5 * time.Second, WorkDone: 100, WorkLeast: 400, WorkToRun: 400, WorkMost: 400, Timed: true}
	if got := eta(w); got != ", eta 15s" {
		t.Errorf("with a warm-up: %q, want %q", got, ", eta 15s")
	}
	if w.Timed = false; eta(w) != "" {
		t.Errorf("a first step alone timed: %q, want none", eta(w))
	}
	s.Forecast = prune.Bounded
	if got, want := forecastLine(s, "median", false), "pruner median: between 19 % and 50 % of the work"; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("median's forecast line %q", got)
	}
	if got := forecastLine(s, "", false); got != "" {
		t.Errorf("forecast line without pruner or sampler: %q", got)
	}
}

// TestUnitLineOfADivergedUnit: a unit that diverged in its first epoch
// trained no whole epoch, so its line states no rate. Defect: "0 samples/s
// (diverged at epoch 1, step 3)".
func TestUnitLineOfADivergedUnit(t *testing.T) {
	e := scheduler.Event{Point: &study.Point{Axis: "lr", Value: "1e+12"}, Fold: 1,
		Unit: sweeps.UnitResult{Accuracy: 0.096, Seconds: 0.02, Diverged: true, Error: "diverged at epoch 1, step 3"}}
	if got, want := unitLine(e), "lr=1e+12 fold 1: accuracy 0.0960, 0.0 s (diverged at epoch 1, step 3)"; got != want {
		t.Errorf("unitLine = %q, want %q", got, want)
	}
	e.Unit = sweeps.UnitResult{Accuracy: 0.9, Seconds: 2, Samples: 1000}
	if got, want := unitLine(e), "lr=1e+12 fold 1: accuracy 0.9000, 2.0 s, 500 samples/s"; got != want {
		t.Errorf("unitLine = %q, want %q", got, want)
	}
}

// TestEpochProgressETA: partway through an epoch the ETA counts the part
// done of every fold's epoch in flight (sweeps.ETA over epochs); a plain
// line each, or one line redrawn in place on a terminal, ended by the
// epoch's line.
func TestEpochProgressETA(t *testing.T) {
	var b strings.Builder
	e := newEpochProgress(&b, "", 2, 4, 8, false)
	e.clock = sweeps.NewClock(time.Now().Add(-10 * time.Second))
	e.epoch(0, engine.EpochStats{Epoch: 1, Loss: 0.5, Accuracy: 0.75, ValLoss: math.NaN(), Seconds: 2, SamplesPerSecond: 100})
	e.partwayLine(1, engine.EpochPart{Epoch: 1, Step: 50, Steps: 100})
	e.partwayLine(0, engine.EpochPart{Epoch: 2, Step: 25, Steps: 100})
	// 1 + 0.5 epochs in 10 s, 6.5 left: 43 s; then 1.75 done, 6.25 left: 36 s.
	want := "fold 1/2 epoch 1/4 loss 0.5000 acc 0.7500 2.0s 100 samples/s, eta 1m10s\n" +
		"fold 2/2 epoch 1/4: 50 % (50/100 steps), eta 43s\n" +
		"fold 1/2 epoch 2/4: 25 % (25/100 steps), eta 36s\n"
	if b.String() != want {
		t.Errorf("lines\n%s\nwant\n%s", b.String(), want)
	}

	b.Reset()
	e = newEpochProgress(&b, "refit ", 1, 2, 2, true)
	e.clock = sweeps.NewClock(time.Now().Add(-10 * time.Second))
	e.partwayLine(0, engine.EpochPart{Epoch: 1, Step: 1, Steps: 4})
	// Its second step took 1 s, the time before 8 s more: warm-up.
	e.partwayLine(0, engine.EpochPart{Epoch: 1, Step: 2, Steps: 4, Warm: time.Second})
	e.epoch(0, engine.EpochStats{Epoch: 1, ValLoss: math.NaN(), Seconds: 20, SamplesPerSecond: 5})
	e.partwayLine(0, engine.EpochPart{Epoch: 2, Step: 3, Steps: 4})
	e.clearLine()
	// No ETA from the first step alone; then 0.5 epoch in 10 s less 8 s
	// of warm-up, 1.5 left: 6 s; 1 epoch, 1 left: 2 s.
	want = "\r\033[Krefit epoch 1/2: 25 % (1/4 steps)" +
		"\r\033[Krefit epoch 1/2: 50 % (2/4 steps), eta 6s" +
		"\r\033[Krefit epoch 1/2 loss 0.0000 acc 0.0000 20.0s 5 samples/s, eta 2s\n" +
		"\r\033[Krefit epoch 2/2: 75 % (3/4 steps), eta 0s" +
		"\r\033[K"
	if b.String() != want {
		t.Errorf("terminal output\n%q\nwant\n%q", b.String(), want)
	}
}

// partwayRE matches a partway line: prefix, fold, epoch, percent, step,
// steps, eta.
var partwayRE = regexp.MustCompile(`^(refit )?(?:fold (\d+)/\d+ )?epoch (\d+)/(\d+): (\d+) % \((\d+)/(\d+) steps\)(?:, eta (\S+))?$`)

// TestPartwayLines drives real trainings (train on a validation split, on
// folds in parallel, with --save, on MNIST's test set, and a sweep's
// refit) with the partway lines asked after every step, and checks them:
// every step but an epoch's last has its line, in order for each fold,
// with its share of the epoch and an ETA that fits the run's time.
func TestPartwayLines(t *testing.T) {
	defer func(every time.Duration) { partLines = every }(partLines)
	partLines = time.Nanosecond
	dir := t.TempDir()
	csv := filepath.Join(dir, "rows.csv")
	fixture.BlobsCSV(t, csv, 1500, 3, 4)
	studyFile := writeCSVStudy(t, dir)
	testCSV := writeCSVTest(t, dir, 90)
	for _, c := range []struct {
		name   string
		args   []string
		folds  int
		epochs int
		steps  int // each epoch's
	}{
		{"val-split", []string{"train", "--csv", csv, "--epochs", "3", "--batch", "8", "--hidden", "64", "--threads", "1"}, 1, 3, 150},
		{"folds", []string{"train", "--csv", csv, "--folds", "2", "--epochs", "2", "--batch", "8", "--hidden", "64", "--threads", "2"}, 2, 2, 94},
		{"save", []string{"train", "--csv", csv, "--epochs", "2", "--batch", "8", "--hidden", "64", "--save", filepath.Join(dir, "m.safetensors")}, 1, 2, 150},
		{"mnist", []string{"train", "--limit-rows", "2000", "--epochs", "2", "--batch", "16", "--hidden", "32"}, 1, 2, 125},
		{"refit", []string{"sweep", studyFile, "--out", filepath.Join(dir, "out"), "--refit", "--test", testCSV}, 1, 2, 15},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			code, _, stderr := runCmd(c.args...)
			wall := time.Since(start)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			type at struct{ epoch, step int }
			last := map[int]at{}
			lines, sample := 0, ""
			for _, l := range strings.Split(stderr, "\n") {
				m := partwayRE.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				if (m[1] != "") != (c.name == "refit") {
					t.Fatalf("line %q", l)
				}
				lines++
				n := func(i int) int {
					v, _ := strconv.Atoi(m[i])
					return v
				}
				fold := max(0, n(2)-1)
				epoch, percent, step, steps := n(3), n(5), n(6), n(7)
				if steps != c.steps {
					t.Fatalf("%q: %d steps an epoch, want %d", l, steps, c.steps)
				}
				want := at{1, 1}
				if p, ok := last[fold]; ok {
					want = at{p.epoch, p.step + 1}
					if p.step == steps-1 {
						want = at{p.epoch + 1, 1}
					}
				}
				if (at{epoch, step}) != want || percent != int(math.Round(100*float64(step)/float64(steps))) {
					t.Fatalf("fold %d: %q after %+v", fold, l, last[fold])
				}
				last[fold] = want
				if lines == c.steps/2 {
					sample = l
				}
				// Only a run's first step has no ETA: nothing is past the
				// warm-up (sweeps.Warmup).
				if m[8] == "" {
					if epoch != 1 || step != 1 {
						t.Fatalf("%q: no ETA", l)
					}
					continue
				}
				// Past a quarter of the work the ETA is at most 3 times the
				// time so far.
				eta, err := time.ParseDuration(m[8])
				quarter := float64(epoch-1)+float64(step)/float64(steps) >= float64(c.epochs)/4
				if err != nil || eta < 0 || quarter && eta > 3*wall+time.Second {
					t.Fatalf("%q: eta %v (%v) of a run of %v", l, eta, err, wall)
				}
			}
			if lines == 0 {
				t.Fatalf("no partway line:\n%s", stderr)
			}
			for fold := range c.folds {
				if p := last[fold]; p != (at{c.epochs, c.steps - 1}) {
					t.Errorf("fold %d: the last partway line is at %+v, want epoch %d step %d", fold, p, c.epochs, c.steps-1)
				}
			}
			t.Logf("%d partway lines in %v, e.g. %q", lines, wall, sample)
		})
	}
}

// stampedLines is a writer that notes when each line ends.
type stampedLines struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines []stampedLine
}

// stampedLine is a line and when it ended, on the wall clock and on the
// process's CPU clock.
type stampedLine struct {
	text string
	at   time.Time
	cpu  time.Duration // cpuclock.Process
}

// stamp is now on both clocks.
func stamp(text string) stampedLine { return stampedLine{text, time.Now(), cpuclock.Process()} }

func (w *stampedLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range string(p) {
		if c != '\n' {
			w.buf.WriteRune(c)
			continue
		}
		w.lines = append(w.lines, stamp(w.buf.String()))
		w.buf.Reset()
	}
	return len(p), nil
}

// TestPartwayETA trains a model slow enough for ETAs of a second or more
// (3 epochs of 0.3–0.7 s) and holds each partway line's ETA, once a
// quarter of the work is done, to the time the run actually had left
// (within a factor of 3, ± the half second the line rounds to), on the
// process's CPU clock (see etaLine). An ETA 4 times the right one fails
// it (it passed with the second of slack this test had on the wall clock).
func TestPartwayETA(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "rows.csv")
	fixture.BlobsCSV(t, csv, 4000, 3, 4)
	r := timedTrain(t, "--csv", csv, "--epochs", "3", "--batch", "32", "--hidden", "1024,1024", "--threads", "1")
	checked, lo, hi := 0, math.Inf(1), 0.0
	for _, l := range r.etaLines(t) {
		if done := (float64(l.epoch-1) + float64(l.step)/float64(l.steps)) / 3; done < 0.25 {
			continue
		}
		checked++
		if !l.within(1.0/3, 3, 0) {
			t.Errorf("%s", l)
		}
		if l.left > time.Second/2 {
			lo, hi = min(lo, l.ratio()), max(hi, l.ratio())
		}
	}
	if checked == 0 {
		t.Fatalf("no partway line after a quarter of the work:\n%v", r.lines)
	}
	t.Logf("%d ETAs checked, %.2f–%.2f times the time left where more than half a second was; the run took %v", checked, lo, hi, r.took())
}

// timedRun is a train run's stderr lines, each stamped as it ended (a
// partway line after every step), and its start (a stamp before it
// began) and end (its last line, the accuracy line).
type timedRun struct {
	lines      []stampedLine
	start, end stampedLine
}

func (r timedRun) took() time.Duration { return r.end.at.Sub(r.start.at) }

// timedTrain runs train with args and a partway line after every step
// (not in -short: it trains for seconds).
func timedTrain(t *testing.T, args ...string) timedRun {
	t.Helper()
	if testing.Short() {
		t.Skip("trains for seconds")
	}
	defer func(every time.Duration) { partLines = every }(partLines)
	partLines = time.Nanosecond
	var stderr stampedLines
	var stdout strings.Builder
	// As a process of its own would, the run touches its buffers for the
	// first time, not memory an earlier run in this process freed (after
	// which a 4096-4096 network's first step took no longer than the next
	// ones).
	debug.FreeOSMemory()
	start := stamp("")
	if code := run(append([]string{"train"}, args...), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.buf.String())
	}
	return timedRun{lines: stderr.lines, start: start, end: stderr.lines[len(stderr.lines)-1]}
}

// etaLine is a partway line with an ETA of a timed run, and the time the
// run had left when it was printed, on the process's CPU clock. The ETA
// is the pace of the steps since the run's first on the wall clock
// (sweeps.Warmup leaves the first out), and another process's load moves
// that pace and the wall time left apart as it comes and goes (a first
// ETA read 2.5 times the wall time left at load average 5). So both are
// read on the CPU clock: the ETA scaled by the CPU time per wall second
// the run had since its first step, the time left as the CPU time the
// run then used.
type etaLine struct {
	text               string
	epoch, step, steps int
	eta                time.Duration // as printed, rounded to the second
	since              time.Duration // the wall time from the run's start
	pace               float64       // CPU time per wall second from the end of the run's first step to the line
	left               time.Duration // the CPU time the run used after the line
	wallLeft           time.Duration // and its wall time, logged
}

// cpuETA is the ETA on the CPU clock.
func (l etaLine) cpuETA() time.Duration { return time.Duration(float64(l.eta) * l.pace) }

// within says whether the ETA is between lo and hi times the time left,
// give or take slack and the half second the line rounds to.
func (l etaLine) within(lo, hi float64, slack time.Duration) bool {
	round := time.Duration(float64(time.Second/2) * l.pace)
	eta, left := l.cpuETA(), float64(l.left)
	return eta <= time.Duration(hi*left)+slack+round && eta >= time.Duration(lo*left)-slack-round
}

// ratio is the ETA over the time left, on the CPU clock.
func (l etaLine) ratio() float64 { return l.cpuETA().Seconds() / l.left.Seconds() }

func (l etaLine) String() string {
	return fmt.Sprintf("%q at %v: %v on the CPU clock with %v left (%.2f×; on the wall clock %v left, %.2f×)", l.text,
		l.since.Round(10*time.Millisecond), l.cpuETA().Round(10*time.Millisecond), l.left.Round(10*time.Millisecond), l.ratio(),
		l.wallLeft.Round(10*time.Millisecond), l.eta.Seconds()/l.wallLeft.Seconds())
}

// etaLines are the partway lines with an ETA of run r.
func (r timedRun) etaLines(t *testing.T) []etaLine {
	t.Helper()
	var first *stampedLine // the first step's line: the warm-up's end
	var out []etaLine
	for i, l := range r.lines {
		m := partwayRE.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		if first == nil {
			if m[3] != "1" || m[6] != "1" {
				t.Fatalf("the first partway line %q is not the first step's", l.text)
			}
			first = &r.lines[i]
			continue
		}
		e := etaLine{text: l.text, since: l.at.Sub(r.start.at), left: r.end.cpu - l.cpu, wallLeft: r.end.at.Sub(l.at),
			pace: float64(l.cpu-first.cpu) / float64(l.at.Sub(first.at))}
		e.epoch, _ = strconv.Atoi(m[3])
		e.step, _ = strconv.Atoi(m[6])
		e.steps, _ = strconv.Atoi(m[7])
		var err error
		if e.eta, err = time.ParseDuration(m[8]); err != nil {
			t.Fatalf("%q: %v", l.text, err)
		}
		out = append(out, e)
	}
	return out
}

// TestFirstPartwayETA: the first ETA a real run prints, 200 ms into it
// (its partway lines every 200 ms), is within a factor of 2 of the time
// it then had left (± the half second the line rounds to), on the
// process's CPU clock (see etaLine), although its first step, which
// touches a 4096-4096 network's gradient and Adam buffers (200 MB) for
// the first time, takes many times a later step. On the wall clock it
// read 3.8–9.7 times the time left, extrapolated from the first step;
// 2.3–2.6 times from a later one with the warm-up in; 0.9–1.6 with the
// warm-up out, and 2.5 once at load average 5.
func TestFirstPartwayETA(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "rows.csv")
	fixture.BlobsCSV(t, csv, 600, 3, 4)
	r := timedTrain(t, "--csv", csv, "--epochs", "1", "--batch", "8", "--hidden", "4096,4096", "--optimizer", "adam", "--threads", "1")
	for _, l := range r.etaLines(t) {
		if l.since < 200*time.Millisecond {
			continue
		}
		t.Logf("first ETA: %s; the run took %v", l, r.took())
		if !l.within(0.5, 2, 0) {
			t.Errorf("the first ETA: %s", l)
		}
		return
	}
	t.Fatalf("no partway line with an ETA 200 ms into the run:\n%v", r.lines)
}

// TestPartwayETAWithScoring: with few training rows and many scored ones
// (1,000 MNIST rows trained, its 10,000 test images scored after each
// epoch: 83 % of an epoch's FLOPs) each partway line's ETA is between half
// and 4 times the time the run had left (± the half second the line
// rounds to), on the process's CPU clock (see etaLine). The scoring's
// forward products run faster per FLOP than the training steps, so the
// first epoch's ETAs read high (measured 1.3–2.7× under load: the upper
// bound leaves room, since the lower one is what catches the bug);
// counting the steps alone as an epoch's work, they read a quarter of it.
func TestPartwayETAWithScoring(t *testing.T) {
	r := timedTrain(t, "--limit-rows", "1000", "--epochs", "2", "--batch", "32", "--hidden", "4096", "--threads", "1")
	ls := r.etaLines(t)
	if len(ls) == 0 {
		t.Fatalf("no partway line with an ETA:\n%v", r.lines)
	}
	lo, hi := math.Inf(1), 0.0 // the first epoch's ETA over the time left
	for _, l := range ls {
		if !l.within(0.5, 4, 0) {
			t.Errorf("%s", l)
		}
		if l.epoch == 1 {
			lo, hi = min(lo, l.ratio()), max(hi, l.ratio())
		}
	}
	t.Logf("%d ETAs checked, the first epoch's %.2f–%.2f times the time left; the run took %v", len(ls), lo, hi, r.took())
}

// TestWorkerPartwayLines: mlpsweep worker logs its jobs' partway lines
// (here after every step), plain lines that name the job, with its ETA.
func TestWorkerPartwayLines(t *testing.T) {
	url, _, _ := enqueueCSVStudy(t)
	defer func(every time.Duration) { workerPartLines = every }(workerPartLines)
	workerPartLines = time.Nanosecond
	code, _, stderr := runCmd("worker", "--store", url, "--workers", "1", "--exit-when-done")
	if code != 0 {
		t.Fatalf("worker: exit %d:\n%s", code, stderr)
	}
	line := regexp.MustCompile(`(?m)^(group of 2 units,|unit \S+) fold \d of study csvtest \(attempt 1\): epoch \d/2: \d+ % \(\d/[48] steps\), eta \S+$`)
	if n := len(line.FindAllString(stderr, -1)); n == 0 || strings.Contains(stderr, "\r") {
		t.Errorf("%d partway lines:\n%s", n, stderr)
	}
}
