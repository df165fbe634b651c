// Command mlpsweep trains and hyperparameter-sweeps small MLPs on multicore
// CPUs: `mlpsweep train` runs one configuration, `mlpsweep sweep` a whole
// study, `mlpsweep help` lists every command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/spell"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// command is one subcommand. run returns the process exit status (see
// exitStatusHelp).
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is filled by each command's file in its init function.
var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func main() { os.Exit(runWithSignals(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		switch {
		case len(args) > 2:
			fmt.Fprintf(stderr, "mlpsweep help: want one command at most, got %s\n\n", strings.Join(args[1:], " "))
		case len(args) == 2:
			if c, ok := commands[args[1]]; ok {
				return c.run([]string{"--help"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "mlpsweep help: unknown command %q%s\n\n", args[1], meantCommand(args[1]))
		default:
			usage(stdout)
			return 0
		}
		usage(stderr)
		return 2
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "mlpsweep: unknown command %q%s\n\n", args[0], meantCommand(args[0]))
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "mlpsweep trains and sweeps small neural networks (MLPs) fast on CPUs.")
	fmt.Fprintln(w, "\nUsage: mlpsweep COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'mlpsweep COMMAND --help' for a command's flags.")
	fmt.Fprint(w, exitStatusHelp)
}

// exitStatusHelp is the one rule every command follows (README: Exit status).
const exitStatusHelp = `
Exit status:
  0    success (a diverged training run is a result, not a failure)
  1    the command line was fine but the work failed: an input file missing,
       unreadable or invalid (study file, CSV or MNIST files, sweep
       database; also a CSV label column that is missing or looks
       continuous, a --limit-rows that leaves one class), an output folder
       that cannot be written, a training error, a sweep some of whose
       units failed (after its report)
  2    usage error: the command line itself is wrong (unknown command or
       flag, malformed or out-of-range value, wrong number of arguments,
       flags that exclude or need each other, a name the command does not
       know: --preset, --scale, --axes)
  130  interrupted (Ctrl-C or SIGTERM); finished results are kept
`

// newFlagSet returns a flag set that reports errors instead of exiting, and
// prints synopsis and every flag on --help.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mlpsweep %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs. It returns -1 to go on, or the exit status
// to return: 0 after --help (usage printed to stdout), 2 on a bad flag.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
	}
	return parseArgs(fs, args)
}

// parseArgs runs fs.Parse, and on a bad flag prints the error as every
// usage error is printed (one line and where to find the usage, instead
// of package flag's whole flag list, in which the error scrolls away),
// naming the flag meant when an unknown one looks like a typo. It returns
// -1 to go on, or 2.
func parseArgs(fs *flag.FlagSet, args []string) int {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case err == nil:
		if msg := badSetFlag(fs); msg != "" {
			return usageError(out, fs.Name(), "%s", msg)
		}
		return -1
	case errors.Is(err, flag.ErrHelp): // -help=true and the like: the usage, as ever
		usage()
		return 2
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		msg = "unknown flag --" + name
		if meant := closestFlag(fs, name); meant != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", meant)
		}
	} else if m := badValue.FindStringSubmatch(msg); m != nil {
		// Package flag says only "parse error" or "value out of range", a
		// BoolFunc strconv's error; a flag.Value of ours says what it wants.
		why := m[3]
		if why == "parse error" || why == "value out of range" || strings.HasPrefix(why, "strconv.") {
			why = wantOf(fs.Lookup(m[2]))
		}
		msg = fmt.Sprintf("--%s %s: %s", m[2], m[1], why)
	}
	return usageError(out, fs.Name(), "%s", msg)
}

// maxCores bounds --threads and --workers: each is a goroutine with its
// buffers, and a value past any machine's cores (a typo's 10¹¹) would
// only exhaust memory (Go's fatal out-of-memory, a stack trace).
const maxCores = 4096

// badSetFlag says what is wrong with a flag the command line set to a
// value package flag takes but no command means, or returns "":
//   - an empty string, which every command would read as the flag left
//     out (--save "" saving nothing, --data "" loading the default data,
//     --resume "" starting afresh), except --store, whose "" means the
//     folder's SQLite database;
//   - a count of cores (--threads, --workers) above maxCores.
func badSetFlag(fs *flag.FlagSet) string {
	var msg string
	fs.Visit(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok || msg != "" {
			return
		}
		switch v := g.Get().(type) {
		case string:
			if v == "" && f.Name != "store" {
				def := ""
				if f.DefValue != "" {
					def = fmt.Sprintf(" (default %q)", f.DefValue)
				}
				msg = fmt.Sprintf("--%s '': an empty value: give one, or leave the flag out for its default%s", f.Name, def)
			}
		case int:
			if (f.Name == "threads" || f.Name == "workers") && v > maxCores {
				msg = fmt.Sprintf("--%s %d: want at most %d (this machine has %d cores)", f.Name, v, maxCores, runtime.NumCPU())
			}
		}
	})
	return msg
}

