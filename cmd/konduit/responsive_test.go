package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/konduit/konduit/internal/legacy"
)

// layoutProbe measures, in the page, what a narrow screen breaks: the
// document wider than the window, a header link, tab or button cut off or
// hidden, a button of the page out of reach, chart text drawn smaller than
// 10 px (its computed size times the SVG's scale on screen).
const layoutProbe = `(() => {
  const vw = window.innerWidth, out = [];
  const sw = document.documentElement.scrollWidth;
  if (sw > vw) out.push("document " + sw + " px wide in a " + vw + " px window");
  const named = e => (e.id ? "#" + e.id : "") + " " + (e.textContent || e.value || "").trim().slice(0, 40);
  for (const e of document.querySelectorAll("header a, header button, nav.tabs a, details > summary")) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) out.push("hidden: " + named(e));
    else if (r.left < 0 || r.right > vw + 0.5) out.push("cut off (" + Math.round(r.left) + ".." + Math.round(r.right) + "): " + named(e));
  }
  for (const e of document.querySelectorAll("main button")) {
    if (e.closest("details:not([open])")) continue; // folded away, its summary is checked
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) out.push("hidden button: " + named(e));
    else if (r.right > vw + 0.5) out.push("button out of reach: " + named(e));
  }
  let texts = 0, min = 1e9, small = "";
  for (const t of document.querySelectorAll("svg text")) {
    if (!t.textContent.trim()) continue;
    const px = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
    texts++;
    if (px < min) { min = px; small = t.textContent.trim().slice(0, 30); }
  }
  if (texts > 0 && min < 10) out.push("chart text " + min.toFixed(1) + " px: " + small);
  return JSON.stringify({problems: out, texts: texts, svgs: document.querySelectorAll("svg.chart").length});
})()`

// responsiveShotDir is $KONDUIT_SCREENSHOTS, else a test temporary
// directory.
func responsiveShotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KONDUIT_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "responsive")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDashboardFitsPhoneAndDesktop opens every page of `konduit demo` in
// chromium at 390 px (a phone) and 1400 px (a laptop): the page never
// scrolls sideways, every nav link, tab and button is reachable, and chart
// text is at least 10 px as drawn. Each page's screenshot at both widths is
// written to $KONDUIT_SCREENSHOTS/responsive (a temporary directory when
// unset).
func TestDashboardFitsPhoneAndDesktop(t *testing.T) {
	chromium := chromiumPath(t)
	shots := responsiveShotDir(t)
	var base string
	pw, _ := startProcess(t, nil, func(l string) (string, bool) {
		if v, ok := urlAfter("Konduit demo dashboard: ")(l); ok {
			base = v
		}
		if v, ok := urlAfter("log in with the admin password: ")(l); ok && base != "" {
			return v, true
		}
		return "", false
	}, "demo", "--addr", "127.0.0.1:0", "--customers", "300", "--months", "6")

	b := newBrowser(t, chromium, shots)

	check := func(name string, width int64) {
		t.Helper()
		res, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](layoutProbe))
		if err != nil {
			t.Fatalf("%s at %d px: %v", name, width, err)
		}
		b.shot(fmt.Sprintf("%s-%d", name, width))
		if strings.Contains(res, `"problems":[]`) {
			t.Logf("%s at %d px: %s", name, width, res)
			return
		}
		t.Errorf("%s at %d px: %s", name, width, res)
	}
	// waitReady waits until a report page is no longer "Computing…".
	waitReady := func(what string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !document.getElementById("computing")`))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still computing", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// The login page, before logging in.
	for _, w := range []int64{390, 1400} {
		b.do("viewport", chromedp.EmulateViewport(w, 900))
		b.do("login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS("#password")))
		check("login", w)
	}
	b.do("log in", chromedp.SendKeys(chromedp.CSS("#password"), pw), chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("header nav")))

	// A legacy upload, for its result page.
	legacyDir := generated(t, 30)
	tx := filepath.Join(legacyDir, legacy.Transactions.FileName())
	editCell(t, tx, 4, legacy.FCountry, "Narnia")
	b.do("upload", chromedp.Navigate(base+"/import"), chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{tx}),
		chromedp.Click(chromedp.CSS("#upload button")), chromedp.WaitVisible(chromedp.CSS("#result")))
	resultURL, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || !strings.HasPrefix(resultURL, "/import/") {
		t.Fatalf("upload result page %q: %v", resultURL, err)
	}

	pages := []struct{ name, path, ready string }{
		{"integrations", "/integrations", "#connect"},
		{"integration-edit", "/integrations?edit=demo", "#connect"},
		{"integration-delete", "/integrations/demo/delete", "#delete"},
		{"reports-summary", "/reports", "#kpis"},
		{"reports-ltv", "/reports/ltv?cohort=month", "svg.heatmap"},
		{"reports-ltv-week", "/reports/ltv?cohort=week", "svg.heatmap"},
		{"reports-retention", "/reports/retention", "svg.line"},
		{"reports-chargebacks", "/reports/chargebacks", "svg.bar"},
		{"import", "/import", "#upload"},
		{"import-result", resultURL, "#result"},
	}
	for _, w := range []int64{390, 1400} {
		b.do("viewport", chromedp.EmulateViewport(w, 900))
		for _, p := range pages {
			b.do(p.name, chromedp.Navigate(base+p.path))
			waitReady(p.name)
			b.do(p.name, chromedp.WaitVisible(chromedp.CSS(p.ready)))
			check(p.name, w)
			if strings.HasPrefix(p.name, "reports-") {
				// Filters are folded away on a phone, open on a laptop.
				open := b.eval(`document.getElementById("filters-box").open ? 1 : 0`)
				if want := map[int64]int{390: 0, 1400: 1}[w]; open != want {
					t.Errorf("%s at %d px: filters open=%d, want %d", p.name, w, open, want)
				}
			}
			if strings.HasPrefix(p.name, "reports-ltv") && w == 390 {
				// The heat map scrolls inside its box; its row labels stay put.
				got := b.eval(`(() => { const box = document.querySelector(".heatmap-box"); const lab = document.querySelector("svg.heatmap-labels");
				  if (!box || !lab || box.scrollWidth <= box.clientWidth) return -1;
				  const x0 = lab.getBoundingClientRect().left; box.scrollLeft = 200; const x1 = lab.getBoundingClientRect().left;
				  box.scrollLeft = 0; return Math.abs(x1 - x0) < 1 ? 1 : 0; })()`)
				if got != 1 {
					t.Errorf("%s at 390 px: heat map does not scroll with sticky row labels (%d)", p.name, got)
				}
			}
		}
	}
}
