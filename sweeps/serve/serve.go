// Package serve is `mlpsweep serve`: a web page of the studies in sweep
// stores (SQLite folders or a PostgreSQL database) that follows them live
// while sweeps and workers write to them from other processes.
//
// The server only reads: its stores are opened store.ReadOnly (SQLite
// query-only, PostgreSQL connections that refuse writes), and no endpoint
// takes anything but GET. One goroutine polls each store's cursor (store.ReadCursor: two
// aggregate queries) every Options.Poll, half a second by default, and
// tells every open page through Server-Sent Events (api/events) that
// something changed; the page then reads the JSON of what it shows again.
// Polling a cursor rather than PostgreSQL's LISTEN/NOTIFY works the same on
// both databases and needs no trigger written into the store.
//
// The page is report's: the same page that report.html is with its data
// inlined (report.Snapshot), served here without data (report.LivePage).
// It draws its plots as SVG with a few hundred lines of its own script
// (sweeps/report/web/page.js) rather than a chart library such as uPlot:
// no package to vendor and keep up to date, about 30 kB for the whole
// page before compression, SVG that a test can inspect element by
// element, and labels set as text only. It reads
//
//	GET api/studies         the list of studies (Studies)
//	GET api/study?id=ID     one study's report.Document, what `report --json` prints
//	GET api/events          text/event-stream: an event "change" when a store changed
//
// Security: the command binds 127.0.0.1 unless told otherwise, and any
// other address needs a token (or Options.Open). With a token every
// request must carry it: ?token=… (the page's address; the answer then
// sets a cookie for the page's own requests), the cookie, or an
// Authorization: Bearer header. Store URLs are shown and logged only as
// the store names them, without the password; every name and value goes
// into the page as text (page.js never builds markup from data), and the
// page's Content-Security-Policy allows no other origin.
package serve

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/depth"
	"github.com/mlpsweep/mlpsweep/sweeps/report"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Source is one store the server shows.
type Source struct {
	Name  string      // how pages and logs name it: a folder, or a URL without its password
	Store store.Store // opened read-only
}

// Options configure a Server.
type Options struct {
	Token  string        // required of every request when set
	Poll   time.Duration // how often the stores' cursors are read; 0: 500 ms
	Strict bool          // show only units of each study's own engine identity (report --strict-engine)
	Log    *log.Logger   // nil: no log
	// Loopback refuses requests whose Host is not a loopback name or
	// address, so that a web site cannot reach a server without a token
	// by pointing its own name at 127.0.0.1 (DNS rebinding).
	Loopback bool
}

// Server serves the page, its JSON and its events. Close stops it.
type Server struct {
	sources []Source
	opt     Options
	mux     *http.ServeMux

	mu      sync.Mutex
	subs    map[chan struct{}]bool
	cursors []store.Cursor
	failing []bool // a source's last cursor read failed (logged once)
	lists   []cachedList
	stop    chan struct{}
	done    chan struct{}
}

// New returns a server over sources and starts polling them.
func New(sources []Source, opt Options) *Server {
	if opt.Poll <= 0 {
		opt.Poll = 500 * time.Millisecond
	}
	s := &Server{sources: sources, opt: opt, subs: map[chan struct{}]bool{},
		cursors: make([]store.Cursor, len(sources)), failing: make([]bool, len(sources)), lists: make([]cachedList, len(sources)),
		stop: make(chan struct{}), done: make(chan struct{})}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /api/studies", s.studies)
	s.mux.HandleFunc("GET /api/study", s.study)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.poll() // the first cursors, so that the first tick reports only changes
	go s.watch()
	return s
}

// Close stops polling and ends every event stream.
func (s *Server) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *Server) logf(format string, a ...any) {
	if s.opt.Log != nil {
		s.opt.Log.Printf(format, a...)
	}
}

// ServeHTTP checks the token, refuses anything but GET and HEAD, and
// serves the page, api/ and the events.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "this server only reads: GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	if s.opt.Loopback && !loopbackHost(r.Host) {
		http.Error(w, "this server answers only to localhost, 127.0.0.1 or [::1]", http.StatusForbidden)
		return
	}
	if s.opt.Token != "" && !s.authorized(w, r) {
		http.Error(w, "wrong or missing token: open the address mlpsweep serve printed, with ?token=…", http.StatusUnauthorized)
		return
	}
	s.mux.ServeHTTP(w, r)
}

