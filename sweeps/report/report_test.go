package report

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// reportDoc reads the Document inlined in dir's report.html.
func reportDoc(t *testing.T, dir string) Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ReportHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	// The SVG namespace is a name, not an address the page loads.
	if page := strings.ReplaceAll(page, `"http://www.w3.org/2000/svg"`, ""); strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, " src=") {
		t.Error("report.html is not self-contained")
	}
	_, rest, ok := strings.Cut(page, `<script type="application/json" id="data">`)
	js, _, ok2 := strings.Cut(rest, "</script>")
	if !ok || !ok2 {
		t.Fatal("report.html carries no data")
	}
	var doc Document
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("report.html's data: %v", err)
	}
	return doc
}

// readReport is the view of dir's report.html as RenderPage lays it out
// (the page draws the same from the same data).
func readReport(t *testing.T, dir string) string {
	t.Helper()
	html, err := RenderPage(reportDoc(t, dir).View)
	if err != nil {
		t.Fatal(err)
	}
	return string(html)
}

// plots counts the figures of dir's report.html that have points.
func plots(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, s := range reportDoc(t, dir).View.Sections {
		for _, f := range s.Figures {
			if f.Plot == nil {
				t.Errorf("figure %q without data", f.Alt)
				continue
			}
			points := 0
			for _, se := range f.Plot.Series {
				if len(se.X) != len(se.Y) || (se.Err != nil && len(se.Err) != len(se.Y)) {
					t.Errorf("figure %q series %q: %d x, %d y, %d err", f.Alt, se.Label, len(se.X), len(se.Y), len(se.Err))
				}
				points += len(se.Y)
			}
			if points > 0 {
				n++
			}
		}
	}
	return n
}

func TestReportHTMLAxisStudy(t *testing.T) {
	dir := writeReport(t, axisStudy())
	page := readReport(t, dir)
	for _, want := range []string{
		"<title>Study demo-axes</title>",
		`<section id="axis-1">`, "<h2>Axis lr</h2>",
		`<section id="axis-2">`, "<h2>Axis hidden</h2>",
		`<p class="best-line">best lr = 0.01: accuracy 0.9750 ± 0.0041</p>`,
		`<p class="best-line">best hidden = [256,128]: accuracy 0.9820 ± 0.0022</p>`,
		`<tr class="best"><td>0.01</td><td>0.9750 ± 0.0041</td><td>0.0900</td><td>33.0</td><td></td></tr>`,
		`<tr class="bad"><td>1</td><td>0.6400 ± 0.3819</td><td>inf</td><td>33.0</td><td>diverged 1/3</td></tr>`,
		"<dt>units</dt><dd>18 (15 trained by this run, 3 reused)</dd>",
		"<dt>total time</dt><dd>2m05s</dd>",
		// 17 units × 4 epochs × 1000 samples + the diverged unit's 1 epoch, over 6 × 33 s.
		"<dt>training throughput</dt><dd>348 samples/s",
		"<li>lr=1 fold 1: diverged at epoch 2, step 7</li>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// Per axis: accuracy by value, validation accuracy curves, training loss curves.
	if n := plots(t, dir); n != 6 {
		t.Errorf("%d plots, want 6", n)
	}
}

func TestReportHTMLRankedStudy(t *testing.T) {
	dir := writeReport(t, gridStudy())
	page := readReport(t, dir)
	for _, want := range []string{
		`<section id="ranked">`,
		"<th>rank</th><th>lr</th><th>batch</th>",
		`<tr class="best"><td>1</td><td>0.01</td><td>128</td><td>0.9800 ± 0.0000</td>`,
		`<tr class="bad"><td>4</td><td>0.1</td><td>128</td>`,
		"Shared by every configuration: hidden=[128], activation=relu",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if n := plots(t, dir); n != 3 {
		t.Errorf("%d plots, want 3 (top configurations, validation accuracy, training loss)", n)
	}
}

func TestReportHTMLWithoutValidationCurves(t *testing.T) {
	r := gridStudy()
	for i := range r.Configs {
		for j := range r.Configs[i].Units {
			r.Configs[i].Units[j].Epochs = nil
		}
	}
	if n := plots(t, writeReport(t, r)); n != 1 {
		t.Errorf("%d plots, want only the accuracy plot when no unit has epochs", n)
	}
}

// leftovers lists the files in dir other than the report's.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		switch e.Name() {
		case ResultsCSVFile, ResultsJSONFile, ReportHTMLFile:
		default:
			names = append(names, e.Name())
		}
	}
	return names
}

func TestWriteReportReplacesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "report") // created on demand
	if err := WriteReport(dir, axisStudy()); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(dir, gridStudy()); err != nil {
		t.Fatal(err)
	}
	if name := reportDoc(t, dir).Name; name != "demo-grid" {
		t.Error("second report did not replace the first")
	}
	if extra := leftovers(t, dir); extra != nil {
		t.Errorf("temporary files left: %v", extra)
	}
	for _, name := range []string{ResultsCSVFile, ResultsJSONFile, ReportHTMLFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v", name, fi.Mode(), err)
		}
	}
}

func TestWriteReportBadInputWritesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := WriteReport(dir, sweeps.StudyResult{Name: "empty"}); err == nil {
		t.Error("empty study: no error")
	}
	if err := WriteReport("", gridStudy()); err == nil {
		t.Error("empty directory name: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad input wrote %v", entries)
	}
}

var reportDemo = flag.String("report-demo", "", "also write the synthetic studies' reports to this directory (axis study) and its grid/ subdirectory")

// TestReportDemo renders the fixtures for people to look at:
// go test ./sweeps -run TestReportDemo -report-demo=/tmp/report-demo
func TestReportDemo(t *testing.T) {
	if *reportDemo == "" {
		t.Skip("no -report-demo directory")
	}
	if err := WriteReport(*reportDemo, axisStudy()); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(filepath.Join(*reportDemo, "grid"), gridStudy()); err != nil {
		t.Fatal(err)
	}
}
