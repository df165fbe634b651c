package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/bench"
)

// TestREADMEKnowsTheCLI: the README's list of commands has every command,
// and the README names every flag of every command (as --name), so a
// reader finds what --help offers. Defect: serve was missing from the
// list, and depth's --depths, --variants and --width, tune's --rounds and
// --dry-run, and serve's --poll were nowhere.
func TestREADMEKnowsTheCLI(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, cli, ok := strings.Cut(string(readme), "## The CLI\n\n```\n")
	if !ok {
		t.Fatal(`README: no "## The CLI" list of commands`)
	}
	cli, _, _ = strings.Cut(cli, "```")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.Contains(cli, "\nmlpsweep "+name+" ") && !strings.HasPrefix(cli, "mlpsweep "+name+" ") {
			t.Errorf("README's list of commands lacks mlpsweep %s", name)
		}
		// Every command's --help lists its flags: gather them from there.
		var out, errOut bytes.Buffer
		if code := commands[name].run([]string{"--help"}, &out, &errOut); code != 0 {
			t.Fatalf("%s --help: exit %d", name, code)
		}
		for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(out.String(), -1) {
			if !regexp.MustCompile(`--` + regexp.QuoteMeta(m[1]) + `\b`).Match(readme) {
				t.Errorf("README never names %s's flag --%s", name, m[1])
			}
		}
	}
}

// TestREADMENamesEveryJSONKey: every key of the JSON objects train --json
// and sweep --json print is named (as `key`) where the README describes
// them, and train's in its --help. Defects: train's gflop, gflops,
// peak_gflops, percent_of_peak and blocks were in neither, and the
// study's tiers and blocks, and bench's trans_a, trans_b and peak_source,
// not in the README.
func TestREADMENamesEveryJSONKey(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The README's passage from its line that begins with start to the
	// next blank line.
	passage := func(start string) string {
		i := bytes.Index(readme, []byte("\n"+start))
		if i < 0 {
			t.Fatalf("README: no line begins with %q", start)
		}
		p, _, _ := strings.Cut(string(readme[i+1:]), "\n\n")
		return p
	}
	keys := func(args ...string) []string {
		code, stdout, stderr := runCmd(args...)
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(stdout), &m); code != 0 || err != nil {
			t.Fatalf("%v: exit %d, %v:\n%s", args, code, err, stderr)
		}
		return slices.Sorted(maps.Keys(m))
	}
	dir := t.TempDir()
	data := writeBlobsCSV(t, dir, "blobs.csv", 60, 3)
	var help bytes.Buffer
	commands["train"].run([]string{"--help"}, &help, &help)
	trainRow := passage("| `--json` | end with one JSON object")
	for _, k := range append(keys("train", "--csv", data, "--hidden", "2", "--epochs", "1", "--threads", "1", "--json"), "divergence") {
		if !strings.Contains(trainRow, "`"+k+"`") {
			t.Errorf("README's train --json row lacks `%s`", k)
		}
		if !regexp.MustCompile(`\b` + k + `\b`).Match(help.Bytes()) {
			t.Errorf("train --help lacks the JSON key %s", k)
		}
	}
	// bench --json: every key of bench.Result, set or not.
	benchList := passage("`--json` prints a list of objects with `name`")
	for f := range reflect.TypeFor[bench.Result]().Fields() {
		if k, _, _ := strings.Cut(f.Tag.Get("json"), ","); !strings.Contains(benchList, "`"+k+"`") {
			t.Errorf("README's bench --json passage lacks `%s`", k)
		}
	}
	study := passage("`--json` prints the study as that page reads it")
	for _, k := range keys("sweep", writeCSVStudy(t, dir), "--out", filepath.Join(dir, "out"), "--workers", "1", "--json") {
		if !strings.Contains(study, "`"+k+"`") {
			t.Errorf("README's sweep --json passage lacks `%s`", k)
		}
	}
}
