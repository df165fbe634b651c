package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// namedPath is a file of the command line and the flag that names it
// ("--save"), for messages.
type namedPath struct{ flag, path string }

// checkOutDir makes sure dir can hold a command's output before any work
// starts: it creates dir if missing and checks that a file can be written
// there. flag names the flag in messages ("--out").
func checkOutDir(flag, dir string) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("%s %s is a file, not a folder: give a folder (it is created if missing)", flag, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s %s: cannot create the folder: %w", flag, dir, err)
	}
	if err := canWrite(dir); err != nil {
		return fmt.Errorf("%s %s: cannot write in the folder: %w", flag, dir, err)
	}
	return nil
}

// canWrite checks that a new file can be created in the folder dir.
func canWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".mlpsweep-write-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// checkOutputs checks, before a command loads data or trains, that each
// output file (an empty path is skipped) can be written and would destroy
// no input: it returns -1 to go on, 2 (usage) when an output names an
// input or another output — the same path or, through a link, the same
// file — and 1 when its folder is missing or cannot be written or the
// output is a folder.
func checkOutputs(stderr io.Writer, command string, outputs, inputs []namedPath) int {
	for i, out := range outputs {
		if out.path == "" {
			continue
		}
		for _, in := range inputs {
			if in.path != "" && sameFile(out.path, in.path) {
				return usageError(stderr, command, "%s %s is also the input %s %s: writing it would destroy the input; give another file", out.flag, out.path, in.flag, in.path)
			}
		}
		for _, other := range outputs[:i] {
			if other.path != "" && sameFile(out.path, other.path) {
				return usageError(stderr, command, "%s and %s name the same file %s: give each its own", other.flag, out.flag, out.path)
			}
		}
		if err := checkWritable(out); err != nil {
			return fail(stderr, command, err)
		}
	}
	return -1
}

// sameFile reports whether paths a and b name the same file: the same
// path once cleaned and made absolute, or, when both exist, the same file
// reached through a link or another path.
func sameFile(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// checkWritable checks that out's folder exists and takes a new file, and
// that out is not a folder, nor a device or FIFO (/dev/null), which the
// output's atomic write (atomicfile.Write) would refuse after the work.
func checkWritable(out namedPath) error {
	name := out.flag + " " + out.path
	if fi, err := os.Stat(out.path); err == nil && fi.IsDir() {
		return atomicfile.NotRegular(name, fi.Mode(), "a file", "give a file name")
	}
	if m, ok := atomicfile.Replaceable(out.path); !ok {
		return atomicfile.NotRegular(name, m, "a regular file", fmt.Sprintf("give a file name, or leave %s out to write nothing", out.flag))
	}
	dir := filepath.Dir(out.path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: the folder %s does not exist: create it first, or give another path", out.flag, out.path, dir)
	case err != nil:
		return fmt.Errorf("%s %s: %w", out.flag, out.path, err)
	case !fi.IsDir():
		return fmt.Errorf("%s %s: %s is not a folder", out.flag, out.path, dir)
	}
	if err := canWrite(dir); err != nil {
		return fmt.Errorf("%s %s: cannot write in the folder %s: %w", out.flag, out.path, dir, err)
	}
	return nil
}

// checkReportFiles checks, before report or merge reads a store, that the
// report files they write into dir can replace what is there: none is a
// folder. A dir that does not exist yet (merge creates it) passes.
func checkReportFiles(dir string) error {
	for _, name := range []string{report.ResultsCSVFile, report.ResultsJSONFile, report.ReportHTMLFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.IsDir() {
			return fmt.Errorf("%s is a folder, where the report writes its file %s: move it aside", filepath.Join(dir, name), name)
		}
	}
	return nil
}

// studyOutputs lists the files a sweep, a merge or a report writes in its
// output folder dir, but its database, which store.Open checks (a folder
// there, a file that is not a database).
func studyOutputs(dir string) []namedPath {
	var out []namedPath
	for _, name := range []string{report.ResultsCSVFile, report.ResultsJSONFile, report.ReportHTMLFile, scheduler.RefitModelFile} {
		out = append(out, namedPath{"--out", filepath.Join(dir, name)})
	}
	return out
}

// studyInputs lists the files a sweep of s reads: the study file (none for
// a preset) and its data.
func studyInputs(s *study.Study, positional []string) []namedPath {
	var in []namedPath
	if len(positional) > 0 {
		in = append(in, namedPath{"study file", positional[0]})
	}
	return append(in, namedPath{"data", s.Data.Path}, namedPath{"labels", s.Data.Labels}, namedPath{"test", s.Data.Test})
}
