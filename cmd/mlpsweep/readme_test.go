package main

import (
	"bytes"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
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
