package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
)

// Every command meets SIGINT (Ctrl-C) and SIGTERM the same way, with exit
// status 130 (exitStatusHelp): the first signal cancels commandContext; a
// command that stops cleanly on it (stopsOnCancel: it keeps what it
// finished and drops what was in flight) returns, and any other status it
// returns then becomes 130. A command that has nothing to keep half-done
// (predict, export, bench) is stopped at once, as is any command on a
// second signal or stopGrace after the first (one blocked in a system
// call, such as opening a FIFO or connecting to a server that does not
// answer): the temporary files of its writes in progress are
// removed (the files they would replace stay as they were) and the
// process exits 130.

// stopsOnCancel lists the commands whose work watches commandContext.
var stopsOnCancel = map[string]bool{
	"train": true, "sweep": true, "worker": true, "depth": true,
	"report": true, "merge": true, "status": true, "serve": true,
}

// stopGrace is how long a command of stopsOnCancel has to stop after the
// first signal.
const stopGrace = 3 * time.Second

var (
	interruptMu  sync.Mutex
	interruptCtx = context.Background()
)

// commandContext is the context of the command's work: canceled by the
// first SIGINT or SIGTERM when mlpsweep runs as a program; never canceled
// when a test calls run directly.
func commandContext() context.Context {
	interruptMu.Lock()
	defer interruptMu.Unlock()
	return interruptCtx
}

// runWithSignals is run with the handling of SIGINT and SIGTERM above.
func runWithSignals(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interruptMu.Lock()
	interruptCtx = ctx
	interruptMu.Unlock()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	go func() {
		sig := <-sigs
		if stopsOnCancel[name] {
			cancel()
			select {
			case sig = <-sigs:
			case <-time.After(stopGrace):
			}
		}
		atomicfile.RemoveTemps()
		fmt.Fprintf(stderr, "mlpsweep %s: interrupted (%v); exit status 130\n", name, sig)
		os.Exit(130)
	}()
	code := run(args, stdout, stderr)
	if ctx.Err() != nil && code != 0 && code != 130 {
		// The command failed because it was canceled ("context canceled").
		fmt.Fprintf(stderr, "mlpsweep %s: interrupted; exit status 130\n", name)
		code = 130
	}
	return code
}

// interrupted prints the error of a run Ctrl-C or SIGTERM stopped (one
// that wraps scheduler.ErrInterrupted: what was kept, what to run to
// resume) and returns status 130. The scheduler's error ends with the
// context's own ": context canceled", kept for errors.Is; it is no news
// to the user, who pressed Ctrl-C, and reads like a failure: it is cut.
func interrupted(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "mlpsweep %s: %s\n", name, strings.TrimSuffix(err.Error(), ": "+context.Canceled.Error()))
	return 130
}
