// Command mlpsweep trains and hyperparameter-sweeps small MLPs on multicore
// CPUs: `mlpsweep train` runs one configuration, `mlpsweep sweep` a whole
// study, `mlpsweep help` lists every command.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
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
			fmt.Fprintf(stderr, "mlpsweep help: unknown command %q\n\n", args[1])
		default:
			usage(stdout)
			return 0
		}
		usage(stderr)
		return 2
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "mlpsweep: unknown command %q\n\n", args[0])
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
       that cannot be written, a training error
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
	if err := fs.Parse(args); err != nil {
		return 2
	}
	return -1
}

// parseInterleaved parses flags that may come after positional arguments
// (`sweep study.yaml --out x`), which package flag alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string, stdout io.Writer) (positional []string, code int) {
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return nil, code
	}
	for fs.NArg() > 0 {
		positional = append(positional, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, 2
		}
	}
	return positional, -1
}

// usageError prints a usage error for command name and returns status 2.
func usageError(stderr io.Writer, name, format string, a ...any) int {
	fmt.Fprintf(stderr, "mlpsweep %s: %s\nRun 'mlpsweep %s --help' for usage.\n", name, fmt.Sprintf(format, a...), name)
	return 2
}

// fail prints a runtime error for command name and returns status 1.
func fail(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "mlpsweep %s: %s\n", name, strings.TrimSpace(err.Error()))
	return 1
}
