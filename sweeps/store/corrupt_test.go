package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// seedDB stores in dir what a --curves run of the seed study leaves: every
// unit done with a 10-epoch learning curve. It returns the units.
func seedDB(t testing.TB, dir string) []sweeps.Unit {
	t.Helper()
	st, err := study.Preset("seed")
	if err != nil {
		t.Fatal(err)
	}
	h := sweeps.Header{Name: "seed", Folds: st.Folds, Epochs: 10, Seed: st.Seed, Split: sweeps.KFoldSplit(st.Folds, st.Seed),
		Data: "mnist (60000 rows)", DataSHA: "0123456789abcdef", Engine: "engine-test"}
	units := sweeps.Plan(h, st.Points)
	s, err := openSQLite(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveStudy(h, st.Points); err != nil {
		t.Fatal(err)
	}
	for i, u := range units {
		r := sweeps.UnitResult{Accuracy: 0.9 + float64(i)/1e4, ValLoss: 0.3, Seconds: 12.5, Samples: 450000}
		for e := 1; e <= 10; e++ {
			r.Epochs = append(r.Epochs, engine.EpochStats{Epoch: e, Loss: 1 / float64(e+i), Accuracy: 0.9, ValLoss: 0.31, ValAccuracy: 0.89,
				Seconds: 1.25, SamplesPerSecond: 36000})
		}
		if err := s.MarkRunning(u.ID, h.Name, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveUnit(u.ID, h.Name, r); err != nil {
			t.Fatal(err)
		}
	}
	return units
}

// sqliteCheck runs PRAGMA pragma (integrity_check or quick_check) on the
// database at path with a plain read-only connection: "ok" or what SQLite
// reports.
func sqliteCheck(t testing.TB, path, pragma string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`PRAGMA ` + pragma)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err.Error()
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		lines = append(lines, err.Error())
	}
	return strings.Join(lines, "\n")
}

const pageSize = 4096 // SQLite's default, which the store keeps

// zeroSector returns db's bytes with the first 512-byte sector of page
// (1-based) cleared.
func zeroSector(db []byte, page int) []byte {
	b := bytes.Clone(db)
	clear(b[(page-1)*pageSize:][:512])
	return b
}

// garbage returns db's bytes with 64 bytes of garbage at offset in page.
func garbage(db []byte, page, offset int) []byte {
	b := bytes.Clone(db)
	copy(b[(page-1)*pageSize+offset:], bytes.Repeat([]byte("garbage!"), 8))
	return b
}

