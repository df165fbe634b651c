package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
	"github.com/mlpsweep/mlpsweep/sweeps/serve/servetest"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// writeStudy stores a study of configs configurations × folds folds in
// st, every unit done with an epochs-epoch curve but the last running,
// each epoch's row written as a sweep writes it (store.Store.SaveEpoch).
func writeStudy(t testing.TB, st store.Store, name, axis string, configs, folds, epochs int) sweeps.Header {
	t.Helper()
	h := sweeps.Header{Name: name, Folds: folds, Epochs: epochs, Seed: 1, Split: sweeps.KFoldSplit(folds, 1),
		Data: "mnist-train (1000 rows)", DataSHA: "sha", Engine: sweeps.EngineID(), Schedule: sweeps.Schedule{Rows: 1000, Features: 784, Classes: 10}}
	var points []study.Point
	for i := range configs {
		c := engine.DefaultConfig()
		c.LR = 0.0001 * float64(i+1)
		c.Epochs = epochs
		p, err := study.NewParams(c)
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, study.Point{Axis: axis, Value: fmt.Sprint(c.LR), Params: p})
	}
	if err := st.SaveStudy(h, points); err != nil {
		t.Fatal(err)
	}
	plan := sweeps.Plan(h, points)
	rng := rand.New(rand.NewPCG(1, 2)) // numbers as varied as real ones: JSON compresses as a real study's
	for i, u := range plan {
		if err := st.MarkRunning(u.ID, name, 1); err != nil {
			t.Fatal(err)
		}
		if i == len(plan)-1 {
			break // in flight
		}
		res := sweeps.UnitResult{Fold: u.ID.Fold, Accuracy: 0.9 + 0.09*rng.Float64(), ValLoss: rng.Float64(), Seconds: 1 + rng.Float64(), Samples: 1000 * int64(epochs), Machine: sweeps.ThisMachine()}
		for e := range epochs {
			res.Epochs = append(res.Epochs, engine.EpochStats{Epoch: e + 1, Loss: rng.Float64() / float64(e+1), Accuracy: 0.8 + 0.2*rng.Float64(),
				ValLoss: rng.Float64(), ValAccuracy: 0.85 + 0.1*rng.Float64(), Seconds: rng.Float64(), SamplesPerSecond: 1e5 * rng.Float64()})
			if err := st.SaveEpoch(u.ID, name, res.Epochs[e]); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SaveUnit(u.ID, name, res); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// readStudy writes a study as writeStudy does into a new sweep folder and
// returns the folder and its store opened read-only.
func readStudy(t testing.TB, name, axis string, configs, folds, epochs int) (string, store.Store) {
	t.Helper()
	dir := t.TempDir()
	w, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	writeStudy(t, w, name, axis, configs, folds, epochs)
	w.Close()
	st, err := store.Open(context.Background(), dir, store.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, st
}

func get(t testing.TB, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeSQLite: the list, a study's document (what Load assembles),
// an event after a unit finishes, unknown ids, a read-only server, a
// deleted database.
func TestServeSQLite(t *testing.T) {
	dir := t.TempDir()
	w, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h := writeStudy(t, w, `<script>alert("x")</script>`, "lr", 3, 2, 3)
	st, err := store.Open(context.Background(), dir, store.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	srv := New([]Source{{Name: dir, Store: st}}, Options{Poll: 50 * time.Millisecond, Log: log.New(&logs, "", 0)})
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	code, body := get(t, hs.URL+"/api/studies")
	var list Studies
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Studies) != 1 {
		t.Fatalf("api/studies: %d %v %s", code, err, body)
	}
	info := list.Studies[0]
	if info.Name != h.Name || info.UnitsTotal != 6 || info.UnitsDone != 5 || info.Running != 1 || info.Kind != report.KindAxes || info.Machines != 1 ||
		info.ETASeconds <= 0 || info.GFLOPS <= 0 || info.PercentOfPeak <= 0 {
		t.Errorf("api/studies: %+v", info)
	}

	code, body = get(t, hs.URL+"/api/study?id="+strings.ReplaceAll(info.ID, "<", "%3C"))
	var doc report.Document
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
		t.Fatalf("api/study: %d %v %s", code, err, body)
	}
	want, err := store.Load(context.Background(), st, h.Name, false)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(doc.StudyResult)
	if !bytes.Equal(wantJSON, gotJSON) {
		t.Errorf("api/study's result differs from store.Load's:\n%s\n%s", gotJSON, wantJSON)
	}
	if len(doc.Units) != 6 || doc.Units[5].State != "running" || doc.Units[0].Finished == 0 || doc.Units[0].Accuracy == nil {
		t.Errorf("units: %+v", doc.Units)
	}
	if strings.Contains(body, "<script>") {
		t.Error("api/study's JSON carries a raw <script>: encoding/json should escape it")
	}

	// A unit finishing in another connection moves the cursor: an event.
	resp, err := http.Get(hs.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan string, 10)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := resp.Body.Read(buf)
			if err != nil {
				return
			}
			events <- string(buf[:n])
		}
	}()
	<-events // retry:
	_, points, _ := w.Study(context.Background(), h.Name)
	last := sweeps.Plan(h, points)[5]
	start := time.Now()
	if err := w.SaveUnit(last.ID, h.Name, sweeps.UnitResult{Fold: last.ID.Fold, Accuracy: 0.5, Seconds: 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if !strings.Contains(ev, "event: change") {
			t.Errorf("event %q", ev)
		}
		t.Logf("change event %v after the unit was saved", time.Since(start))
	case <-time.After(time.Minute): // polled every 50 ms: a minute only catches an event that never comes
		t.Fatal("no change event within a minute of a unit finishing")
	}

	for _, bad := range []string{"/api/study?id=0/nope", "/api/study?id=7/x", "/api/study?id=x", "/api/study", "/nope"} {
		if code, body := get(t, hs.URL+bad); code != 404 || strings.Contains(body, "nope") {
			t.Errorf("%s: %d %q", bad, code, body)
		}
	}
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(method, hs.URL+"/api/studies", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d", method, resp.StatusCode)
		}
	}
	// The reader cannot write, whatever asks it to.
	if err := st.FinishRun(h.Name, sweeps.LocalRun(1, 1, 1)); err == nil {
		t.Error("the server's store wrote")
	}

	// The database deleted while serving: answers, no crash.
	w.Close()
	for _, f := range []string{store.DBName, store.DBName + "-wal", store.DBName + "-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	time.Sleep(200 * time.Millisecond)
	for _, path := range []string{"/", "/api/studies", "/api/study?id=" + strings.ReplaceAll(info.ID, "<", "%3C")} {
		code, _ := get(t, hs.URL+path)
		if code != 200 && code != 500 {
			t.Errorf("%s after the database was deleted: %d", path, code)
		}
	}
}

func TestToken(t *testing.T) {
	dir, st := readStudy(t, "s", "lr", 1, 1, 1)
	srv := New([]Source{{Name: dir, Store: st}}, Options{Token: "s3cret"})
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	for _, c := range []struct {
		path   string
		header []string
		want   int
	}{
		{"/", nil, 401},
		{"/?token=wrong", nil, 401},
		{"/api/studies", nil, 401},
		{"/api/events", []string{"Authorization", "Bearer s3cre"}, 401},
		{"/api/studies", []string{"Cookie", tokenCookie + "=nope"}, 401},
		{"/?token=s3cret", nil, 200},
		{"/api/studies", []string{"Authorization", "Bearer s3cret"}, 200},
		{"/api/studies", []string{"Cookie", tokenCookie + "=s3cret"}, 200},
	} {
		code, body := get(t, hs.URL+c.path, c.header...)
		if code != c.want || strings.Contains(body, "s3cret") {
			t.Errorf("%s %v: %d, want %d (%q)", c.path, c.header, code, c.want, body)
		}
	}
	resp, err := http.Get(hs.URL + "/?token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Cookies(); len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %v", c)
	}
	// Without a token on loopback, a foreign Host is refused (DNS rebinding).
	srv2 := New([]Source{{Name: dir, Store: st}}, Options{Loopback: true})
	defer srv2.Close()
	hs2 := httptest.NewServer(srv2)
	defer hs2.Close()
	req, _ := http.NewRequest("GET", hs2.URL+"/api/studies", nil)
	req.Host = "evil.example:8080"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %d", resp.StatusCode)
	}
	if code, _ := get(t, hs2.URL+"/api/studies"); code != 200 {
		t.Errorf("127.0.0.1: %d", code)
	}

	for _, c := range []struct {
		addr, token string
		open, ok    bool
	}{
		{"127.0.0.1:8080", "", false, true}, {"localhost:0", "", false, true}, {"[::1]:80", "", false, true},
		{"0.0.0.0:8080", "", false, false}, {":8080", "", false, false}, {"0.0.0.0:8080", "t", false, true},
		{"0.0.0.0:8080", "", true, true}, {"nonsense", "", false, false},
		// Defect: exit 1, "listen tcp: address 99999: invalid port (another server there? …)".
		{"127.0.0.1:99999", "", false, false}, {"127.0.0.1:65535", "", false, true},
	} {
		if err := CheckAddr(c.addr, c.token, c.open); (err == nil) != c.ok {
			t.Errorf("CheckAddr(%q, %q, %v): %v", c.addr, c.token, c.open, err)
		}
	}
}

