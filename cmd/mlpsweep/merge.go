package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

func init() {
	register(command{name: "merge", summary: "merge the databases of a study's shards (sweep --shard I/N) into one", run: runMerge})
}

const mergeSynopsis = `merge OUT SHARD_DIR... [--study NAME] [--json] [--strict-engine]

Merges the study that shards of a sweep (mlpsweep sweep --shard I/N --out
SHARD_DIR) stored in their databases into OUT/mlpsweep.db (OUT is created
if missing), in one transaction, then prints the study's tables (or, with
--json, the same JSON object as a local run) and writes results.csv,
results.json and report.html to OUT, as mlpsweep report OUT does. A
SHARD_DIR may also be a PostgreSQL store's postgres:// URL (a sweep's or a
depth study's --store); shards are only read.

Shards must hold the same study: same name, configurations, folds, epochs,
seed, data and engine version; merge refuses any other shard, naming it,
and writes nothing (exit status 1). Shards run on hosts with another ISA
path (avx512, avx2, generic) of the same engine version are merged, with a
warning, and the report notes the mix: their units are not bit-identical.
With --strict-engine merge refuses them too, so the merged study is bit for
bit what one kind of machine computes.

OUT holds what one store shared by the shards would: each unit's result
under each engine identity (ISA path) found (with --strict-engine, the
study's own only), failed and interrupted ones
too, and a pruned study's rung decisions (shards deciding otherwise are
refused). Which result of a unit counts is the rule report, status and
sweep follow: its own done (or pruned, in a study with a pruner), else
one done under another ISA path (not with --strict-engine), else its own
failed one. A unit found under one engine identity in several shards (a
rerun) is kept once, as a store keeps it: done before pruned (the
deepest) before failed before interrupted, the first shard's of those; a
warning names units done there with different numbers. Merging again,
or again after a shard was rerun, is safe: rows already in OUT stay
unless a shard has one at least as far on. Shards still running (their sweep holds the folder's
lock) are refused. Units that are in no shard are reported missing: the
merged database, tables and report still cover the units done, and merge
exits 1, since the study is incomplete; rerun the shard that did not finish
(the same command resumes) and merge again.

The merged study's fold accuracies, learning curves and means are bit for
bit a local run's; its total_seconds is the longest shard's wall time and
its units_run and units_reused are the sums over the shards.

Examples:
  mlpsweep merge out/seed out/seed/shard-*
  mlpsweep merge results/all /scratch/shard-0 /scratch/shard-1 --json`

func runMerge(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("merge", mergeSynopsis, stderr)
	name := fs.String("study", "", "the study to merge when the shards hold several (default: each shard's last)")
	jsonOutput := fs.Bool("json", false, "print one JSON object with the merged results on stdout instead of the tables")
	strict := fs.Bool("strict-engine", false, "refuse shards computed under another engine identity (ISA path) than the first's, not only another engine version")
	positional, code := parseInterleaved(fs, args, stdout)
	if code >= 0 {
		return code
	}
	if len(positional) < 2 {
		return usageError(stderr, "merge", "want OUT and at least one SHARD_DIR, got %d arguments", len(positional))
	}
	out, shards := positional[0], positional[1:]
	if err := checkReportFiles(out); err != nil { // before anything is merged
		return fail(stderr, "merge", err)
	}
	res, err := store.Merge(commandContext(), out, shards, *name, *strict)
	if err != nil {
		return fail(stderr, "merge", keptInPostgres(err, shards, ", which holds every shard's: give merge that store's postgres:// URL instead of the shard folders, or run mlpsweep report --store URL"))
	}
	pruned := ""
	if res.Pruned > 0 {
		pruned = fmt.Sprintf(", %d pruned", res.Pruned)
	}
	fmt.Fprintf(stderr, "merged %d shards of study %s into %s: %d of %d units done%s, %d failed, %d missing (%d rows written, %d units in more than one shard)\n",
		len(res.Shards), res.Study, out, res.Done, res.Units, pruned, res.Failed, res.Missing, res.Written, res.Duplicates)
	if len(res.Differing) > 0 {
		fmt.Fprintf(stderr, "warning: %d units were done in several places with different results (the first was kept): %s\n",
			len(res.Differing), strings.Join(res.Differing, "; "))
	}
	if len(res.Engines) > 1 {
		fmt.Fprintf(stderr, "warning: the shards ran under several engine identities (%s): the merged study mixes ISA paths and is not bit-identical to a run on one kind of machine (merge --strict-engine refuses this)\n",
			strings.Join(res.Engines, ", "))
	}
	if res.Failed+res.Missing > 0 {
		fmt.Fprintf(stderr, "warning: the study is incomplete: %d failed and %d missing units; rerun the shards that did not finish (the same command resumes) and merge again\n",
			res.Failed, res.Missing)
	}
	r, err := store.LoadStudy(commandContext(), out, res.Study, *strict)
	if err != nil {
		return fail(stderr, "merge", err)
	}
	status := renderStudy(r, out, *jsonOutput, stdout, stderr, "merge")
	if status == 0 && res.Missing > 0 {
		// The units done are merged and reported; the status says the study
		// is not, so a scheduler's dependent job (deploy/) sees it.
		return 1
	}
	return status
}
