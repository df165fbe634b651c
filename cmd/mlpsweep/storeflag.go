package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

// The store flag: --store URL, or $MLPSWEEP_STORE, names a PostgreSQL
// store; without either a command keeps its units in its folder's SQLite
// database. Every command opens its store through store.Open.

// storeEnv names the environment variable that gives --store when the
// flag is not set.
const storeEnv = "MLPSWEEP_STORE"

const storeUsage = "store units in the PostgreSQL database at this postgres:// URL instead of OUT/mlpsweep.db (default: $" + storeEnv + "; --store '' means OUT/mlpsweep.db)"

// storeURL returns the PostgreSQL URL the command line asks for: --store
// when set, otherwise $MLPSWEEP_STORE; "" for SQLite. from names where it
// came from, for messages. A URL that is not a valid postgres:// URL is an
// error (a usage error).
func storeURL(fs *flag.FlagSet, flagValue string) (url, from string, err error) {
	url, from = os.Getenv(storeEnv), storeEnv
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "store" {
			url, from = flagValue, "--store"
		}
	})
	if url == "" {
		return "", "", nil
	}
	if _, _, err := store.ParsePostgresURL(url); err != nil {
		return "", "", fmt.Errorf("%s: %w", from, err)
	}
	return url, from, nil
}

// openStore opens the store at where (a folder, or the URL from names),
// naming from in errors.
func openStore(where, from string, opts ...store.Option) (store.Store, error) {
	st, err := store.Open(commandContext(), where, opts...)
	if err != nil && from != "" {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	return st, err
}

// inReadOnlyFolder adds to err, a failure to open the sweep folder dir's
// database, what to do when the folder cannot be written (a read-only
// mount, another user's folder): SQLite reads a database in WAL mode only
// beside its -shm file, which it cannot create there, and says only
// "unable to open database file". merge reads such a folder (as a shard,
// in SQLite's immutable mode) into one that can be written.
func inReadOnlyFolder(err error, dir string) error {
	if _, statErr := os.Stat(filepath.Join(dir, store.DBName)); statErr != nil || canWrite(dir) == nil {
		return err
	}
	return fmt.Errorf("%w: the folder %s cannot be written, and SQLite reads a database there only once it has created its -shm file beside it; copy the study into a folder you can write, with mlpsweep merge NEWDIR %s (it reads the folder as a finished shard), and use NEWDIR", err, dir, dir)
}

// keptInPostgres adds to err, a sweep folder without a database, what to
// do (todo, from its punctuation on) when one of dirs holds its sweep's report but no database:
// its sweep kept its units in a PostgreSQL store (--store or
// MLPSWEEP_STORE, which sbatch passes on to array tasks), which holds
// every shard's units, and wrote only its report files to the folder.
func keptInPostgres(err error, dirs []string, todo string) error {
	if !errors.Is(err, store.ErrNoStore) {
		return err
	}
	for _, dir := range dirs {
		_, report := os.Stat(filepath.Join(dir, "results.json"))
		_, db := os.Stat(filepath.Join(dir, store.DBName))
		if report == nil && errors.Is(db, os.ErrNotExist) {
			return fmt.Errorf("%w; %s holds a sweep's report but no database: that sweep kept its units in a PostgreSQL store (--store or %s)%s", err, dir, storeEnv, todo)
		}
	}
	return err
}

// openQueueStore opens the PostgreSQL store of queue mode (status,
// worker, sweep --enqueue/--wait) at url from storeURL, for command cmd.
// It returns -1 to go on, or the exit status: 2 when no URL was given
// (why says what needs one), 1 when the store does not open.
func openQueueStore(url, from, cmd, why string, stderr io.Writer, opts ...store.Option) (*store.Postgres, int) {
	if url == "" {
		return nil, usageError(stderr, cmd, "%sgive --store postgres://USER:PASSWORD@HOST:PORT/DATABASE (or set %s)", why, storeEnv)
	}
	st, err := openStore(url, from, opts...)
	if err != nil {
		return nil, fail(stderr, cmd, err)
	}
	return st.(*store.Postgres), -1 // a postgres:// URL opens PostgreSQL
}
