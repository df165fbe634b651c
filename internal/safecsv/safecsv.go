// Package safecsv writes CSV cells that a spreadsheet opens as text, never
// as a formula (CSV or formula injection): every CSV the tool writes
// (results.csv, predict's predictions) goes through it, since axis values,
// configuration keys and class labels come from study and data files.
//
// The rule is OWASP's (CSV Injection): a cell beginning with '=', '+', '-',
// '@', a tab or a carriage return gets a leading single quote, which
// spreadsheets take for "this is text" and hide; OWASP ASVS 1.2.10 adds
// NUL, also escaped. One exception, decided here: a cell that is a plain
// number as Go's strconv.ParseFloat reads it ("-0.5", "-1e-3", "-inf") is
// left alone, since a number cannot call a function and quoting it would
// make every negative value in a results table text instead of a number.
// The quote stays in the file, so a program reading it back sees "'=x";
// that is the lesser evil.
package safecsv

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// Cell returns s escaped against formula injection (not yet quoted for
// CSV's own syntax: Writer and Field do that).
func Cell(s string) string {
	if s == "" || strings.IndexByte("=+-@\t\r\x00", s[0]) < 0 {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

// Field returns s as one RFC 4180 field: escaped by Cell, then quoted
// when it holds a comma, a double quote or a line break.
func Field(s string) string {
	s = Cell(s)
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// Writer is an encoding/csv Writer that escapes every field by Cell.
type Writer struct {
	w      *csv.Writer
	record []string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each field escaped by Cell.
func (w *Writer) Write(record []string) error {
	w.record = w.record[:0]
	for _, f := range record {
		w.record = append(w.record, Cell(f))
	}
	return w.w.Write(w.record)
}

// Flush writes any buffered data; Error reports a failed Write or Flush.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports an error of a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
