package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

func init() {
	register(command{name: "status", summary: "show the progress of studies in a PostgreSQL store (queue mode)", run: runStatus})
}

const statusSynopsis = `status [--store postgres://…] [--study NAME] [--json]

Shows how far the studies in the PostgreSQL database at --store (or
MLPSWEEP_STORE) have got: for each (or for --study NAME) its units done,
failed, running and queued, and its units counted by the River state of
their latest job (a job trains a fused group of units); then the jobs of
every queue by state. Units whose job runs on a worker whose database
session has ended (killed, or its machine or network lost) are counted
apart and named by worker: a live worker or sweep --wait hands their jobs
back to the queue within seconds, and they are trained again. It only
reads: a database without mlpsweep's tables is an error, not one given new
tables.`

// statusJSON is status --json's object.
type statusJSON struct {
	Studies []queue.Progress          `json:"studies"`
	Queues  map[string]map[string]int `json:"queues"` // queue → job state → jobs
}

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", statusSynopsis, stderr)
	storeFlag := fs.String("store", "", "the PostgreSQL database, a postgres:// URL (default: $"+storeEnv+")")
	name := fs.String("study", "", "show this study only")
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	positional, code := parseInterleaved(fs, args, stdout)
	if code >= 0 {
		return code
	}
	if len(positional) > 0 {
		return usageError(stderr, "status", "unexpected arguments %q", positional)
	}
	url, from, err := storeURL(fs, *storeFlag)
	if err != nil {
		return usageError(stderr, "status", "%v", err)
	}
	st, code := openQueueStore(url, from, "status", "", stderr, store.ReadOnly)
	if code >= 0 {
		return code
	}
	defer st.Close()
	ctx := commandContext()
	names := []string{*name}
	if *name == "" {
		if names, err = st.StudyNames(); err != nil {
			return fail(stderr, "status", err)
		}
	}
	var out statusJSON
	for _, n := range names {
		p, err := queue.StudyProgress(ctx, st, n)
		if err != nil {
			if all, nerr := st.StudyNames(); nerr == nil && len(all) > 0 {
				err = fmt.Errorf("%w (studies in %s: %s)", err, st.Name(), strings.Join(all, ", "))
			}
			return fail(stderr, "status", err)
		}
		out.Studies = append(out.Studies, p)
	}
	if out.Queues, err = queue.QueueJobs(ctx, st); err != nil {
		return fail(stderr, "status", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(stderr, "status", err)
		}
		return 0
	}
	fmt.Fprintf(stdout, "%s\n", st.Name())
	if len(out.Studies) == 0 {
		fmt.Fprintln(stdout, "no study recorded yet")
	}
	for _, p := range out.Studies {
		fmt.Fprintf(stdout, "%s\n  units by their latest job's state: %s\n", p, p.JobStates()) // units, not jobs: a job trains a fused group
		for _, line := range deadWorkerLines(p) {
			fmt.Fprintf(stdout, "  %s\n", line)
		}
	}
	for _, q := range slices.Sorted(maps.Keys(out.Queues)) {
		jobs := queue.Progress{Jobs: out.Queues[q]}
		fmt.Fprintf(stdout, "queue %s: %s\n", q, jobs.JobStates())
	}
	return 0
}
