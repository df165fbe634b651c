package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// ErrMismatch is returned (wrapped) by Merge when the shards (or the
// output) do not hold the same study: another study, another definition of
// it, another engine version (or, strict, ISA path) or other data.
var ErrMismatch = errors.New("shards do not belong together")

// MergeResult says what Merge did.
type MergeResult struct {
	Study  string   // the merged study
	Shards []string // the shards merged, in order: folders, URLs without their passwords
	Units  int      // the study's units
	// Done, Pruned, Failed and Missing count the units by the result the
	// study takes for each in the output after the merge (sweeps.Reuse,
	// as report and status read it): done; pruned (a pruner stopped it,
	// in a study with one); failed (they run again on the next sweep).
	Done, Pruned, Failed int
	// Missing units have no result the study takes: they are in no
	// shard, only as running (a shard was interrupted), or only pruned
	// in a study without a pruner (which trains them again).
	Missing int
	Written int // unit rows written or replaced in the output
	// Duplicates counts units found finished (done or pruned) in more
	// than one shard (a rerun shard, or overlapping shards); each engine
	// identity's row is kept once.
	Duplicates int
	// Differing lists units done in several places by the same engine
	// identity with different results, which a deterministic engine never
	// gives: the first was kept.
	Differing []string
	// Engines lists the engine identities of the shards (and of the
	// output's study), the first shard's first: more than one only when
	// not strict, and then the merged study mixes units of several ISA
	// paths (its report says so).
	Engines []string
}

// unitColumns are the units table's columns, copied as they are (of a
// retrain, only its failure: see readUnitRows); a storedUnit's fields()
// lists them in this order.
const unitColumns = `key, fold, split, seed, data_sha256, engine_version, state, accuracy, val_loss, diverged, error, epochs, extra, seconds, samples, study, started, finished, host, cpu, isa, gflop, retrain_study, retrain_error`

// storedUnit is one units row as stored, copied from a shard to the
// output as it is; src names where it comes from.
type storedUnit struct {
	id                  sweeps.UnitID // key, fold, split, seed, data_sha256, engine_version
	state               string
	accuracy, valLoss   sql.NullFloat64
	diverged            int64
	errText             string
	epochs, extra       string // JSON
	seconds             sql.NullFloat64
	samples             sql.NullInt64
	study               string
	started, finished   sql.NullInt64 // unix nanoseconds
	host, cpu, isa      string
	gflop               float64 // training GEMM work
	retrain, retrainErr string  // a study's failed retrain of a pruned row (saveUnit)
	src                 string
}

// fields are pointers to r's columns in unitColumns order: Scan fills
// them, and an INSERT reads through them.
func (r *storedUnit) fields() []any {
	return []any{&r.id.Key, &r.id.Fold, &r.id.Split, &r.id.Seed, &r.id.Data, &r.id.Engine, &r.state,
		&r.accuracy, &r.valLoss, &r.diverged, &r.errText, &r.epochs, &r.extra, &r.seconds, &r.samples,
		&r.study, &r.started, &r.finished, &r.host, &r.cpu, &r.isa, &r.gflop, &r.retrain, &r.retrainErr}
}

// stored is r as sweeps.Reuse ranks it for study (Reuse.Study).
func (r *storedUnit) stored(study string) sweeps.Stored {
	if retrainFailed(r.state, r.retrain, r.retrainErr, study) {
		return sweeps.Stored{State: "failed", Engine: r.id.Engine}
	}
	return sweeps.Stored{State: r.state, Engine: r.id.Engine}
}

// shardData is what Merge reads from a shard.
type shardData struct {
	dir    string
	h      sweeps.Header
	points []study.Point
	// rows are the shard's rows of each planned unit (by anyEngine of
	// its ID): one per engine identity the study may take (readUnitRows).
	rows      map[sweeps.UnitID][]*storedUnit
	decisions []sweeps.Decision // a pruned study's rung decisions
}

