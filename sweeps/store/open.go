package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Option changes how Open opens a store; options combine with |.
type Option uint

const (
	// ReadOnly opens an existing store to read it: a sweep folder's
	// database must exist and is opened without the folder's lock (it
	// reads while a sweep writes); a PostgreSQL database without
	// mlpsweep's tables is ErrNoStore, not a store with new tables, and its
	// connections refuse writes. The one write either makes is bringing a
	// store written by an older mlpsweep up to the current schema.
	ReadOnly Option = 1 << iota
	// Snapshot, with ReadOnly, reads a finished store (one no process
	// writes, such as a shard whose sweep ended) without writing anything
	// at all: a sweep folder's database is opened immutable, so a folder
	// the user may only read works. A PostgreSQL store is read as ReadOnly
	// reads it.
	Snapshot
)

// ErrNoStore is returned (wrapped) when a store opened ReadOnly does not
// exist: a folder without a database, a PostgreSQL database without
// mlpsweep's tables.
var ErrNoStore = errors.New("no sweep database")

// Open opens the store at where: the PostgreSQL database of a postgres://
// (or postgresql://) URL, otherwise the SQLite database of the sweep
// folder where (where/mlpsweep.db). Without ReadOnly it opens the store
// to write, creating it (folder, database file, tables) when missing; a
// folder's writer holds the folder's lock until Close (ErrLocked when
// another process holds it). Either database is checked first: a damaged
// SQLite file is ErrCorrupt, a store written by a newer mlpsweep is
// refused, and nothing is written to either. A where that looks like a
// URL of another kind is ErrBadURL. Every error names the store, a URL
// without its password (Redact).
//
// Open is the one way into a store: every command and library caller
// opens through it. Callers that need PostgreSQL's own methods (the queue:
// Pool, SaveUnitTx, UnitStates) assert the result to *Postgres.
func Open(ctx context.Context, where string, opts ...Option) (Store, error) {
	var o Option
	for _, x := range opts {
		o |= x
	}
	readOnly := o&ReadOnly != 0
	switch {
	case IsPostgresURL(where):
		return openPostgres(ctx, where, readOnly)
	case strings.Contains(where, "://"):
		_, _, err := ParsePostgresURL(where) // says what is wrong with it
		return nil, err
	case where == "":
		return nil, fmt.Errorf("no store given: want a sweep folder or a postgres:// URL")
	case Redact(where) != where:
		// A keyword/value connection string (host=… password=…): not a
		// folder, and its password must not reach a message as one.
		return nil, fmt.Errorf("%w: %q is a keyword/value connection string: give a postgres:// URL", ErrBadURL, Redact(where))
	}
	if readOnly && o&Snapshot != 0 {
		s, err := openSnapshot(where)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := openSQLite(where, !readOnly)
	if err != nil {
		return nil, err
	}
	return s, nil
}