// TestServePostgres: the server reads PostgreSQL read-only, and its
// pages, JSON and log never show the URL's password.
func TestServePostgres(t *testing.T) {
	url := storetest.Postgres(t)
	w, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h := writeStudy(t, w, "pg", "lr", 2, 2, 2)
	st, err := store.Open(context.Background(), url, store.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.FinishRun(h.Name, sweeps.LocalRun(1, 1, 1)); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write through the reader: %v", err)
	}
	var logs bytes.Buffer
	srv := New([]Source{{Name: st.Name(), Store: st}}, Options{Poll: 50 * time.Millisecond, Log: log.New(&logs, "", 0)})
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	var all strings.Builder
	for _, path := range []string{"/", "/api/studies", "/api/study?id=0/pg", "/api/study?id=0/none"} {
		_, body := get(t, hs.URL+path)
		all.WriteString(body)
	}
	if !strings.Contains(all.String(), `"units_done":3`) {
		t.Errorf("api/studies: %s", all.String())
	}
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	password, ok := u.User.Password()
	if !ok || len(password) < 8 {
		t.Fatalf("the test cluster's URL has no password")
	}
	if strings.Contains(all.String()+logs.String(), password) {
		t.Error("the password reached a page, the JSON or the log")
	}
}

// TestServeLargeStore: a 10,000-unit store (2,500 configurations × 4
// folds, 10-epoch curves, the last unit running): the list of studies
// (api/studies) reads no learning curve and makes no query per unit: at
// most 10 queries, two rows per unit (its own and its epochs' summary),
// one per configuration and a few more, and at most listBytesPerUnit
// bytes allocated per unit;
// the server's heap stays under 200 MB, even reading the whole study.
// The list's work is counted, not timed, so that a busy machine cannot
// fail the test; its time is only logged (0.1-0.9 s on a Zen 4 guest, 4.3 s
// once at load average 15, 12 s under the race detector), and go test's
// -timeout catches a list that hangs.
func TestServeLargeStore(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 10,000-unit store")
	}
	const configs, folds, epochs = 2500, 4, 10
	const units = configs * folds
	dir, st := readStudy(t, "big", "random", configs, folds, epochs)
	// No poll during the requests: the counts below are the requests' own.
	srv := New([]Source{{Name: dir, Store: st}}, Options{Poll: time.Hour})
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	var peak uint64
	measure := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	if code, body := get(t, hs.URL+"/"); code != 200 {
		t.Fatalf("/: %d %s", code, body)
	}
	measure()

	// The list's first request, which reads the store (later ones within
	// listMaxAge come from the cache).
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	q0, r0 := store.Reads()
	start := time.Now()
	code, body := get(t, hs.URL+"/api/studies")
	took := time.Since(start)
	q1, r1 := store.Reads()
	runtime.ReadMemStats(&after)
	measure()
	queries, rows, allocated := q1-q0, r1-r0, after.TotalAlloc-before.TotalAlloc
	t.Logf("api/studies: %d queries, %d rows, %d bytes allocated (%d per unit), %d bytes answered in %v",
		queries, rows, allocated, allocated/units, len(body), took)
	if code != 200 || !strings.Contains(body, `"units_done":9999`) {
		t.Errorf("api/studies: %d %s", code, body)
	}
	if queries > 10 {
		t.Errorf("api/studies made %d queries (want at most 10, whatever the number of units)", queries)
	}
	// A row per unit from the units table and per running or recent unit
	// from the epochs' summary (every unit here finished in the window),
	// one per configuration.
	if want := int64(2*units + configs + 10); rows > want {
		t.Errorf("api/studies read %d rows (want at most %d: two per unit, one per configuration, a few more)", rows, want)
	}
	if allocated > listBytesPerUnit*units {
		t.Errorf("api/studies allocated %d bytes, %d per unit (want at most %d: no learning curve read)", allocated, allocated/units, listBytesPerUnit)
	}

	start = time.Now()
	code, body = get(t, hs.URL+"/api/study?id=0/big", "Accept-Encoding", "gzip")
	measure()
	t.Logf("api/study of 2,500 configurations: %v, %d bytes gzipped; heap in use at most %d MB", time.Since(start), len(body), peak>>20)
	if code != 200 {
		t.Errorf("api/study: %d", code)
	}
	if peak > 200<<20 {
		t.Errorf("heap in use %d MB (want ≤ 200)", peak>>20)
	}
}

