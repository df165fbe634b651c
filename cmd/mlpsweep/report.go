package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mlpsweep/mlpsweep/internal/safename"
	"github.com/mlpsweep/mlpsweep/sweeps/serve"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

func init() {
	register(command{name: "report", summary: "re-render a sweep's tables and report from its database", run: runReport})
}

const reportSynopsis = `report DIR [--study NAME] [--json] [--strict-engine]
       mlpsweep report --store postgres://… [--study NAME] [--out DIR] [--json] [--strict-engine]

Reads the sweep database DIR/mlpsweep.db (written by mlpsweep sweep --out
DIR), prints the study's tables on stdout and rewrites DIR/results.csv,
DIR/results.json and DIR/report.html. A study that is still running or was
interrupted is shown with the units finished so far.

With --store URL (or, when no DIR is given, the URL in MLPSWEEP_STORE) it
reads the PostgreSQL database at URL instead and writes the files into
--out (default out/<study name>).

The report lists the machines (host, CPU, ISA path) the units were trained
on. Units stored under another ISA path of the study's engine version
(shards or workers on other kinds of hosts) are shown, with a warning that
the study mixes paths; with --strict-engine only the units of the study's
engine identity are, and the others are missing.`

func runReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", reportSynopsis, stderr)
	study := fs.String("study", "", "the study to show when the database holds several (default: the one run last)")
	jsonOutput := fs.Bool("json", false, "print one JSON object with the results on stdout instead of the tables")
	storeFlag := fs.String("store", "", "read the PostgreSQL database at this postgres:// URL instead of DIR/mlpsweep.db (default without DIR: $"+storeEnv+")")
	out := fs.String("out", "", "with --store: the folder for the report files (default out/<study name>)")
	strict := fs.Bool("strict-engine", false, "show only units computed under the study's engine identity (engine version and ISA path), bit-identical to a run on one kind of machine (default: also units of another ISA path, noted)")
	positional, code := parseInterleaved(fs, args, stdout)
	if code >= 0 {
		return code
	}
	url, from, err := storeURL(fs, *storeFlag)
	if err != nil {
		return usageError(stderr, "report", "%v", err)
	}
	if len(positional) == 1 && from == "--store" {
		return usageError(stderr, "report", "give DIR or --store, not both (--out DIR says where the report of --store goes)")
	}
	where := url
	switch {
	case len(positional) == 0 && url != "":
	case len(positional) != 1:
		return usageError(stderr, "report", "want one directory (or --store URL), got %d arguments", len(positional))
	case *out != "":
		return usageError(stderr, "report", "--out goes with --store; the report of DIR goes into DIR")
	default:
		where, from, *out = positional[0], "", positional[0]
	}
	if err := checkReportFiles(*out); *out != "" && err != nil {
		return fail(stderr, "report", err)
	}
	st, err := openStore(where, from, store.ReadOnly)
	if err != nil && where != url {
		err = keptInPostgres(inReadOnlyFolder(err, where), positional, ": run mlpsweep report --store URL --study NAME --out "+where)
	}
	if err != nil {
		return fail(stderr, "report", err)
	}
	defer st.Close()
	doc, err := serve.LoadDocument(commandContext(), st, *study, *strict)
	if err != nil {
		if names, nerr := st.StudyNames(); nerr == nil && len(names) > 0 && *study != "" {
			err = fmt.Errorf("%w (studies in %s: %s)", err, st.Name(), strings.Join(names, ", "))
		}
		return fail(stderr, "report", err)
	}
	if where == url { // --store: the files go to --out
		if *out == "" {
			// The name comes from a database others may write: safename.
			dir, err := safename.Join("out", doc.Name)
			if err != nil {
				return fail(stderr, "report", fmt.Errorf("study name: %w", err))
			}
			*out = dir
		}
		if err := checkOutDir("--out", *out); err != nil {
			return fail(stderr, "report", err)
		}
		if err := checkReportFiles(*out); err != nil {
			return fail(stderr, "report", err)
		}
	}
	return renderDocument(doc, *out, *jsonOutput, stdout, stderr, "report")
}
