// Package servetest drives the page of mlpsweep serve in a real headless
// Chromium (Debian's chromium, which `make test` installs) for tests.
package servetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which `make test` installs when
// missing (Makefile: chromium).
const ChromiumPath = "/usr/bin/chromium"

// ScreenshotsEnv names the folder Screenshot writes to (docs/ for the
// README, `make screenshots`); unset, it writes none.
const ScreenshotsEnv = "MLPSWEEP_SCREENSHOTS"

// Browser starts a headless Chromium for t, or skips t, saying how to
// install it, when there is none. It returns the browser's context and a
// function that returns the console errors and exceptions seen so far.
func Browser(t testing.TB) (context.Context, func() []string) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skipf("no %s (make test installs Debian's chromium: apt-get install -y chromium): %v", ChromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	var mu sync.Mutex
	var errs []string
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			errs = append(errs, fmt.Sprintf("exception: %s at %s:%d", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				errs = append(errs, "console.error: "+strings.Join(parts, " "))
			}
		}
	})
	if err != nil {
		t.Fatalf("starting %s: %v", ChromiumPath, err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// minEvalTimeout is EvalUntil's least timeout. Its timeouts only catch a
// page that never gets there: a browser on a busy machine (go test runs
// packages at once) can take seconds over what a quiet one does at once,
// so a test states how long things take in what it logs, never in a
// timeout.
const minEvalTimeout = time.Minute

// Navigate opens url in the browser.
func Navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// EvalUntil evaluates expr in the page until it is true, or fails t after
// timeout, or minEvalTimeout if longer, saying what it waited for and what
// the page shows.
func EvalUntil(t testing.TB, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	timeout = max(timeout, minEvalTimeout)
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2000)`))
			t.Fatalf("%s: not within %v; the page shows:\n%s", what, timeout, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Eval evaluates expr in the page.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// Screenshot writes the page as name into the folder ScreenshotsEnv
// names, if any.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// JSString quotes s as a JavaScript template literal.
func JSString(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`", "$", "\\$").Replace(s) + "`"
}
