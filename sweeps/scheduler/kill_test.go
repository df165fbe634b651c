package scheduler

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// killChildEnv makes the test binary, re-executed by TestKillAndResume, run
// killStudy into the directory it names instead of testing, and into the
// PostgreSQL database killStoreEnv names when set. killStopEnv, when set,
// makes the child of a kill test wait to be killed once it has printed
// that many of the lines its parent counts to kill it: what the parent
// finds in the store is then what the child stored by that point, however
// slowly the parent reads.
const (
	killChildEnv = "MLPSWEEP_SWEEPS_KILL_CHILD"
	killStoreEnv = "MLPSWEEP_SWEEPS_KILL_STORE"
	killStopEnv  = "MLPSWEEP_SWEEPS_KILL_STOP"
)

// killStudy has 8 configs × 3 folds = 24 units.
const killStudy = `
name: kill
folds: 3
epochs: 3
seed: 3
base: {hidden: [48], batch: 8}
axes:
  - {name: lr, key: lr, values: [0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035, 0.004, 0.0045]}
`

const killWorkers = 2

func killData() *datasets.Dataset { return datasets.Blobs(1500, 20, 4) }

// inFlight is the most units killStudy can have in flight: those of its
// killWorkers largest jobs when its groups are as wide as they can be
// (narrower groups, as calibrated, have fewer in flight).
func inFlight(t *testing.T) int {
	s, data := parse(t, killStudy), killData()
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		t.Fatal(err)
	}
	f := &foldFit{data: data, folds: folds, seed: s.Seed, fuse: s.Fuse, maxColumns: 1 << 30}
	var sizes []int
	for _, j := range f.jobs(sweeps.Plan(sweeps.Header{Folds: s.Folds, Seed: s.Seed}, s.Points), killWorkers) {
		sizes = append(sizes, len(j))
	}
	slices.Sort(sizes)
	n := 0
	for _, size := range sizes[max(0, len(sizes)-killWorkers):] {
		n += size
	}
	return n
}

// runKillChild is the child's side: run the study, print one line per unit
// stored, then the counts. Told to stop after some units, it waits there
// to be killed, in the event of the last, while the other worker goes on
// until it reports a unit: otherwise a parent slower to read its lines
// than its fused groups are to store their units could find it done.
func runKillChild(t *testing.T, dir, url string) {
	stop, _ := strconv.Atoi(os.Getenv(killStopEnv))
	done := 0
	r, err := RunStudy(context.Background(), parse(t, killStudy), killData(), Options{Dir: dir, Store: openStore(t, dir, url), Workers: killWorkers,
		Progress: func(e Event) {
			if e.Kind == UnitDone {
				fmt.Println("unit-done")
				if done++; done == stop {
					time.Sleep(time.Minute) // killed here
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("finished run=%d reused=%d\n", r.UnitsRun, r.UnitsReused)
}

// TestKillAndResume SIGKILLs a sweep in a child process after a few units,
// then runs it again: every unit stored before the kill is reused, only the
// others (those in flight included: fused groups, each unit stored in its
// own transaction) are trained, and the results equal an uninterrupted
// run's; on SQLite and on PostgreSQL, whose server here is slow to store
// a unit (slowCommits), so that the kill lands while the server is still
// storing a unit the child sent.
func TestKillAndResume(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		runKillChild(t, dir, os.Getenv(killStoreEnv))
		return
	}
	forEachStore(t, func(t *testing.T, dir, url string) {
		testKillAndResume(t, dir, url)
	})
}

// childCmd re-runs this test binary's test in a child process, whose side
// of the test runs a study into dir (and the PostgreSQL database url).
func childCmd(test, dir, url string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir, killStoreEnv+"="+url)
	cmd.Stderr = os.Stderr
	return cmd
}

// slowCommits makes the PostgreSQL server at url take 50 ms to store each
// unit done, as a loaded server may: a child killed while it waits for
// the server leaves a unit that is stored after the kill (see killChild).
func slowCommits(t *testing.T, dir, url string) {
	openStore(t, dir, url).Close() // the tables
	storetest.Exec(t, url, `CREATE FUNCTION slow_done() RETURNS trigger AS $$
		BEGIN IF NEW.state = 'done' THEN PERFORM pg_sleep(0.05); END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
		`CREATE TRIGGER slow_done BEFORE UPDATE ON mlpsweep_units FOR EACH ROW EXECUTE FUNCTION slow_done()`)
}

// killedApp names the PostgreSQL sessions of a child killChild starts.
const killedApp = "mlpsweep-killed-child"

// killChild starts the child of test (with env added to its
// environment), hands each line it prints to kill, and SIGKILLs it (no
// cleanup of any kind) when kill returns true. It returns once the child
// has ended and, on PostgreSQL, its sessions too: a statement the child
// sent before it died is committed or not by then, so the store holds
// what it will hold of the child.
func killChild(t *testing.T, test, dir, url string, kill func(line string) bool, env ...string) {
	t.Helper()
	if url != "" {
		url = storetest.WithApplication(t, url, killedApp)
	}
	cmd := childCmd(test, dir, url)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if kill(sc.Text()) {
			cmd.Process.Kill()
			break
		}
	}
	cmd.Wait()
	if url != "" {
		storetest.SessionsGone(t, url, killedApp)
	}
}

// resumeChild runs the child of test to its end and returns the units it
// trained and reused, from its line "finished run=N reused=M".
func resumeChild(t *testing.T, test, dir, url string) (trained, reused int) {
	t.Helper()
	out, err := childCmd(test, dir, url).Output()
	if err != nil {
		t.Fatalf("resumed child: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "finished") {
			fmt.Sscanf(line, "finished run=%d reused=%d", &trained, &reused)
		}
	}
	return trained, reused
}

func testKillAndResume(t *testing.T, dir, url string) {
	if url != "" {
		slowCommits(t, dir, url)
	}
	seen := 0
	killChild(t, "TestKillAndResume", dir, url, func(line string) bool {
		if line == "unit-done" {
			seen++
		}
		return seen == 3
	}, killStopEnv+"=3")
	if seen < 3 {
		t.Fatalf("child stopped after %d units", seen)
	}

	states := storeStates(t, dir, url)
	stored := states["done"]
	if flight := inFlight(t); stored < seen || stored >= 24 || states["running"] > flight || states["failed"] != 0 {
		t.Fatalf("after the kill: %v (saw %d units done); want ≥ %d and < 24 done, ≤ %d running", states, seen, seen, flight)
	}

	t.Logf("killed with %d units stored, %d in flight", stored, states["running"])
	trained, reused := resumeChild(t, "TestKillAndResume", dir, url)
	if reused != stored || trained != 24-stored {
		t.Errorf("resume reused %d and trained %d units; want the %d stored reused and %d trained", reused, trained, stored, 24-stored)
	}

	got := loadStudy(t, dir, url, "kill")
	ref := run(t, parse(t, killStudy), killData(), t.TempDir(), killWorkers)
	if !sameBits(numbers(got), numbers(ref)) {
		t.Error("killed and resumed study differs from an uninterrupted run")
	}
}
