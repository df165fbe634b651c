package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

// TestStoreCheckedBeforeData: sweep and depth open OUT/mlpsweep.db before
// they load any data: a database another process holds, a damaged one,
// one of a newer mlpsweep and a folder in its place are each reported at
// once with exit status 1, before "loading". The data given here would
// fail to load with an error of its own (checked first), so an error
// about the store after the load cannot pass.
func TestStoreCheckedBeforeData(t *testing.T) {
	dir := t.TempDir()
	// A CSV file that does not parse, and a folder without MNIST's files.
	if err := os.WriteFile(filepath.Join(dir, "bad.csv"), []byte("label,x\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	study := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(study, []byte("name: early\ndata: {csv: bad.csv, label: label}\nfolds: 2\nepochs: 1\nbase: {hidden: [4]}\ngrid: {lr: [0.1]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noMNIST := t.TempDir()
	args := func(cmd, out string) []string {
		if cmd == "depth" {
			return []string{"depth", "--data", noMNIST, "--depths", "1", "--variants", "sigmoid", "--epochs", "1", "--out", out}
		}
		return []string{"sweep", study, "--out", out, "--workers", "1"}
	}
	ctx := context.Background()

	for _, cmd := range []string{"sweep", "depth"} {
		// With a sound store, the data's own error, after "loading".
		code, _, stderr := runCmd(args(cmd, filepath.Join(dir, cmd+"-fresh"))...)
		if code != 1 || !strings.Contains(stderr, "loading") {
			t.Fatalf("%s with a fresh --out: exit %d, want 1 after loading the bad data:\n%s", cmd, code, stderr)
		}
	}

	for _, c := range []struct {
		name  string
		setup func(t *testing.T, out string)
		want  string
	}{
		{"locked", func(t *testing.T, out string) {
			st, err := store.Open(ctx, out) // this process's other open: the lock is held
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
		}, "in use by another sweep (pid "},
		{"corrupt", func(t *testing.T, out string) {
			if err := os.WriteFile(filepath.Join(out, store.DBName), []byte(strings.Repeat("not a database ", 300)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a readable mlpsweep database"},
		{"newer", func(t *testing.T, out string) {
			st, err := store.Open(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			db, err := sql.Open("sqlite", "file:"+filepath.Join(out, store.DBName))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
				t.Fatal(err)
			}
		}, "written by a newer mlpsweep (schema version 99"},
		{"folder", func(t *testing.T, out string) {
			if err := os.Mkdir(filepath.Join(out, store.DBName), 0o755); err != nil {
				t.Fatal(err)
			}
		}, store.DBName + " is a folder, not a database file: move it aside"},
	} {
		for _, cmd := range []string{"sweep", "depth"} {
			out := filepath.Join(dir, cmd+"-"+c.name)
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			c.setup(t, out)
			code, stdout, stderr := runCmd(args(cmd, out)...)
			if code != 1 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "loading") || stdout != "" {
				t.Errorf("%s, %s --out: exit %d, stderr:\n%s\nwant 1 and %q before any data is loaded", c.name, cmd, code, stderr, c.want)
			}
		}
	}
	// The readers of a folder say the same of a folder in the database's place.
	folder := filepath.Join(dir, "sweep-folder")
	for _, args := range [][]string{{"report", folder}, {"merge", filepath.Join(dir, "merged"), folder}} {
		want := filepath.Join(folder, store.DBName) + " is a folder, not a database file: move it aside"
		if code, _, stderr := runCmd(args...); code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant 1 and %q", args, code, stderr, want)
		}
	}
}
