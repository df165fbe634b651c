package store

import (
	"strings"
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

// releaseSchemaV2 is the schema the previous release created in SQLite
// (schema version 2): version 1's with the extra column beside epochs.
var releaseSchemaV2 = strings.Replace(releaseSchemaV1, "-- per-epoch metrics, JSON\n",
	"-- per-epoch metrics, JSON: []engine.EpochStats\n\textra          TEXT NOT NULL DEFAULT '',\n", 1)