const tokenCookie = "mlpsweep_token"

// loopbackHost reports whether a request's Host names this machine.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// authorized reports whether r carries the token; a right ?token= sets
// the cookie that the page's own requests then carry.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	same := func(t string) bool { return subtle.ConstantTimeCompare([]byte(t), []byte(s.opt.Token)) == 1 }
	if t := r.URL.Query().Get("token"); t != "" {
		if !same(t) {
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.opt.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil && same(c.Value) {
		return true
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && same(bearer)
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeBody(w, r, report.LivePage())
}

// writeBody writes b, gzipped when the client takes it: a study's
// learning curves compress about tenfold.
func writeBody(w http.ResponseWriter, r *http.Request, b []byte) {
	if len(b) < 1024 || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Add("Vary", "Accept-Encoding")
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(w, "encoding the answer", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	writeBody(w, r, b)
}

// fail answers 500 with err's message: the stores name databases by
// folder or by URL without password.
func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	s.logf("%s: %v", what, err)
	http.Error(w, what+": "+err.Error(), http.StatusInternalServerError)
}

// StudyInfo is a line of the list of studies (api/studies).
type StudyInfo struct {
	ID            string  `json:"id"`     // for api/study?id=
	Source        string  `json:"source"` // the store
	Name          string  `json:"name"`
	Kind          string  `json:"kind"` // report.Document.Kind
	Configs       int     `json:"configs"`
	UnitsTotal    int     `json:"units_total"`
	UnitsDone     int     `json:"units_done"`
	UnitsFailed   int     `json:"units_failed"`
	UnitsPruned   int     `json:"units_pruned"`    // stopped early by the study's pruner
	Running       int     `json:"running"`         // units in flight (each of a fused group's)
	Machines      int     `json:"machines"`        // hosts that finished a unit in the last Window, or run one now
	ETASeconds    float64 `json:"eta_seconds"`     // the training work left (epochs × rows × FLOPs per row; a pruned study's by its pruner's outlook) at the rate of the work of the window (eta.go); 0 when nothing runs
	ETAForecast   string  `json:"eta_forecast"`    // how eta_seconds is known: ForecastExact, ForecastExpected (the CLI's ~) or ForecastAtMost; "" without an ETA
	GFLOPS        float64 `json:"gflops"`          // training GEMM rate of the epochs written in the window (eta.go), of configurations whose FLOPs are known (recorded by their units, or of MNIST-shaped data)
	PercentOfPeak float64 `json:"percent_of_peak"` // the window's training FLOPs over the core-seconds its epochs' steps took (eta.go), against this machine's one-core peak; 0 when not known
	Updated       int64   `json:"updated"`         // unix milliseconds of the latest unit start or finish
}

// Studies is api/studies's answer.
type Studies struct {
	Store   string      `json:"store"` // the stores' names
	Studies []StudyInfo `json:"studies"`
}

// Window is how far back the list's rates look.
const Window = 5 * time.Minute

// cachedList is a source's list of studies as of a cursor: every page
// asks for the list again at every change, and between changes the list
// only ages (its ETAs and rates), so it is read again only when the
// cursor moved or it is older than listMaxAge.
type cachedList struct {
	cursor store.Cursor
	at     time.Time
	infos  []StudyInfo
}

const listMaxAge = 5 * time.Second

// list is source i's list of studies, from the cache when it is current.
func (s *Server) list(ctx context.Context, i int) ([]StudyInfo, error) {
	s.mu.Lock()
	cur, c := s.cursors[i], s.lists[i]
	s.mu.Unlock()
	if c.infos != nil && c.cursor == cur && time.Since(c.at) < listMaxAge {
		return c.infos, nil
	}
	now := time.Now()
	infos, err := ListStudies(ctx, s.sources[i].Store, s.opt.Strict, now)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.lists[i] = cachedList{cursor: cur, at: now, infos: infos}
	s.mu.Unlock()
	return infos, nil
}

func (s *Server) studies(w http.ResponseWriter, r *http.Request) {
	out := Studies{Studies: []StudyInfo{}}
	var names []string
	for i, src := range s.sources {
		names = append(names, src.Name)
		infos, err := s.list(r.Context(), i)
		if err != nil {
			s.fail(w, src.Name, err)
			return
		}
		for _, info := range infos {
			info.ID, info.Source = studyID(i, info.Name), src.Name
			out.Studies = append(out.Studies, info)
		}
	}
	out.Store = strings.Join(names, ", ")
	s.writeJSON(w, r, out)
}

// studyID names a study of source i for api/study?id=.
func studyID(i int, name string) string { return strconv.Itoa(i) + "/" + name }

// ListStudies summarizes every study of st at time now, without reading
// learning curves.
func ListStudies(ctx context.Context, st store.Store, strict bool, now time.Time) ([]StudyInfo, error) {
	names, err := st.StudyNames()
	if err != nil {
		return nil, err
	}
	infos := []StudyInfo{}
	for _, name := range names {
		h, points, units, err := store.ReadStudy(ctx, st, name, strict, false)
		if err != nil {
			return nil, err
		}
		plan := sweeps.Plan(h, points)
		info := StudyInfo{Name: name, Configs: len(points), UnitsTotal: len(plan), Kind: kindOf(h, points)}
		since := window(h, now)
		var epochs map[sweeps.UnitID]store.UnitEpochs
		if slices.ContainsFunc(units, func(u store.StudyUnit) bool { return u.State == "running" }) {
			if epochs, err = store.ReadEpochs(ctx, st, h, since); err != nil {
				return nil, err
			}
		}
		hosts := map[string]bool{}
		for _, u := range units {
			switch u.State {
			case "done":
				info.UnitsDone++
			case "failed":
				info.UnitsFailed++
			case "pruned":
				info.UnitsPruned++
			case "running":
				if !stale(h, u, epochs) {
					info.Running++
					hosts[u.Result.Host] = true
				}
			}
			info.Updated = max(info.Updated, u.Started/1e6, u.Finished/1e6)
			if u.State != "running" && u.Finished >= since {
				hosts[u.Result.Host] = true
			}
		}
		delete(hosts, "") // units marked running by an older version record no host
		info.Machines = len(hosts)
		if info.Running > 0 {
			o, err := replay(ctx, st, h, points, plan, units)
			if err != nil {
				return nil, err
			}
			p := pace(h, points, plan, units, epochs, o, now)
			info.ETASeconds, info.ETAForecast, info.GFLOPS = p.eta.Seconds(), p.forecast, p.gflops
			if peak := kernels.MachinePeak().GFLOPS; peak > 0 {
				info.PercentOfPeak = 100 * p.perCore / peak
			}
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// kindOf tells a study's kind from its record: a depth study by its
// record's name and single held-out fold, the others as report does.
func kindOf(h sweeps.Header, points []study.Point) string {
	if h.Folds == 1 && strings.HasSuffix(h.Name, "-holdout") && strings.HasPrefix(h.Split, "holdout") {
		return report.KindDepth
	}
	axes := make([]string, len(points))
	for i, pt := range points {
		axes[i] = pt.Axis
	}
	return report.KindOfAxes(axes)
}

func (s *Server) study(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	i, name, ok := strings.Cut(id, "/")
	n, err := strconv.Atoi(i)
	if !ok || err != nil || n < 0 || n >= len(s.sources) || name == "" {
		http.Error(w, "no study with this id", http.StatusNotFound)
		return
	}
	st := s.sources[n].Store
	names, err := st.StudyNames()
	if err != nil {
		s.fail(w, s.sources[n].Name, err)
		return
	}
	if !slices.Contains(names, name) {
		http.Error(w, "no study with this id", http.StatusNotFound)
		return
	}
	doc, err := LoadDocument(r.Context(), st, name, s.opt.Strict)
	if err != nil {
		s.fail(w, s.sources[n].Name, err)
		return
	}
	s.writeJSON(w, r, doc)
}

// LoadDocument reads study name of st ("" means the one run last) as the
// page shows it and `report --json` prints it: its result as store.Load
// assembles it (rung decisions included), its refit, the state of every
// stored unit and, for the depth study, its own page.
func LoadDocument(ctx context.Context, st store.Store, name string, strict bool) (*report.Document, error) {
	h, points, units, err := store.ReadStudy(ctx, st, name, strict, true)
	if err != nil {
		return nil, err
	}
	first := map[string]int{} // config key → index of its first configuration
	for i, pt := range points {
		if _, ok := first[pt.Params.Key()]; !ok {
			first[pt.Params.Key()] = i
		}
	}
	results := map[sweeps.UnitID]sweeps.UnitResult{}
	states := make([]report.UnitState, 0, len(units))
	for _, u := range units {
		us := report.UnitState{Config: first[u.ID.Key], Fold: u.ID.Fold, State: u.State,
			Started: u.Started / 1e6, Finished: u.Finished / 1e6, Seconds: u.Result.Seconds}
		if u.State != "running" {
			results[u.ID] = u.Result
			us.Finished = max(us.Finished, 1) // a unit stored without its time still counts as finished
			if acc := u.Result.Accuracy; !u.Result.Failed() && !isNaNOrInf(acc) {
				us.Accuracy = &acc
			}
		}
		states = append(states, us)
	}
	if slices.ContainsFunc(states, func(u report.UnitState) bool { return u.State == "running" }) {
		// The learning curves so far of the units in flight.
		scores, err := st.EpochScores(ctx, h.Name)
		if err != nil {
			return nil, err
		}
		for i, u := range units {
			if u.State != "running" {
				continue
			}
			for _, e := range scores {
				if e.Key == u.ID.Key && e.Fold == u.ID.Fold {
					states[i].Epochs = append(states[i].Epochs, e)
				}
			}
		}
	}
	decisions, err := st.Decisions(ctx, h.Name)
	if err != nil {
		return nil, err
	}
	r := sweeps.Assemble(h, points, results, decisions)
	if err := scheduler.LoadRefit(st, &r); err != nil {
		return nil, err
	}
	if len(r.Configs) == 0 {
		return nil, fmt.Errorf("study %q has no configurations", h.Name)
	}
	doc, err := report.NewDocument(r, states)
	if err != nil {
		return nil, err
	}
	if kindOf(h, points) == report.KindDepth {
		d, ok, err := depth.FromStored(h, points, r)
		if err != nil {
			return nil, err
		}
		if ok {
			page, err := d.Page()
			if err != nil {
				return nil, err
			}
			doc.Kind, doc.Depth = report.KindDepth, &page
		}
	}
	return doc, nil
}

func isNaNOrInf(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

// events streams an event "change" whenever a store's cursor moves, and a
// comment every 15 s so that proxies keep the stream open.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	fmt.Fprint(w, "retry: 1000\n\n")
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for n := 1; ; n++ {
		select {
		case <-ch:
			fmt.Fprintf(w, "event: change\nid: %d\ndata: {}\n\n", n)
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		}
		fl.Flush()
	}
}

// watch polls the stores until Close.
func (s *Server) watch() {
	defer close(s.done)
	t := time.NewTicker(s.opt.Poll)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if s.poll() {
				s.notify()
			}
		}
	}
}

// poll reads every store's cursor and reports whether one moved. A store
// that cannot be read (its database deleted or unreachable) is logged
// once, when it starts failing, and read again at the next tick.
func (s *Server) poll() bool {
	changed := false
	for i, src := range s.sources {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := store.ReadCursor(ctx, src.Store)
		cancel()
		if err != nil {
			if !s.failing[i] {
				s.logf("cannot read %s: %v", src.Name, err)
			}
			s.failing[i] = true
			continue
		}
		if s.failing[i] {
			s.logf("reading %s again", src.Name)
			s.failing[i] = false
		}
		s.mu.Lock()
		if c != s.cursors[i] {
			s.cursors[i], changed = c, true
		}
		s.mu.Unlock()
	}
	return changed
}

func (s *Server) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default: // one pending change is enough
		}
	}
}

// CheckAddr checks that addr may be served with token (or open): a
// loopback address always; another one only with a token or open.
func CheckAddr(addr, token string, open bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT, such as 127.0.0.1:8080", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 64); err == nil && n > 65535 { // net.Listen's "invalid port" would read as a runtime failure
		return fmt.Errorf("--addr %s: port %d: want 0 to 65535 (0: any free port)", addr, n)
	}
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
		return nil
	}
	if token == "" && !open {
		return errors.New("--addr " + addr + " is not a loopback address: anyone who reaches it could read the studies; give --token SECRET (then every request needs it), or --open to serve it to anyone")
	}
	return nil
}