// badValue matches package flag's error for a value its type cannot hold.
var badValue = regexp.MustCompile(`^invalid (?:boolean )?value (".*") for (?:flag )?-(\S+): (.*)$`)

// wantOf says what a flag of f's type takes.
func wantOf(f *flag.Flag) string {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return "want true or false" // a BoolFunc's too
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return "not a valid value"
	}
	switch g.Get().(type) {
	case bool:
		return "want true or false"
	case int, int64:
		return "want a whole number"
	case uint, uint64:
		return "want a whole number ≥ 0"
	case float64:
		return "want a number"
	case time.Duration:
		return "want a duration such as 500ms, 30s or 2m"
	}
	return "not a valid value"
}

// meantCommand is " (did you mean sweep?)" for a misspelt command ("swep",
// "--sweep"), else "".
func meantCommand(name string) string {
	if c := spell.Closest(strings.TrimLeft(name, "-"), slices.Collect(maps.Keys(commands))); c != "" {
		return " (did you mean " + c + "?)"
	}
	return ""
}

// closestFlag returns the flag of fs that name most likely misspells
// (the one flag it begins, else the closest), or "".
func closestFlag(fs *flag.FlagSet, name string) string {
	var names, prefixOf []string
	fs.VisitAll(func(f *flag.Flag) {
		names = append(names, f.Name)
		if strings.HasPrefix(f.Name, name) {
			prefixOf = append(prefixOf, f.Name)
		}
	})
	if len(prefixOf) == 1 {
		return prefixOf[0]
	}
	return spell.Closest(name, names)
}

// parseInterleaved parses flags that may come after positional arguments
// (`sweep study.yaml --out x`), which package flag alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string, stdout io.Writer) (positional []string, code int) {
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return nil, code
	}
	for fs.NArg() > 0 {
		if fs.Arg(0) == "" { // an unset shell variable ("$DIR"): no file or folder is called ""
			return nil, usageError(fs.Output(), fs.Name(), "an empty argument (an unset shell variable?): give a file or folder")
		}
		positional = append(positional, fs.Arg(0))
		if code := parseArgs(fs, fs.Args()[1:]); code >= 0 {
			return nil, code
		}
	}
	return positional, -1
}

// tooMany says which of --epochs and --folds is above a study file's
// bound (study.MaxEpochs, study.MaxFolds): a command line takes no more
// than a study file does.
func tooMany(epochs, folds int) string {
	if epochs > study.MaxEpochs {
		return fmt.Sprintf("--epochs %d: want at most %d, as a study file's epochs:", epochs, study.MaxEpochs)
	}
	return fmt.Sprintf("--folds %d: want at most %d, as a study file's folds:", folds, study.MaxFolds)
}

// isSet reports whether the command line set fs's flag name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// usageError prints a usage error for command name and returns status 2.
func usageError(stderr io.Writer, name, format string, a ...any) int {
	fmt.Fprintf(stderr, "mlpsweep %s: %s\nRun 'mlpsweep %s --help' for usage.\n", name, fmt.Sprintf(format, a...), name)
	return 2
}

// warnCores says when n, a --workers or --threads flag's value, is more
// than the cores there are: they take turns on the cores, with the same
// results, no faster than as many as the cores.
func warnCores(stderr io.Writer, name, flag string, n int) {
	if cores := runtime.NumCPU(); n > cores {
		fmt.Fprintf(stderr, "mlpsweep %s: %s %d on %d cores: they take turns on the cores (the same results, no faster than %s %d)\n", name, flag, n, cores, flag, cores)
	}
}

// fail prints a runtime error for command name and returns status 1.
func fail(stderr io.Writer, name string, err error) int {
	msg := strings.TrimSpace(err.Error())
	if errors.Is(err, syscall.ENOSPC) || strings.Contains(msg, sqliteFull) {
		msg += ": the disk is full; free space on it, then run the same command again"
		if name == "sweep" || name == "depth" {
			msg += " (it keeps the units stored)"
		}
	}
	fmt.Fprintf(stderr, "mlpsweep %s: %s\n", name, msg)
	return 1
}

// sqliteFull is SQLite's message for SQLITE_FULL (sqlite3_errstr), which
// modernc.org/sqlite returns without the ENOSPC under it.
const sqliteFull = "database or disk is full"