// anyEngine is id without its engine identity: the key of a unit's rows
// in shards that ran under several ISA paths.
func anyEngine(id sweeps.UnitID) sweeps.UnitID {
	id.Engine = ""
	return id
}

// Merge merges the study (name "" means each shard's most recent one) of
// the shards (each a folder written by mlpsweep sweep --shard I/N --out
// DIR, or a store's PostgreSQL URL; read only) into the database in out, creating it if needed, in one
// transaction. It refuses, writing nothing, shards that hold different
// studies, different definitions of one (its header and configurations),
// different engine versions or data, or other rung decisions of a pruned
// study (ErrMismatch, naming the shard), and an output holding another
// definition of the study. Shards run on hosts with other ISA paths of
// the same engine version are merged (res.Engines lists them; the report
// notes the mix) unless strict, which refuses them too.
//
// The output holds what one store shared by the shards would: each
// unit's rows of the engine identities the study may take (its own, and
// unless strict those of the other ISA paths of its engine version), one
// per identity, failed and interrupted (running) ones too; and a pruned
// study's rung decisions. Of one unit and identity in several places it
// keeps the row a store keeps (unitReplaces, the one rule saveUnit
// writes by: done, then pruned the deepest, then failed, then running),
// of rows as far on the first shard's; the output's row stays unless a
// shard's is as far on, so merging again changes nothing. Which of a
// unit's rows the study takes is the rule every reader follows
// (sweeps.Reuse; report, status and a sweep read the output by it), and
// res counts the units by it.
//
// Report of the output then prints what report of a store shared by the
// shards prints, but where that store's content depends on the order of
// its writes: the study's own engine identity is the merge's first
// shard's (the store's: the shard that saved the study last); of rows
// of one unit and identity as far on, the store keeps the one written
// last (of two done ones, which differ only when Differing says so).
// Not merged: the partial learning curves of units interrupted, the
// queue's checkpoints, a refit (its model file is not in the shards
// either) and the marks of a pruned unit that another study trains
// further (but a failure of that retrain is).
//
// The merged study's run is its shards' (see mergedHeader): its wall time
// is the longest shard's (the elapsed time when shards run at once), and
// its units run and reused are the sums over the shards.
func Merge(ctx context.Context, out string, shardDirs []string, name string, strict bool) (MergeResult, error) {
	var res MergeResult
	shards, err := readShards(ctx, shardDirs, name, strict, &res)
	if err != nil {
		return res, err
	}
	first := shards[0]
	h := mergedHeader(shards)
	res.Study = h.Name
	units := sweeps.Plan(h, first.points)
	res.Units = len(units)
	if _, err := mergedDecisions(nil, "", h.Name, shards); err != nil { // before OUT is created
		return res, err
	}

	// Check the output before creating or locking anything in it.
	if _, err := os.Stat(filepath.Join(out, DBName)); err == nil {
		r, err := openSQLite(out, false)
		if err != nil {
			return res, err
		}
		err = r.checkOutStudy(ctx, out, first, h.Name, strict, &res)
		r.Close()
		if err != nil {
			return res, err
		}
	}

	st, err := openSQLite(out, true)
	if err != nil {
		return res, err
	}
	defer st.Close()
	// Again under the lock: a sweep may have written out meanwhile.
	if err := st.checkOutStudy(ctx, out, first, h.Name, strict, &res); err != nil {
		return res, err
	}
	reuse := sweeps.Reuse{Strict: strict, Pruned: h.Schedule.Pruner != nil, Study: h.Name}
	err = st.mergeTx(ctx, func(tx *sql.Tx) error {
		c := sqlConn{tx}
		ds, err := decisions(ctx, c, h.Name)
		if err != nil {
			return err
		}
		if ds, err = mergedDecisions(ds, out, h.Name, shards); err != nil {
			return err
		}
		if err := saveMergedStudy(ctx, tx, h, first.points); err != nil {
			return err
		}
		if len(ds) > 0 {
			if err := replaceDecisions(ctx, c, h.Name, ds); err != nil {
				return err
			}
		}
		for _, u := range units {
			old, err := readUnitRows(ctx, c, u.ID, strict)
			if err != nil {
				return err
			}
			for _, r := range old {
				r.src = out
			}
			kept, err := mergeRows(ctx, tx, u.ID, old, shards, &res)
			if err != nil {
				return err
			}
			var taken sweeps.Stored // the row the study takes (none yet)
			for _, r := range kept {
				if reuse.Better(r.stored(h.Name), taken, u.ID.Engine) {
					taken = r.stored(h.Name)
				}
			}
			switch rank := reuse.Rank(taken, u.ID.Engine); {
			case taken.State == "done":
				res.Done++
			case taken.State == "pruned" && rank == 0:
				res.Pruned++
			case taken.State == "failed":
				res.Failed++
			default: // none, only running (its shard was interrupted), or pruned without a pruner
				res.Missing++
			}
		}
		return nil
	})
	return res, err
}

