package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
)

// The page of `mlpsweep serve` and report.html are one page: web/page.html
// with web/page.css and web/page.js inlined. Served, it reads the JSON of
// the server's api/ (docs/json.md) and follows the store live; as
// report.html it carries one study's Document inlined and needs no server
// and no network. The plots are SVG drawn by page.js from the Plot data:
// a few hundred lines of our own instead of a chart library, so the page
// has no dependency to vendor, stays small (under 30 kB before
// compression), and every label reaches the page as text, never markup.

//go:embed web/page.html
var pageHTML string

//go:embed web/page.css
var pageCSS string

//go:embed web/page.js
var pageJS string

// dataMarker is where a snapshot's data goes in page.html.
const dataMarker = "<!--DATA-->"

// page is page.html with its style and script inlined: no other request.
var page = strings.NewReplacer("/*CSS*/", pageCSS, "/*JS*/", pageJS).Replace(pageHTML)

// LivePage is the page `mlpsweep serve` serves: page.html without data.
func LivePage() []byte { return []byte(strings.Replace(page, dataMarker, "", 1)) }

// Snapshot is the page with doc inlined: report.html, which draws doc as
// the live page does, from a file, without a server or network.
// encoding/json escapes <, > and & in strings, so no value can close the
// script element that holds it.
func Snapshot(doc *Document) ([]byte, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", doc.Name, err)
	}
	i := strings.Index(page, dataMarker)
	var b bytes.Buffer
	b.WriteString(strings.Replace(page[:i], "<title>mlpsweep</title>", "<title>Study "+template.HTMLEscapeString(doc.Name)+"</title>", 1))
	b.WriteString(`<script type="application/json" id="data">`)
	b.Write(data)
	b.WriteString(`</script>`)
	b.WriteString(page[i+len(dataMarker):])
	return b.Bytes(), nil
}