// listBytesPerUnit bounds what api/studies allocates per unit of a study
// (TestServeLargeStore): it allocated 6,252 bytes per unit (6,611 under
// the race detector), and 40,312 when it read each unit's 10-epoch curve
// too (store.ReadStudy's full).
const listBytesPerUnit = 16000

// TestPage200Configurations: the page of a 200-configuration study (4
// folds, 10-epoch curves, random-search kind) weighs under 1 MB on the
// wire (page and JSON, gzipped) and has at most 10,000 elements (6,914;
// 18,099 with dots on every curve). What it costs to draw is bounded by
// that count, not by a time, which a busy machine moves (go test runs
// packages at once); the time from navigation to drawn is logged (about
// 0.5 s on a quiet Zen 4 guest), the figure for the README taken from a
// run on its own.
func TestPage200Configurations(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium")
	}
	ctx, errs := servetest.Browser(t)
	dir, st := readStudy(t, "two-hundred", "random", 200, 4, 10)
	srv := New([]Source{{Name: dir, Store: st}}, Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close() // first: it ends the page's event stream, which hs.Close waits for
	servetest.Navigate(t, ctx, hs.URL+"/#/study/0/two-hundred")
	servetest.EvalUntil(t, ctx, "the study drawn", `document.querySelectorAll("#trial-table tbody tr").length === 200`, 10*time.Second)
	ms := servetest.Eval[float64](t, ctx, `Number(document.querySelector("main").getAttribute("data-loaded")) - performance.timeOrigin`)
	bytes := servetest.Eval[float64](t, ctx, `performance.getEntriesByType("navigation")[0].transferSize +
		performance.getEntriesByType("resource").reduce((n, e) => n + e.transferSize, 0)`)
	json := servetest.Eval[float64](t, ctx, `performance.getEntriesByType("resource").filter(e => e.name.includes("api/study")).reduce((n, e) => n + e.decodedBodySize, 0)`)
	fetched := servetest.Eval[float64](t, ctx, `performance.getEntriesByType("resource").filter(e => e.name.includes("api/study"))[0].responseEnd`)
	elements := servetest.Eval[float64](t, ctx, `document.getElementsByTagName("*").length`)
	t.Logf("200 configurations × 4 folds: drawn %.0f ms after navigation (its JSON received at %.0f ms); %.0f kB transferred (the study's JSON %.0f kB uncompressed); %.0f elements",
		ms, fetched, bytes/1e3, json/1e3, elements)
	if elements > 10000 {
		t.Errorf("the page has %.0f elements (want at most 10,000: no dots on 200 configurations' curves)", elements)
	}
	if bytes >= 1e6 || bytes == 0 {
		t.Errorf("%.0f bytes transferred (want < 1 MB)", bytes)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}