// readShards reads every shard, checking that each holds the first's
// study, and lists them and their engine identities in res.
func readShards(ctx context.Context, dirs []string, name string, strict bool, res *MergeResult) ([]*shardData, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no shard directories to merge")
	}
	var shards []*shardData
	for _, dir := range dirs {
		sh, err := readShard(ctx, dir, name, strict)
		if err != nil {
			return nil, err
		}
		if len(shards) > 0 {
			if err := sameStudy(shards[0].dir, shards[0].h, shards[0].points, sh.dir, sh.h, sh.points, strict); err != nil {
				return nil, err
			}
		}
		shards = append(shards, sh)
		res.Shards = append(res.Shards, sh.dir)
		if !slices.Contains(res.Engines, sh.h.Engine) {
			res.Engines = append(res.Engines, sh.h.Engine)
		}
	}
	return shards, nil
}

// mergedHeader is the first shard's header with the shards' latest runs'
// records (Runs), each once: a shard's (a sweep --shard's, or of a shared
// store's shards) as it is, any other as a part of one run "merge" by its
// shard's name. Read back (sweeps.LatestRun), the merged study's time is
// the longest shard's, its units run and reused the sums over the shards.
func mergedHeader(shards []*shardData) sweeps.Header {
	h := shards[0].h
	var records []sweeps.RunRecord
	for _, sh := range shards {
		for _, r := range sh.h.Runs {
			if !strings.HasPrefix(r.Run, "shards ") {
				r.Run, r.Part = "merge", sh.dir
			}
			i := slices.IndexFunc(records, func(o sweeps.RunRecord) bool { return o.Run == r.Run && o.Part == r.Part })
			switch {
			case i < 0:
				records = append(records, r)
			case r.Finished > records[i].Finished:
				records[i] = r
			}
		}
	}
	h.Runs = records
	return h
}

// mergeRows writes the shards' rows of unit id into the output (tx),
// where old are its rows, and returns the output's rows of the unit then,
// one per engine identity. Each is written by unitReplaces, as into a
// store the shards shared, last shard first: of rows as far on (done
// twice, pruned as deep), the first shard's stays. It counts in res the
// rows it changed (Written), a unit finished in several shards
// (Duplicates) and done rows of one engine identity whose numbers differ
// (Differing).
func mergeRows(ctx context.Context, tx *sql.Tx, id sweeps.UnitID, old []*storedUnit, shards []*shardData, res *MergeResult) ([]*storedUnit, error) {
	done := map[string]*storedUnit{} // the first done row of each engine identity
	differs := func(r *storedUnit) {
		if r.state != "done" {
			return
		}
		switch d := done[r.id.Engine]; {
		case d == nil:
			done[r.id.Engine] = r
		case !sameResult(d, r):
			res.Differing = append(res.Differing, fmt.Sprintf("%s fold %d (%s and %s)", id.Key, id.Fold, d.src, r.src))
		}
	}
	finishedIn := 0
	for _, sh := range shards {
		finished := false
		for _, r := range sh.rows[anyEngine(id)] {
			finished = finished || r.state == "done" || r.state == "pruned"
			differs(r)
		}
		if finished {
			finishedIn++
		}
	}
	if finishedIn > 1 {
		res.Duplicates++
	}
	for _, r := range old { // replaced by a shard's as far on
		differs(r)
	}
	kept := slices.Clone(old)
	for _, sh := range slices.Backward(shards) {
		for _, r := range sh.rows[anyEngine(id)] {
			i := slices.IndexFunc(kept, func(k *storedUnit) bool { return k.id.Engine == r.id.Engine })
			if i >= 0 && kept[i].sameRow(r) {
				continue
			}
			written, err := writeRow(ctx, tx, r)
			switch {
			case err != nil:
				return nil, err
			case !written:
			case i < 0:
				kept = append(kept, r)
			default:
				kept[i] = r
			}
		}
	}
	for _, r := range kept {
		if !slices.ContainsFunc(old, r.sameRow) {
			res.Written++
		}
	}
	return kept, nil
}