// TestDamagedDatabaseIsRefused damages a database of the seed study's size
// in the middle, header intact, as a disk can: Open (a sweep), OpenReader,
// LoadStudy and StudyNames (a report) all refuse it, naming the file and
// saying how to go on, and leave it byte for byte as it was. So do files
// that are not SQLite databases at all.
func TestDamagedDatabaseIsRefused(t *testing.T) {
	dir := t.TempDir()
	seedDB(t, dir)
	healthy, err := os.ReadFile(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	pages := len(healthy) / pageSize
	if pages < 50 || len(healthy)%pageSize != 0 {
		t.Fatalf("database of %d bytes: want ≥ 50 pages of %d", len(healthy), pageSize)
	}

	// Find damage SQLite reports: a sector of a page past the middle
	// zeroed, and garbage in a page that only integrity_check reports (a
	// row that no longer matches its index: what made a damaged database
	// train and store units twice).
	scratch := filepath.Join(t.TempDir(), DBName)
	check := func(b []byte, pragma string) string {
		if err := os.WriteFile(scratch, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return sqliteCheck(t, scratch, pragma)
	}
	var zeroed, indexOnly []byte
	for page := pages / 2; page <= pages && zeroed == nil; page++ {
		if b := zeroSector(healthy, page); check(b, "integrity_check") != "ok" {
			zeroed = b
			t.Logf("sector of page %d zeroed: %s", page, check(b, "integrity_check"))
		}
	}
	for page := 2; page <= pages && indexOnly == nil; page++ {
		for _, offset := range []int{1000, 3000} {
			if b := garbage(healthy, page, offset); check(b, "quick_check") == "ok" && check(b, "integrity_check") != "ok" {
				indexOnly = b
				t.Logf("garbage at %d in page %d: %s (quick_check: ok)", offset, page, check(b, "integrity_check"))
				break
			}
		}
	}
	if zeroed == nil || indexOnly == nil {
		t.Fatal("found no damage that SQLite reports")
	}

	for _, c := range []struct {
		name string
		file []byte
	}{
		{"sector zeroed", zeroed},
		{"row not in its index", indexOnly},
		{"truncated in the middle", healthy[:pages/2*pageSize]},
		{"truncated in the header", healthy[:50]},
		{"not a database", bytes.Repeat([]byte("id,accuracy\n7,0.97\n"), 500)},
		{"empty", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, DBName)
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			opens := map[string]func() error{
				"Open":       func() error { s, err := openSQLite(dir, true); closeIf(s); return err },
				"OpenReader": func() error { s, err := openSQLite(dir, false); closeIf(s); return err },
				"LoadStudy":  func() error { _, err := LoadStudy(context.Background(), dir, "", false); return err },
				"StudyNames": func() error { _, err := StudyNames(context.Background(), dir); return err },
			}
			for name, open := range opens {
				err := open()
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%s: %v, want ErrCorrupt", name, err)
				}
				msg := err.Error()
				for _, want := range []string{path + ": ", "nothing was written", "Restore a copy", "mv " + path + " " + path + ".corrupt"} {
					if !strings.Contains(msg, want) {
						t.Errorf("%s: %q does not say %q", name, msg, want)
					}
				}
				if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, c.file) {
					t.Fatalf("%s modified the file (%v)", name, err)
				}
				if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
					t.Fatalf("%s wrote %d bytes of write-ahead log", name, fi.Size())
				}
			}
		})
	}
}

func closeIf(s *SQLite) {
	if s != nil {
		s.Close()
	}
}

// TestDamagedAdviceMovesTheLog: when the damaged file has a write-ahead log
// beside it (a sweep was killed), the advice moves it too, so that a new
// database does not replay it.
func TestDamagedAdviceMovesTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBName)
	if err := os.WriteFile(path+"-wal", []byte("log"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := corrupt(path, errors.New("damaged"), true)
	if want := "mv " + path + " " + path + ".corrupt && mv " + path + "-wal " + path + ".corrupt-wal"; !strings.Contains(err.Error(), want) {
		t.Errorf("%q does not say %q", err, want)
	}
	err = corrupt("/out dir/it's.db", errors.New("damaged"), false)
	if want := `mv '/out dir/it'\''s.db' '/out dir/it'\''s.db.corrupt'`; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("%q does not say %q", err, want)
	}
}

// TestErrorsNameTheDatabase: errors past Open name the file too.
func TestErrorsNameTheDatabase(t *testing.T) {
	dir := t.TempDir()
	seedDB(t, dir)
	path := filepath.Join(dir, DBName)
	s, err := openSQLite(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Study(context.Background(), "nope"); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("unknown study: %v", err)
	}
	if err := s.SaveUnit(sweeps.UnitID{Key: "k"}, "seed", sweeps.UnitResult{}); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("a reader's write: %v", err)
	}
	s.Close()
	if _, err := s.States(); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("closed store: %v", err)
	}
}

// BenchmarkIntegrityCheck measures the check Open makes, integrity_check,
// against the cheaper quick_check (which skips matching indexes with their
// tables), on a database of the seed study's size.
func BenchmarkIntegrityCheck(b *testing.B) {
	dir := b.TempDir()
	seedDB(b, dir)
	path := filepath.Join(dir, DBName)
	for _, pragma := range []string{"quick_check", "integrity_check"} {
		b.Run(pragma, func(b *testing.B) {
			for b.Loop() {
				db, err := sqlOpen(path, "mode=ro")
				if err != nil {
					b.Fatal(err)
				}
				var ok string
				if err := db.QueryRow(`PRAGMA ` + pragma).Scan(&ok); err != nil || ok != "ok" {
					b.Fatal(ok, err)
				}
				db.Close()
			}
		})
	}
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			s, err := openSQLite(dir, true)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
}
