package main

import (
	"strings"
	"testing"
)

// TestBadFlagIsOneLine: a flag that does not parse is a usage error of
// two lines, the error first (not package flag's whole flag list, in which
// it scrolls away), saying what the flag takes, and a misspelt flag's
// message names the flag meant.
func TestBadFlagIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--limit-row", "5"}, "mlpsweep train: unknown flag --limit-row (did you mean --limit-rows?)"},
		{[]string{"train", "--optimiser", "sgd"}, "mlpsweep train: unknown flag --optimiser (did you mean --optimizer?)"},
		{[]string{"train", "--lim", "5"}, "mlpsweep train: unknown flag --lim (did you mean --limit-rows?)"},
		{[]string{"train", "--l", "5"}, "mlpsweep train: unknown flag --l\n"}, // l1, l2, lr: no guess
		{[]string{"train", "--bogus"}, "mlpsweep train: unknown flag --bogus\n"},
		{[]string{"train", "--epochs", "abc"}, `mlpsweep train: --epochs "abc": want a whole number`},
		{[]string{"train", "--lr", "x"}, `mlpsweep train: --lr "x": want a number`},
		{[]string{"train", "--nesterov=maybe"}, `mlpsweep train: --nesterov "maybe": want true or false`},
		{[]string{"train", "--hidden", "128,-3"}, `mlpsweep train: --hidden "128,-3": want a list of positive widths such as 128,64`},
		// Defect: "invalid value "0" for flag -depths: "0" is not a list…",
		// and --depths 99999999999 died of Go's fatal out-of-memory.
		{[]string{"depth", "--depths", "0"}, `mlpsweep depth: --depths "0": want a list of numbers of hidden layers, each 1 to 1024`},
		{[]string{"depth", "--depths", "2,99999999999"}, `mlpsweep depth: --depths "2,99999999999": want a list of numbers of hidden layers, each 1 to 1024`},
		// Defect: "invalid boolean value "maybe" for -fuse: strconv.ParseBool: …".
		{[]string{"sweep", "--preset", "seed", "--fuse=maybe"}, `mlpsweep sweep: --fuse "maybe": want true or false`},
		{[]string{"worker", "--min-timeout", "5"}, `mlpsweep worker: --min-timeout "5": want a duration such as 500ms, 30s or 2m`},
		// Defect: NaN and 1e308 were taken (every timeout became
		// --min-timeout), and --liveness-every had no upper bound.
		{[]string{"worker", "--timeout-factor", "NaN"}, "mlpsweep worker: --timeout-factor NaN: want a factor from 1 to 1000000 (default 10)"},
		{[]string{"worker", "--timeout-factor", "1e308"}, "mlpsweep worker: --timeout-factor 1e+308: want a factor from 1 to 1000000"},
		{[]string{"worker", "--timeout-factor", "0.5"}, "mlpsweep worker: --timeout-factor 0.5: want a factor from 1 to 1000000"},
		{[]string{"worker", "--liveness-every", "1000h"}, "mlpsweep worker: --liveness-every 1000h0m0s: want 100ms to 10m0s (default 5s)"},
		{[]string{"worker", "--workers", "5000"}, "mlpsweep worker: --workers 5000: want at most 4096"},
		{[]string{"sweep", "study.yaml", "--wokers", "2"}, "mlpsweep sweep: unknown flag --wokers (did you mean --workers?)"}, // after a positional argument
		{[]string{"report", "dir", "--jsn"}, "mlpsweep report: unknown flag --jsn (did you mean --json?)"},
	} {
		code, stdout, stderr := runCmd(tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) || len(lines) != 2 ||
			lines[1] != "Run 'mlpsweep "+tc.args[0]+" --help' for usage." {
			t.Errorf("%v: exit %d, want 2 and %q in two lines:\n%s", tc.args, code, tc.want, stderr)
		}
	}
}

// TestHelpAsAFlagValue: --help=true is not one of the spellings
// parseFlags looks for; package flag's ErrHelp still prints the usage.
func TestHelpAsAFlagValue(t *testing.T) {
	code, _, stderr := runCmd("train", "--help=true")
	if code != 2 || !strings.HasPrefix(stderr, "Usage: mlpsweep train") || strings.Contains(stderr, "help requested") {
		t.Errorf("train --help=true: exit %d:\n%s", code, stderr)
	}
}

// TestUnknownCommandNamesTheMeantOne: a misspelt command's error names the
// command meant, and exits 2.
func TestUnknownCommandNamesTheMeantOne(t *testing.T) {
	for args, want := range map[string]string{
		"swep":      `mlpsweep: unknown command "swep" (did you mean sweep?)`,
		"--sweep":   `mlpsweep: unknown command "--sweep" (did you mean sweep?)`,
		"trian":     `mlpsweep: unknown command "trian" (did you mean train?)`,
		"help serv": `mlpsweep help: unknown command "serv" (did you mean serve?)`,
		"xyz":       `mlpsweep: unknown command "xyz"` + "\n",
	} {
		code, _, stderr := runCmd(strings.Fields(args)...)
		if code != 2 || !strings.HasPrefix(stderr, want) {
			t.Errorf("%s: exit %d, want 2 and %q:\n%s", args, code, want, stderr)
		}
	}
}