// sameRow reports whether r and o hold the same columns.
func (r *storedUnit) sameRow(o *storedUnit) bool {
	a, b := *r, *o
	a.src, b.src = "", ""
	return a == b
}

// writeRow writes r into the output by unitReplaces, reporting whether
// it did (not when the output's row is further on).
func writeRow(ctx context.Context, tx *sql.Tx, r *storedUnit) (bool, error) {
	fields := r.fields()
	var set []string
	for _, col := range strings.Split(unitColumns, ", ")[6:] { // after the key
		set = append(set, col+" = excluded."+col)
	}
	res, err := tx.ExecContext(ctx, sqliteNames.Replace(`INSERT INTO mlpsweep_units (`+unitColumns+`) VALUES (?`+strings.Repeat(", ?", len(fields)-1)+`)
		ON CONFLICT (key, fold, split, seed, data_sha256, engine_version) DO UPDATE SET `+strings.Join(set, ", ")+`
		WHERE `+unitReplaces), fields...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// readShard reads a shard's study and its units' rows from the store at
// where (a shard's folder, checked first that no sweep is still writing
// it, or a PostgreSQL URL), opened read-only. Messages name it by dir (a
// URL without its password).
func readShard(ctx context.Context, where, name string, strict bool) (*shardData, error) {
	dir := Redact(where)
	if !IsPostgresURL(where) {
		if err := checkUnlocked(where); err != nil {
			return nil, err
		}
	}
	s, err := Open(ctx, where, ReadOnly|Snapshot) // shards may be read-only folders
	if err != nil {
		return nil, err
	}
	defer s.Close()
	h, points, err := s.Study(ctx, name) // its errors name the shard's database
	if err != nil {
		return nil, err
	}
	sh := &shardData{dir: dir, h: h, points: points, rows: map[sweeps.UnitID][]*storedUnit{}}
	if sh.decisions, err = s.Decisions(ctx, h.Name); err != nil {
		return nil, err
	}
	c, err := connOf(s)
	if err != nil {
		return nil, err
	}
	for _, u := range sweeps.Plan(h, points) {
		rows, err := readUnitRows(ctx, c, u.ID, strict)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name(), err)
		}
		for _, r := range rows {
			r.src = dir
		}
		if len(rows) > 0 {
			sh.rows[anyEngine(u.ID)] = rows
		}
	}
	return sh, nil
}

