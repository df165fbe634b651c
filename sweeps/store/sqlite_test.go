package store

import (
	"context"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// releaseSchemaV1 is the schema the first release created in SQLite (and
// left user_version 0): INTEGER and REAL where migrations say BIGINT and
// DOUBLE PRECISION, which SQLite gives the same affinities.
const releaseSchemaV1 = `
CREATE TABLE IF NOT EXISTS study (
	name           TEXT PRIMARY KEY,
	folds          INTEGER NOT NULL,
	epochs         INTEGER NOT NULL,
	seed           INTEGER NOT NULL,
	split          TEXT NOT NULL,    -- how folds were drawn, e.g. "kfold k=4 seed=42"
	data           TEXT NOT NULL,    -- data set name and rows
	data_sha256    TEXT NOT NULL,
	engine_version TEXT NOT NULL,
	wall_seconds   REAL NOT NULL,    -- summed over every invocation
	units_run      INTEGER NOT NULL, -- by the last invocation
	units_reused   INTEGER NOT NULL, -- by the last invocation
	updated        INTEGER NOT NULL  -- unix nanoseconds of the last invocation
);
CREATE TABLE IF NOT EXISTS configs (
	study    TEXT NOT NULL,
	position INTEGER NOT NULL,
	axis     TEXT NOT NULL,
	value    TEXT NOT NULL,
	key      TEXT NOT NULL,
	params   TEXT NOT NULL, -- normalized engine.Config, JSON
	PRIMARY KEY (study, position)
);
CREATE TABLE IF NOT EXISTS units (
	key            TEXT NOT NULL,
	fold           INTEGER NOT NULL,
	split          TEXT NOT NULL,
	seed           INTEGER NOT NULL,
	data_sha256    TEXT NOT NULL,
	engine_version TEXT NOT NULL,
	state          TEXT NOT NULL, -- running (or interrupted), done, failed
	accuracy       REAL,
	val_loss       REAL,          -- NULL when NaN
	diverged       INTEGER NOT NULL DEFAULT 0,
	error          TEXT NOT NULL DEFAULT '',
	epochs         TEXT NOT NULL DEFAULT '[]', -- per-epoch metrics, JSON
	seconds        REAL,
	samples        INTEGER,
	study          TEXT NOT NULL,  -- the study that last ran it
	started        INTEGER,        -- unix nanoseconds
	finished       INTEGER,
	PRIMARY KEY (key, fold, split, seed, data_sha256, engine_version)
);`

// TestOpensPreviousReleaseDatabase: a database the previous release
// created at schema version 2 (INTEGER and REAL columns, extra beside
// epochs) opens without migrating, reads back, and takes new units and
// studies.
func TestOpensPreviousReleaseDatabase(t *testing.T) {
	dir := t.TempDir()
	v2 := strings.Replace(releaseSchemaV1, "-- per-epoch metrics, JSON\n",
		"-- per-epoch metrics, JSON: []engine.EpochStats\n\textra          TEXT NOT NULL DEFAULT '',\n", 1)
	if v2 == releaseSchemaV1 {
		t.Fatal("test does not add the extra column")
	}
	sqliteExec(t, dir, v2, `PRAGMA user_version = 2`,
		`INSERT INTO units (key, fold, split, seed, data_sha256, engine_version, state, accuracy, val_loss, diverged, error, epochs, extra, seconds, samples, study, finished)
		VALUES ('k', 1, 'sp', 9, 'd', 'e', 'done', 0.125, NULL, 1, 'diverged', '[]', '{"a":1}', 2.5, 640, 'st', 1)`)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := sweeps.UnitID{Key: "k", Fold: 1, Split: "sp", Seed: 9, Data: "d", Engine: "e"}
	u, state, err := s.Unit(id)
	if err != nil || state != "done" || u.Accuracy != 0.125 || !u.Diverged || u.Error != "diverged" || string(u.Extra) != `{"a":1}` || u.Samples != 640 {
		t.Fatalf("stored unit: %+v %q (%v)", u, state, err)
	}
	h, points := testStudy(t, "new")
	if err := s.SaveStudy(h, points); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveUnit(id, "new", sweeps.UnitResult{Accuracy: 0.5}); err != nil {
		t.Fatal(err)
	}
	if u, _, err := s.Unit(id); err != nil || u.Accuracy != 0.5 || u.Diverged {
		t.Errorf("replaced unit: %+v (%v)", u, err)
	}
	if _, pts, err := s.Study(context.Background(), "new"); err != nil || len(pts) != len(points) {
		t.Errorf("study: %d points (%v)", len(pts), err)
	}
	if v := schemaOf(t, backends[0], dir); v != 2 {
		t.Errorf("user_version %d", v)
	}
}
