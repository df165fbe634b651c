package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps/serve"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

func init() {
	register(command{name: "serve", summary: "serve a live web page of the studies in sweep folders or a PostgreSQL store", run: runServe})
}

const serveSynopsis = `serve [DIR…] [--store postgres://…] [--addr 127.0.0.1:8080] [--token SECRET | --open]

Serves a web page of every study in the sweep folders DIR… (their
mlpsweep.db) or in the PostgreSQL database at --store (or MLPSWEEP_STORE):
the list of studies with their progress, ETA and rate, and each study's
tables and plots (the same page as report.html), its units in flight and
its search; the depth study's findings. The page follows the stores live
while sweeps and workers write to them from other processes: a finished
unit shows within a second or two, without reloading. It only reads.

It listens on 127.0.0.1 unless --addr says otherwise; another address
needs --token SECRET (every request must then carry it: open the address
printed, which has ?token=…) or --open (anyone who reaches it reads the
studies). The JSON the page reads is documented in docs/json.md; a study's
is what 'mlpsweep report --json' prints. Stop it with Ctrl-C.`

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", serveSynopsis, stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on this HOST:PORT (port 0: any free port)")
	token := fs.String("token", "", "require this secret of every request (needed for a non-loopback --addr unless --open)")
	open := fs.Bool("open", false, "serve a non-loopback --addr without a token: anyone who reaches it reads the studies")
	storeFlag := fs.String("store", "", "serve the PostgreSQL database at this postgres:// URL (default without DIR: $"+storeEnv+")")
	strict := fs.Bool("strict-engine", false, "show only units computed under each study's engine identity (see report --strict-engine)")
	poll := fs.Duration("poll", 500*time.Millisecond, "how often the stores are checked for changes")
	positional, code := parseInterleaved(fs, args, stdout)
	if code >= 0 {
		return code
	}
	pgURL, from, err := storeURL(fs, *storeFlag)
	if err != nil {
		return usageError(stderr, "serve", "%v", err)
	}
	switch {
	case len(positional) > 0 && from == "--store":
		return usageError(stderr, "serve", "give sweep folders or --store, not both")
	case len(positional) == 0 && pgURL == "":
		return usageError(stderr, "serve", "give one or more sweep folders, or --store postgres://… (or set %s)", storeEnv)
	case *poll < 50*time.Millisecond || *poll > time.Minute:
		return usageError(stderr, "serve", "--poll %v: want 50ms to 1m", *poll)
	case *open && *token != "":
		return usageError(stderr, "serve", "--open serves without a token: give --token or --open, not both")
	}
	if err := serve.CheckAddr(*addr, *token, *open); err != nil {
		return usageError(stderr, "serve", "%v", err)
	}

	var sources []serve.Source
	defer func() {
		for _, s := range sources {
			s.Store.Close()
		}
	}()
	wheres, froms := positional, make([]string, len(positional))
	if len(positional) == 0 {
		wheres, froms = []string{pgURL}, []string{from}
	}
	for i, where := range wheres {
		st, err := openStore(where, froms[i], store.ReadOnly)
		if err != nil && froms[i] == "" { // a sweep folder
			err = keptInPostgres(inReadOnlyFolder(err, where), []string{where}, ": serve it with mlpsweep serve --store URL")
		}
		if err != nil {
			return fail(stderr, "serve", err)
		}
		sources = append(sources, serve.Source{Name: st.Name(), Store: st})
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(stderr, "serve", fmt.Errorf("cannot listen on %s: %w (another server there? try --addr 127.0.0.1:0 for any free port)", *addr, err))
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	logger := log.New(stderr, "mlpsweep serve: ", log.LstdFlags)
	srv := serve.New(sources, serve.Options{Token: *token, Poll: *poll, Strict: *strict, Log: logger,
		Loopback: net.ParseIP(host).IsLoopback() && *token == ""})
	defer srv.Close()
	page := "http://" + ln.Addr().String() + "/"
	if *token != "" {
		page += "?token=" + url.QueryEscape(*token)
	}
	fmt.Fprintf(stdout, "serving %d store(s) at %s\n", len(sources), page)

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	ctx := commandContext() // canceled by Ctrl-C or SIGTERM (interrupt.go)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fail(stderr, "serve", err)
	case <-ctx.Done():
	}
	srv.Close() // ends the event streams, so that Shutdown need not wait for them
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fail(stderr, "serve", err)
	}
	fmt.Fprintln(stderr, "mlpsweep serve: interrupted; stopped serving (the stores are as they were: it only reads)")
	return 130
}
