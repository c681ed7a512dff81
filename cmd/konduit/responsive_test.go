package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/konduit/konduit/internal/legacy"
)

// pageProbe measures, in the page, what a narrow (or a wide) screen
// breaks, and returns it as JSON (probeResult):
//   - the document wider than the window;
//   - a control (link, button, field, select, summary) that cannot be
//     reached: every one is scrolled into view, in turn, and must then lie
//     inside the window, and be what the browser finds at its centre (not
//     clipped by a box that scrolls, nor covered by another element).
//     Folded sections are opened first, so the controls inside them count
//     too; a control the page hides (display: none: a viewer's forms) is
//     left out, and counted;
//   - chart text drawn smaller than 10 px (its computed size times the
//     SVG's scale on screen).
//
// It then puts every folded section, and every scroll, back as it was.
const pageProbe = `(() => {
  const vw = window.innerWidth, vh = window.innerHeight, out = [];
  const sw = document.documentElement.scrollWidth;
  if (sw > vw) out.push("document " + sw + " px wide in a " + vw + " px window");
  const named = e => e ? (e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + (e.textContent || e.value || e.name || "").trim().slice(0, 40)) : "nothing";
  const folded = [...document.querySelectorAll("details:not([open])")];
  folded.forEach(d => d.open = true);
  let controls = 0, hidden = 0;
  for (const e of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    if (e.getClientRects().length === 0 || getComputedStyle(e).visibility === "hidden") { hidden++; continue; }
    controls++;
    e.scrollIntoView({block: "center", inline: "center"});
    const r = e.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) { out.push("zero-size control: " + named(e)); continue; }
    if (r.left < -0.5 || r.right > vw + 0.5 || r.top < -0.5 || r.bottom > vh + 0.5) {
      out.push("out of reach (" + Math.round(r.left) + ".." + Math.round(r.right) + " x " + Math.round(r.top) + ".." + Math.round(r.bottom) + "): " + named(e));
      continue;
    }
    const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    if (!hit || !(hit === e || e.contains(hit) || (hit.tagName === "LABEL" && hit.control === e))) out.push("covered or clipped: " + named(e) + " (under " + named(hit) + ")");
  }
  folded.forEach(d => d.open = false);
  for (const e of document.querySelectorAll("*")) { if (e.scrollLeft) e.scrollLeft = 0; }
  window.scrollTo(0, 0);
  let texts = 0, min = 1e9, small = "";
  for (const t of document.querySelectorAll("svg text")) {
    if (!t.textContent.trim() || t.getClientRects().length === 0) continue;
    const px = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
    texts++;
    if (px < min) { min = px; small = t.textContent.trim().slice(0, 30); }
  }
  if (texts > 0 && min < 10) out.push("chart text " + min.toFixed(1) + " px: " + small);
  return JSON.stringify({problems: out, controls: controls, hidden: hidden, texts: texts, minText: texts ? Math.round(min * 10) / 10 : 0, charts: document.querySelectorAll("svg.chart").length});
})()`

type probeResult struct {
	Problems []string `json:"problems"`
	Controls int      `json:"controls"`
	Hidden   int      `json:"hidden"`
	Texts    int      `json:"texts"`
	MinText  float64  `json:"minText"`
	Charts   int      `json:"charts"`
}

// responsiveShotDir is $KONDUIT_SCREENSHOTS/responsive, else a test
// temporary directory.
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

