package safecsv

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"sgd":                  "sgd",
		"=HYPERLINK(\"x\")":    "'=HYPERLINK(\"x\")",
		"+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
		"-2+3":                 "'-2+3",
		"@SUM(A1)":             "'@SUM(A1)",
		"\t=1":                 "'\t=1",
		"\r=1":                 "'\r=1",
		"\x00=1":               "'\x00=1",
		"-0.5":                 "-0.5",
		"-1e-3":                "-1e-3",
		"+3":                   "+3",
		"-inf":                 "-inf",
		"-1":                   "-1",
		"a=1":                  "a=1",
		"'=already":            "'=already",
		"lr=0.01, batch=64":    "lr=0.01, batch=64",
		"-cmd|' /C calc'!A0":   "'-cmd|' /C calc'!A0",
		"=1,2":                 "'=1,2",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// Both writers produce CSV that reads back as the escaped cells.
func TestWriters(t *testing.T) {
	rec := []string{"=1+2", "a,\"b\"", "-0.25", "x\ny", "@x"}
	want := []string{"'=1+2", "a,\"b\"", "-0.25", "x\ny", "'@x"}
	var a bytes.Buffer
	w := NewWriter(&a)
	w.Write(rec)
	w.Flush()
	if w.Error() != nil {
		t.Fatal(w.Error())
	}
	var b bytes.Buffer
	for i, f := range rec {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Field(f))
	}
	b.WriteByte('\n')
	for _, buf := range []*bytes.Buffer{&a, &b} {
		got, err := csv.NewReader(buf).Read()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("field %d reads back %q, want %q", i, got[i], want[i])
			}
		}
	}
}
