package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestSweepAndReportOnPostgres: sweep --store runs the study into
// PostgreSQL with the same fold accuracies as on SQLite, resumes from it
// (URL from MLPSWEEP_STORE), and report --store renders it again.
func TestSweepAndReportOnPostgres(t *testing.T) {
	url := storetest.Postgres(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	local := sweepLocal(t, study, dir)

	out := filepath.Join(dir, "pg")
	code, stdout, stderr := runCmd("sweep", study, "--store", url, "--out", out, "--workers", "2", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := decodeStudyJSON(t, stdout)
	if r.UnitsRun != 6 || fmt.Sprint(accuracies(r.Configs)) != fmt.Sprint(accuracies(local.Configs)) {
		t.Errorf("ran %d units; accuracies %v, on SQLite %v", r.UnitsRun, accuracies(r.Configs), accuracies(local.Configs))
	}
	if _, err := os.Stat(filepath.Join(out, "mlpsweep.db")); err == nil {
		t.Error("a sweep into PostgreSQL wrote OUT/mlpsweep.db")
	}
	for _, f := range []string{"report.html", "results.csv", "results.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	t.Setenv("MLPSWEEP_STORE", url)
	code, _, stderr = runCmd("sweep", study, "--out", out, "--workers", "2")
	if code != 0 || !strings.Contains(stderr, "6 already stored, 0 to train") {
		t.Errorf("resume from MLPSWEEP_STORE: exit %d\n%s", code, stderr)
	}
	// --store '' is OUT/mlpsweep.db whatever MLPSWEEP_STORE says.
	code, _, stderr = runCmd("sweep", study, "--store", "", "--out", filepath.Join(dir, "local"), "--workers", "2")
	if code != 0 || !strings.Contains(stderr, "6 already stored, 0 to train") {
		t.Errorf("--store '': exit %d\n%s", code, stderr)
	}
	// report DIR reads DIR's SQLite database whatever MLPSWEEP_STORE says.
	if code, stdout, stderr := runCmd("report", filepath.Join(dir, "local"), "--json"); code != 0 ||
		fmt.Sprint(accuracies(decodeStudyJSON(t, stdout).Configs)) != fmt.Sprint(accuracies(local.Configs)) {
		t.Errorf("report DIR with MLPSWEEP_STORE set: exit %d: %s", code, stderr)
	}

	rep := filepath.Join(dir, "rep")
	code, stdout, stderr = runCmd("report", "--json", "--out", rep) // the URL from MLPSWEEP_STORE
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	again := decodeStudyJSON(t, stdout)
	if fmt.Sprint(accuracies(again.Configs)) != fmt.Sprint(accuracies(r.Configs)) || again.UnitsReused != 6 {
		t.Errorf("report shows %v, reused %d", accuracies(again.Configs), again.UnitsReused)
	}
	if _, err := os.Stat(filepath.Join(rep, "report.html")); err != nil {
		t.Error(err)
	}
	os.Unsetenv("MLPSWEEP_STORE")
	code, stdout, stderr = runCmd("report", "--store", url, "--study", "csvtest", "--out", rep)
	if code != 0 || !strings.Contains(stdout, "axis optimizer") {
		t.Errorf("report --store: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCmd("report", "--store", url, "--study", "nope", "--out", rep); code != 1 ||
		!strings.Contains(stderr, `no study named "nope" (studies in postgres://`) || !strings.Contains(stderr, ": csvtest)") {
		t.Errorf("report of an unknown study: exit %d, %s", code, stderr)
	}
}

// accuracies lists every configuration's fold accuracies (%v prints the
// shortest decimal that reads back to the same float64: equal strings are
// equal bits).
func accuracies(configs []sweeps.ConfigResult) []string {
	var s []string
	for _, c := range configs {
		s = append(s, fmt.Sprintf("%s=%s %v", c.Axis, c.Value, c.FoldAccuracies))
	}
	return s
}

// TestStoreBadInput: a malformed store URL is a usage error (2); a server
// that cannot be reached, a wrong password and a database of a newer
// mlpsweep are failures (1) that say what to do; none writes anything.
func TestStoreBadInput(t *testing.T) {
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"sweep", study, "--store", "postgres://u:secret@h:port/db"}, "", "--store: not a PostgreSQL URL: postgres://u:xxxxx@h:port/db: invalid port"},
		{[]string{"sweep", study, "--store", "runs/db.sqlite"}, "", `--store: not a PostgreSQL URL: "runs/db.sqlite": want postgres://`},
		{[]string{"sweep", study}, "mysql://h/db", `MLPSWEEP_STORE: not a PostgreSQL URL: "mysql://h/db"`},
		{[]string{"sweep", study, "--store", "host=h user=u password=secret dbname=db"}, "", `--store: not a PostgreSQL URL: "host=h user=u password=xxxxx dbname=db"`},
		{[]string{"depth", "--store", "postgres://u:secret@h:port/db"}, "", "--store: not a PostgreSQL URL"},
		{[]string{"status"}, "host=h password='se cret'", `MLPSWEEP_STORE: not a PostgreSQL URL: "host=h password=xxxxx"`},
		{[]string{"report", "--store", "postgres://h:0x/db"}, "", "--store: not a PostgreSQL URL"},
		{[]string{"report", "--store", "postgres://h/db", dir}, "", "give DIR or --store, not both"},
		{[]string{"report", dir, "--out", dir}, "", "--out goes with --store"},
		{[]string{"report"}, "", "want one directory (or --store URL)"},
	} {
		t.Setenv("MLPSWEEP_STORE", c.env)
		code, _, stderr := runCmd(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "secret") {
			t.Errorf("%v (MLPSWEEP_STORE=%s): exit %d, %q; want 2 and %q", c.args, c.env, code, stderr, c.want)
		}
	}
	t.Setenv("MLPSWEEP_STORE", "")

	closed := "postgres://u:secret@127.0.0.1:1/db"
	cases := []struct {
		name, url, want string
	}{
		{"unreachable", closed, "--store: postgres://u@127.0.0.1:1/db: cannot connect (dial tcp 127.0.0.1:1: connect: connection refused): start PostgreSQL there"},
	}
	if os.Getenv(storetest.Env) != "" {
		url := storetest.Postgres(t)
		role := fmt.Sprintf("mlpsweep_cli_%d", rand.Int64())
		storetest.Exec(t, url, `CREATE ROLE `+role+` LOGIN PASSWORD 'right-one'`)
		t.Cleanup(func() { storetest.Exec(t, storetest.AdminURL(t), `DROP ROLE IF EXISTS `+role) })
		newer := storetest.Postgres(t)
		storetest.Exec(t, newer, `CREATE TABLE mlpsweep_schema (version BIGINT NOT NULL)`, `INSERT INTO mlpsweep_schema VALUES (99)`)
		t.Cleanup(func() {
			var tables int
			storetest.QueryRow(t, newer, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`, &tables)
			if tables != 1 {
				t.Errorf("the database of a newer mlpsweep has %d tables after the refusals, want 1", tables)
			}
		})
		cases = append(cases,
			struct{ name, url, want string }{"wrong password", storetest.WithUser(t, url, role, "wrong-one"),
				`PostgreSQL refused user "` + role + `" (password authentication failed for user "` + role + `"): fix the user or password in the URL`},
			struct{ name, url, want string }{"newer schema", newer,
				fmt.Sprintf("written by a newer mlpsweep (schema version 99; this one knows %d): use that version, or another database; nothing was written", store.SchemaVersion)})
	} else {
		t.Logf("%s is unset: the wrong-password and newer-schema cases need PostgreSQL", storetest.Env)
	}
	for _, c := range cases {
		for _, args := range [][]string{
			{"sweep", study, "--store", c.url, "--out", filepath.Join(dir, "out-"+c.name)},
			{"report", "--store", c.url, "--out", filepath.Join(dir, "rep-"+c.name)},
		} {
			code, stdout, stderr := runCmd(args...)
			if code != 1 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "secret") || strings.Contains(stderr, "wrong-one") || stdout != "" {
				t.Errorf("%s: %s: exit %d, %q; want 1 and %q", c.name, args[0], code, stderr, c.want)
			}
			if strings.Contains(stderr, "loading") {
				t.Errorf("%s: %s loaded the data before checking the store", c.name, args[0])
			}
		}
		for _, out := range []string{"out-", "rep-"} {
			if _, err := os.Stat(filepath.Join(dir, out+c.name)); err == nil {
				t.Errorf("%s: %s%s was created", c.name, out, c.name)
			}
		}
	}
}

// TestStatusOnlyReads: status on a database without mlpsweep's tables
// says so (exit 1) and creates none.
func TestStatusOnlyReads(t *testing.T) {
	url := storetest.Postgres(t)
	code, _, stderr := runCmd("status", "--store", url)
	if code != 1 || !strings.Contains(stderr, "no sweep database here: nothing is stored in this database yet") {
		t.Errorf("status of an empty database: exit %d: %s", code, stderr)
	}
	var n int
	storetest.QueryRow(t, url, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`, &n)
	if n != 0 {
		t.Errorf("status created %d tables", n)
	}
}

// TestShardsSharingAStoreReport: two shards of a study sweep into one
// PostgreSQL store; report --store then counts every unit as run by the
// run's 2 shards (each shard used to overwrite the other's counts: half
// the units run), in the JSON and the tables.
func TestShardsSharingAStoreReport(t *testing.T) {
	url := storetest.Postgres(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	for i := range 2 {
		code, _, stderr := runCmd("sweep", study, "--store", url, "--shard", fmt.Sprintf("%d/2", i), "--out", filepath.Join(dir, fmt.Sprint("shard", i)), "--workers", "1")
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
	}
	code, stdout, stderr := runCmd("report", "--store", url, "--json", "--out", filepath.Join(dir, "rep"))
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	r := decodeStudyJSON(t, stdout)
	if r.UnitsTotal != 6 || r.UnitsRun != 6 || r.UnitsReused != 0 || len(r.Runs) != 2 || r.Runs[0].Part != "0/2" || r.Runs[1].Part != "1/2" {
		t.Errorf("report --store: %d units, %d run, %d reused, runs %+v; want 6 run by the 2 shards", r.UnitsTotal, r.UnitsRun, r.UnitsReused, r.Runs)
	}
	code, stdout, stderr = runCmd("report", "--store", url, "--out", filepath.Join(dir, "rep"))
	if code != 0 || !strings.Contains(stdout, "6 units (6 trained by its 2 shards, 0 reused)") ||
		!strings.Contains(readFile(t, filepath.Join(dir, "rep", "report.html")), "6 (6 trained by its 2 shards, 0 reused)") {
		t.Errorf("report --store: exit %d, not \"6 trained by its 2 shards\":\n%s%s", code, stdout, stderr)
	}
}