// TestDashboardEveryPage opens every page of the dashboard in chromium at
// 390 px (a phone) and 1400 px (a laptop), on one `konduit demo` server
// and its one dataset, in one browser: the page never scrolls sideways,
// every control is reachable (scrolled into view, inside the window, not
// clipped or covered), chart text is at least 10 px as drawn; each page's
// own checks (the LTV measure, the curves ending at the last complete
// cell, the retention pivot, ...) run at both widths. Each page's
// screenshot at both widths is written to $KONDUIT_SCREENSHOTS/responsive
// (a temporary directory when unset). Last, a viewer added on the users
// page logs in and is refused what they try to change, in the browser.
func TestDashboardEveryPage(t *testing.T) {
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

	check := func(name string, width int64) probeResult {
		t.Helper()
		res, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](pageProbe))
		if err != nil {
			t.Fatalf("%s at %d px: %v", name, width, err)
		}
		var pr probeResult
		if err := json.Unmarshal([]byte(res), &pr); err != nil {
			t.Fatalf("%s at %d px: probe %q: %v", name, width, res, err)
		}
		b.shot(fmt.Sprintf("%s-%d", name, width))
		if len(pr.Problems) > 0 || pr.Controls == 0 {
			t.Errorf("%s at %d px: %s", name, width, res)
		} else {
			t.Logf("%s at %d px: %d controls, %d charts, chart text >= %.1f px", name, width, pr.Controls, pr.Charts, pr.MinText)
		}
		return pr
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
	str := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return s
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
	resultURL := str(`location.pathname`)
	if !strings.HasPrefix(resultURL, "/import/") {
		t.Fatalf("upload result page %q", resultURL)
	}
	// A viewer, added on the users page (the admin chooses the password).
	const viewerPW = "viewer password 123"
	b.do("add viewer", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(chromedp.CSS("#add-viewer")),
		chromedp.SendKeys(chromedp.CSS("#viewer-name"), "accountant"), chromedp.SendKeys(chromedp.CSS("#viewer-password"), viewerPW),
		chromedp.SendKeys(chromedp.CSS("#viewer-confirm"), viewerPW), chromedp.Click(chromedp.CSS("#add-viewer-button")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-viewer="accountant"]`)))

	// A drill page (the rows behind the summary's first drillable figure)
	// and a customer page (the first customer on it).
	b.do("drill link", chromedp.Navigate(base+"/reports"))
	waitReady("summary")
	drillURL := str(`(document.querySelector("a.drill") || {}).href || ""`)
	if !strings.HasPrefix(drillURL, base+"/reports/drill?") {
		t.Fatalf("no drill link on the summary: %q", drillURL)
	}
	b.do("drill", chromedp.Navigate(drillURL), chromedp.WaitVisible(chromedp.CSS("#drill")))
	customerURL := str(`(document.querySelector('#drill a[href^="/customers/"]') || {}).href || ""`)
	if !strings.HasPrefix(customerURL, base+"/customers/") {
		t.Fatalf("no customer link on the drill page: %q", customerURL)
	}

	// ltvChecks: the heat map and the curves show the chosen measure, and
	// each curve has exactly its cohort's leading complete cells.
	ltvChecks := func(measure string) func(w int64) {
		return func(w int64) {
			t.Helper()
			got := str(`(() => {
			  const heat = document.querySelector(".heatmap-fig figcaption").textContent, curve = document.querySelector("svg.line").getAttribute("aria-label");
			  const on = document.querySelector("#ltv-measure a.on").textContent;
			  const rows = [...document.querySelectorAll("svg.heatmap-labels text")].map(x => x.textContent);
			  const bad = [];
			  for (const g of document.querySelectorAll("svg.line g.series")) {
			    const name = g.querySelector("title").textContent, i = rows.indexOf(name);
			    if (i < 0) { bad.push("no heat map row " + name); continue; }
			    const cells = [...document.querySelectorAll('svg.heatmap [data-row="' + i + '"]')];
			    let complete = 0; while (complete < cells.length && cells[complete].matches("g.cell:not(.partial)")) complete++;
			    const points = g.querySelectorAll("circle").length;
			    if (points !== complete) bad.push(name + ": " + points + " points, " + complete + " complete cells");
			  }
			  return [heat.split(" per ")[0], curve.split(" per ")[0], on, document.querySelectorAll("svg.line g.series").length, bad.join("; ")].join("|");
			})()`)
			parts := strings.Split(got, "|")
			if parts[0] != measure || parts[1] != measure || parts[2] != measure || parts[3] == "0" || parts[4] != "" {
				t.Errorf("LTV at %d px, want %s throughout: heat map %q, curves %q, chosen %q, %s curves; %s", w, measure, parts[0], parts[1], parts[2], parts[3], parts[4])
			}
		}
	}
	pages := []struct {
		name, path, ready string
		check             func(w int64)
	}{
		{"integrations", "/integrations", "#connect", nil},
		{"integration-edit", "/integrations?edit=demo", "#connect", nil},
		{"integration-delete", "/integrations/demo/delete", "#delete", nil},
		{"reports-summary", "/reports", "#kpis", nil},
		{"reports-ltv", "/reports/ltv?cohort=month", "svg.heatmap", ltvChecks("Net LTV")},
		{"reports-ltv-gross", "/reports/ltv?cohort=month&metric=gross", "svg.heatmap", ltvChecks("Gross LTV")},
		{"reports-ltv-week", "/reports/ltv?cohort=week", "svg.heatmap", ltvChecks("Net LTV")},
		{"reports-retention", "/reports/retention", "#retention-pivot", func(w int64) {
			// cycles across, a partial cell marked
			cols := b.eval(`document.querySelectorAll("#retention-pivot thead th").length`)
			partial := str(`[...document.querySelectorAll("#retention-pivot td.partial")].map(x => x.textContent).join(" ")`)
			if cols < 4 || partial == "" || !strings.Contains(partial, "*") {
				t.Errorf("retention pivot at %d px: %d columns, partial cells %q", w, cols, partial)
			}
		}},
		{"reports-chargebacks", "/reports/chargebacks", "svg.bar", func(w int64) {
			if n := b.eval(`document.querySelectorAll("svg.bar line.threshold").length`); n != 2 {
				t.Errorf("chargebacks at %d px: %d thresholds, want 2", w, n)
			}
		}},
		{"drill", strings.TrimPrefix(drillURL, base), "#drill", nil},
		{"customer", strings.TrimPrefix(customerURL, base), "#customer", nil},
		{"import", "/import", "#upload", nil},
		{"import-result", resultURL, "#result", nil},
		{"users", "/users", "#add-viewer", nil},
	}
	for _, w := range []int64{390, 1400} {
		b.do("viewport", chromedp.EmulateViewport(w, 900))
		for _, p := range pages {
			b.do(p.name, chromedp.Navigate(base+p.path))
			waitReady(p.name)
			b.do(p.name, chromedp.WaitVisible(chromedp.CSS(p.ready)))
			pr := check(p.name, w)
			if strings.HasPrefix(p.name, "reports-") {
				// Filters are folded away on a phone, open on a laptop.
				open := b.eval(`document.getElementById("filters-box").open ? 1 : 0`)
				if want := map[int64]int{390: 0, 1400: 1}[w]; open != want {
					t.Errorf("%s at %d px: filters open=%d, want %d", p.name, w, open, want)
				}
				if pr.Charts == 0 && p.name != "reports-summary" {
					t.Errorf("%s at %d px: no chart", p.name, w)
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
			if p.check != nil {
				p.check(w)
			}
		}
	}

	// The probe can fail: a button clipped by a narrow box that hides its
	// overflow, and one pushed past the window's edge (the document is then
	// wider than the window), are both reported.
	b.do("viewport", chromedp.EmulateViewport(390, 900))
	b.do("users", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(chromedp.CSS("#add-viewer")),
		chromedp.Evaluate[chromedp.Void](`(() => {
		  const box = document.createElement("div"); box.style.width = "40px"; box.style.overflow = "hidden";
		  const clipped = document.createElement("button"); clipped.id = "clipped"; clipped.textContent = "a button wider than its box"; clipped.style.marginLeft = "60px";
		  box.append(clipped); document.querySelector("main").append(box);
		  const far = document.createElement("button"); far.id = "far"; far.textContent = "far"; far.style.position = "relative"; far.style.left = "600px";
		  document.querySelector("main").append(far);
		})()`))
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](pageProbe))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res, "button#clipped") || !strings.Contains(res, "document ") {
		t.Errorf("the probe missed a clipped button or the document's overflow: %s", res)
	}

	// The viewer: every page reads, no control to change anything shows,
	// the users page is refused, and a change submitted anyway (the hidden
	// "Sync now" form) is refused with 403.
	b.do("log out", chromedp.Navigate(base+"/integrations"), chromedp.Click(chromedp.CSS(".logout button")), chromedp.WaitVisible(chromedp.CSS("#password")))
	b.do("viewer login", chromedp.WaitVisible(chromedp.CSS("#user")), chromedp.Evaluate[chromedp.Void](`document.getElementById("user").value = ""`), chromedp.SendKeys(chromedp.CSS("#user"), "accountant"),
		chromedp.SendKeys(chromedp.CSS("#password"), viewerPW), chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#read-only-note")))
	b.do("viewer integrations", chromedp.Navigate(base+"/integrations"), chromedp.WaitVisible(chromedp.CSS("#read-only-note")))
	if pr := check("viewer-integrations", 1400); pr.Hidden == 0 {
		t.Error("the viewer's page hides no control")
	}
	if n := b.eval(`document.querySelectorAll("#nav-users").length`); n != 0 {
		t.Error("the viewer is offered the users page")
	}
	b.do("viewer users", chromedp.Navigate(base+"/users"))
	if body := str(`document.body.textContent`); !strings.Contains(body, "only the admin") {
		t.Errorf("viewer on /users: %q", body)
	}
	b.do("viewer integrations", chromedp.Navigate(base+"/integrations"), chromedp.WaitVisible(chromedp.CSS("#read-only-note")))
	b.do("viewer posts", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action$="/sync"]').submit()`),
		chromedp.WaitVisible(chromedp.CSS("body")))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + "|" + document.body.textContent`)); strings.HasSuffix(strings.TrimSpace(body), "read-only access: only the admin can change this") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the viewer's POST was not refused: %q", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