// checkUnlocked fails when a sweep holds dir's lock: its shard is not
// finished. It writes nothing (an existing lock file is opened read-only).
func checkUnlocked(dir string) error {
	if err := checkFolder(dir); err != nil {
		return err
	}
	path := filepath.Join(dir, LockName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close() // releases the lock if tryLock took it
	held, err := tryLock(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if held {
		holder, _ := os.ReadFile(path)
		return fmt.Errorf("shard %s: %w (%s): wait for the shard to finish, then merge", dir, ErrLocked, strings.TrimSpace(string(holder)))
	}
	return nil
}

// readUnitRows reads a unit's rows as stored, by engine identity: id's
// own and, unless strict, those of the other ISA paths of id's engine
// version (sweeps.Reusable), in any state.
func readUnitRows(ctx context.Context, c conn, id sweeps.UnitID, strict bool) ([]*storedUnit, error) {
	engine, args := `engine_version = $6`, []any{id.Key, id.Fold, id.Split, id.Seed, id.Data, id.Engine}
	if !strict {
		prefix := sweeps.EngineVersionOf(id.Engine) + "/"
		engine = `(engine_version = $6 OR substr(engine_version, 1, $7) = $8)`
		args = append(args, utf8.RuneCountInString(prefix), prefix)
	}
	rs, err := c.query(ctx, `SELECT `+unitColumns+` FROM mlpsweep_units
		WHERE key = $1 AND fold = $2 AND split = $3 AND seed = $4 AND data_sha256 = $5 AND `+engine+`
		ORDER BY engine_version`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var rows []*storedUnit
	for rs.Next() {
		var r storedUnit
		if err := rs.Scan(r.fields()...); err != nil {
			return nil, err
		}
		if r.retrainErr == "" {
			r.retrain = "" // a mark of a retrain running, or interrupted: not merged
		}
		rows = append(rows, &r)
	}
	return rows, rs.Err()
}

// sameResult reports whether two done rows hold the same numbers; wall
// times (a unit's seconds, its epochs' seconds and samples per second)
// differ between runs and are left out.
func sameResult(a, b *storedUnit) bool {
	sameFloat := func(x, y sql.NullFloat64) bool {
		return x.Valid == y.Valid && math.Float64bits(x.Float64) == math.Float64bits(y.Float64)
	}
	return sameFloat(a.accuracy, b.accuracy) && sameFloat(a.valLoss, b.valLoss) && a.diverged == b.diverged &&
		a.errText == b.errText && untimed(a.epochs) == untimed(b.epochs) && a.extra == b.extra && a.samples == b.samples
}

// untimed is an epochs column (JSON) without its wall times.
func untimed(s string) string {
	var epochs []map[string]any
	if json.Unmarshal([]byte(s), &epochs) != nil {
		return s
	}
	for _, e := range epochs {
		delete(e, "seconds")
		delete(e, "samples_per_second")
	}
	b, err := json.Marshal(epochs) // map keys sorted
	if err != nil {
		return s
	}
	return string(b)
}

// checkOutStudy fails when the database in out holds study name with
// another definition than the shards'.
func (s *SQLite) checkOutStudy(ctx context.Context, out string, first *shardData, name string, strict bool, res *MergeResult) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM study WHERE name = ?`, name).Scan(&n); err != nil {
		return s.err(err)
	}
	if n == 0 {
		return nil
	}
	h, points, err := s.Study(ctx, name)
	if err != nil {
		return err
	}
	if err := sameStudy(first.dir, first.h, first.points, out, h, points, strict); err != nil {
		return fmt.Errorf("%w; or merge into another OUT", err)
	}
	if !slices.Contains(res.Engines, h.Engine) {
		res.Engines = append(res.Engines, h.Engine)
	}
	return nil
}

// sameStudy fails, naming dir b, when b's study is not a's: another name,
// engine (version, or when strict identity), data, or definition (header
// or configurations).
func sameStudy(dirA string, a sweeps.Header, pa []study.Point, dirB string, b sweeps.Header, pb []study.Point, strict bool) error {
	fail := func(what string, va, vb any, hint string) error {
		return fmt.Errorf("%w: %s holds study %q with %s %v, but %s has %v: %s",
			ErrMismatch, dirB, b.Name, what, vb, dirA, va, hint)
	}
	const sameFlags = "every shard must run the same study file with the same flags (--epochs, --folds, --axes, --limit-rows, --data)"
	switch {
	case a.Name != b.Name:
		return fmt.Errorf("%w: %s holds study %q, but %s holds %q: merge each study's shards into its own OUT (or name one with --study)",
			ErrMismatch, dirB, b.Name, dirA, a.Name)
	case sweeps.EngineVersionOf(a.Engine) != sweeps.EngineVersionOf(b.Engine):
		return fail("engine", a.Engine, b.Engine,
			"its units were computed by another engine version, whose numerics differ; rerun that shard with the same mlpsweep version")
	case !sweeps.Reusable(b.Engine, a.Engine, strict):
		return fail("engine", a.Engine, b.Engine,
			"its units were computed on another ISA path and are not bit-identical (--strict-engine); rerun that shard on the same kind of machine, or merge without --strict-engine to accept them, noted in the report")
	case a.DataSHA != b.DataSHA:
		return fail("data fingerprint", a.DataSHA+" ("+a.Data+")", b.DataSHA+" ("+b.Data+")", "it trained on other data; "+sameFlags)
	case a.Folds != b.Folds:
		return fail("folds", a.Folds, b.Folds, sameFlags)
	case a.Epochs != b.Epochs:
		return fail("epochs", a.Epochs, b.Epochs, sameFlags)
	case a.Seed != b.Seed:
		return fail("seed", a.Seed, b.Seed, sameFlags)
	case a.Split != b.Split:
		return fail("split", a.Split, b.Split, sameFlags)
	case a.Data != b.Data:
		return fail("data", a.Data, b.Data, sameFlags)
	case len(pa) != len(pb):
		return fail("configurations:", len(pa), len(pb), sameFlags)
	}
	for i := range pa {
		x, y := pa[i], pb[i]
		if x.Axis != y.Axis || x.Value != y.Value || x.Params.Key() != y.Params.Key() {
			return fail(fmt.Sprintf("configuration %d:", i+1), fmt.Sprintf("%s=%s (%s)", x.Axis, x.Value, x.Params.Key()),
				fmt.Sprintf("%s=%s (%s)", y.Axis, y.Value, y.Params.Key()), sameFlags)
		}
	}
	return nil
}

// mergeTx runs f in one transaction, committing when it returns nil.
func (s *SQLite) mergeTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.err(err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return s.err(err)
	}
	return s.err(tx.Commit())
}

// saveMergedStudy writes a study's header and configurations in tx,
// replacing what was stored under its name, its run records by h.Runs.
func saveMergedStudy(ctx context.Context, tx *sql.Tx, h sweeps.Header, points []study.Point) error {
	c := sqlConn{tx}
	if err := saveStudy(ctx, c, h, points); err != nil {
		return err
	}
	if err := c.exec(ctx, `DELETE FROM mlpsweep_runs WHERE study = $1`, h.Name); err != nil {
		return err
	}
	for _, r := range h.Runs {
		if err := saveRun(ctx, c, h.Name, r, r.Finished); err != nil {
			return err
		}
	}
	return nil
}

// mergedDecisions returns a pruned study's rung decisions for the output:
// the longest list of ds (from, the output's) and the shards', which must
// each begin it. Shards of a pruned study share one store, whose
// decisions they all made and read; a shard deciding otherwise is not
// one of them (ErrMismatch, naming it).
func mergedDecisions(ds []sweeps.Decision, from, name string, shards []*shardData) ([]sweeps.Decision, error) {
	for _, sh := range shards {
		a, b, bFrom := ds, sh.decisions, sh.dir
		if len(b) < len(a) {
			a, b, bFrom = b, a, from
		}
		for i := range a {
			if !sameDecision(a[i], b[i]) {
				d, o := sh.decisions[i], ds[i]
				return nil, fmt.Errorf("%w: %s holds other rung decisions of pruned study %q than %s (decision %d: configuration %.8s at epoch %d %s, against %.8s at epoch %d %s): "+
					"the shards of a pruned study share one store and decide alike; merge each run into its own OUT",
					ErrMismatch, sh.dir, name, from, i+1, d.Key, d.Epoch, d.Verdict(), o.Key, o.Epoch, o.Verdict())
			}
		}
		ds, from = b, bFrom
	}
	return ds, nil
}
