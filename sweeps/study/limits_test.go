package study

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/internal/allocs"
)

// aliasBomb is the "billion laughs" in YAML: each anchor repeats the one
// before nine times, 9⁹ values once expanded.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9), ", "))
	}
	b.WriteString("grid:\n  lr: *a9\n")
	return b.String()
}

// numbers lists 1 … n as a YAML flow list.
func numbers(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprint(i + 1)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// TestLimits: each hostile study fails at once with a message naming its
// limit, without allocating more than a few MB.
func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"alias bomb", aliasBomb(), "over 1000000 values once its aliases are expanded"},
		{"deep flow", "description: " + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + "\n", "brackets nested 50000 deep, over the limit of 64"},
		{"deep mapping", "description: " + strings.Repeat("{a: ", 70) + "1" + strings.Repeat("}", 70) + "\n", "brackets nested 70 deep"},
		{"deep block", func() string {
			var b strings.Builder
			b.WriteString("description:\n")
			for i := 1; i < 100; i++ {
				b.WriteString(strings.Repeat(" ", i) + "a:\n")
			}
			return b.String()
		}(), "nested 65 deep, over the limit of 64"},
		{"big grid", "grid:\n  batch: " + numbers(1000) + "\n  epochs: " + numbers(1000) + "\n  hidden: " + numbers(1000) + "\n", "the grid has over 20000 combinations"},
		{"many axis values", "axes:\n  - name: b\n    key: batch\n    values: " + numbers(7_000) + "\n  - name: e\n    key: epochs\n    values: " + numbers(7_000) + "\n  - name: h\n    key: hidden\n    values: " + numbers(7_000) + "\n", "21000 values, over the limit of 20000"},
		{"random n", "random:\n  n: 200000\n  params:\n    lr: {log_uniform: [1e-4, 1]}\n", "200000 samples, over the limit of 20000"},
		{"units", "folds: 1000\ngrid:\n  batch: " + numbers(2000) + "\n", "2000 configurations × 1000 folds = 2000000 trainings, over the limit of 1000000"},
		{"one error per value", "axes:\n  - name: b\n    key: batch\n    values: [" + strings.Repeat("x, ", 10_000) + "x]\n", "more problems after the first 50 are not shown"},
		{"file size", "description: \"" + strings.Repeat("x", MaxFileBytes) + "\"\n", "over the limit of 131072"},
		{"lines", strings.Repeat("a: 1\n", 8192), "8193 lines, over the limit of 4096"},
	} {
		bound := allocs.Bound(t, 200<<20)
		_, err := ParseStudy([]byte(tc.src), "study.yaml")
		bound()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %.300v\nwant it to say %q", tc.name, err, tc.want)
		}
	}
}

// TestReadStudyLimits: a file over the size limit, and a device that never
// ends, are refused before they are read whole.
func TestReadStudyLimits(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1500 << 20) // sparse: no disk used
	f.Close()
	if _, err := ReadStudy(big); err == nil || !strings.Contains(err.Error(), "1572864000 bytes, over the limit of 131072") {
		t.Errorf("1.5 GB file: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := ReadStudy("/dev/zero"); err == nil || !strings.Contains(err.Error(), "over 131072 bytes, the limit") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

// A value quoted in a message is cut short, however large it is.
func TestMessagesQuoteValuesBriefly(t *testing.T) {
	_, err := ParseStudy([]byte("name: ["+strings.Repeat("x, ", 10_000)+"x]\n"), "study.yaml")
	if err == nil || len(err.Error()) > 400 || !strings.Contains(err.Error(), "…") {
		t.Errorf("err = %.500v (%d bytes)", err, len(fmt.Sprint(err)))
	}
}

// FuzzParseStudy: no study file makes the parser panic, hang or allocate
// over 200 MB, and one that parses stays within the limits.
func FuzzParseStudy(f *testing.F) {
	for _, name := range PresetNames() {
		src, err := PresetSource(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{
		"name: x\nbase: {lr: 1e-3, hidden: [64]}\naxes:\n  - {name: lr, key: lr, values: [1e-3, 1e-2]}\n",
		"grid: {lr: [0.1, 0.01], batch: [32, 64]}\nfolds: 3\n",
		"random: {n: 4, seed: 1, params: {lr: {log_uniform: [1e-4, 1e-1]}}}\n",
		"a: &a [1, 2]\nb: *a\n",
		"data: {csv: x.csv, label: y, scale: minmax}\n",
		aliasBomb(),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		defer allocs.Bound(t, 200<<20)() // the bound on a hostile file
		s, err := ParseStudy(src, "fuzz.yaml")
		if err != nil {
			return
		}
		if n := distinctConfigurations(s.Points); n < 1 || n > MaxConfigurations || n*s.Folds > MaxUnits {
			t.Fatalf("%d configurations × %d folds", n, s.Folds)
		}
	})
}

// TestNameIsOneFolder: the study's name becomes out/NAME, so a name that
// would climb out of out/ or hide in a listing is refused, from the name:
// key and from the file's name.
func TestNameIsOneFolder(t *testing.T) {
	for _, name := range []string{`"../../../x"`, `".."`, `a/b`, `"a\tb"`, `"\e[31mred"`} {
		errs := studyErrors(t, "name: "+name+"\n")
		if len(errs) != 1 || errs[0].Key != "name" || !strings.Contains(errs[0].Msg, "one plain folder name") {
			t.Errorf("name: %s: %v", name, errs)
		}
	}
	if _, err := ParseStudy([]byte("epochs: 1\n"), "dir/-rf.yaml"); err == nil || !strings.Contains(err.Error(), "named after its file") {
		t.Errorf("file -rf.yaml: %v", err)
	}
	if s, err := ParseStudy([]byte("name: mnist lr sweep\n"), "study.yaml"); err != nil || s.Name != "mnist lr sweep" {
		t.Errorf("plain name: %v", err)
	}
}
