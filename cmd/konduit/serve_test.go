package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

func TestServeRefusesRemoteAddr(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "serve", "--addr", "0.0.0.0:0", "--db", "sqlite:"+filepath.Join(dir, "k.db"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "--allow-remote") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "k.db")); err == nil {
		t.Error("a refused serve created the database")
	}
	r = runCLI(t, dir, nil, "demo", "--addr", "10.1.2.3:80")
	if r.code != exitUsage {
		t.Fatalf("demo on a remote addr: exit %d", r.code)
	}
}

// startProcess runs the konduit binary in the background and returns the
// first stdout line that starts with prefix. The process is interrupted at
// cleanup, and must then exit 0.
func startProcess(t *testing.T, env []string, want func(line string) (string, bool), args ...string) (string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(konduitBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	var rest bytes.Buffer
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("konduit %s exited with %v; stderr:\n%s", args[0], err, errb.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("konduit %s did not stop on interrupt", args[0])
		}
	})
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("konduit %v ended early; stderr:\n%s", args, errb.String())
			}
			rest.WriteString(l + "\n")
			if v, ok := want(l); ok {
				go func() {
					for range lines {
					}
				}()
				return v, &rest
			}
		case <-timeout:
			t.Fatalf("konduit %v printed no address; stderr:\n%s", args, errb.String())
		}
	}
}

func urlAfter(prefix string) func(string) (string, bool) {
	return func(l string) (string, bool) {
		i := strings.Index(l, prefix)
		if i < 0 {
			return "", false
		}
		f := strings.Fields(l[i+len(prefix):])
		if len(f) == 0 {
			return "", false
		}
		return f[0], true
	}
}

func TestDemoServesDashboard(t *testing.T) {
	base, out := startProcess(t, nil, urlAfter("Konduit demo dashboard: "), "demo", "--addr", "127.0.0.1:0", "--customers", "150", "--months", "3")
	resp, err := http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /login: %d", resp.StatusCode)
	}
	if !strings.Contains(out.String(), "synced ") {
		t.Fatalf("demo output:\n%s", out)
	}
}

// chromiumPath finds Debian's chromium; without it the browser test skips,
// or fails when CI is set.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("KONDUIT_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install -y chromium): the browser tests must run in CI")
	}
	t.Skip("chromium not installed (apt-get install -y chromium)")
	return ""
}

// screenshotDir is $KONDUIT_SCREENSHOTS, else screenshots/ at the
// repository root (gitignored).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KONDUIT_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type browserT struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

func (b *browserT) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browserT) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browserT) eval(js string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return n
}

func (b *browserT) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// plainNumber is a number as the page shows it ("$12,842.83") without its
// currency and separators ("12842.83").
func plainNumber(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return -1
	}, s)
}

// readCSV parses a CSV text into header -> first-row value.
func csvRecords(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("parse csv: %v\n%s", err, s)
	}
	return recs
}

// TestDashboardInBrowser drives the real `konduit serve` with chromium: log
// in, connect to a fake Konnektive, sync, read the report pages and compare
// their numbers with `konduit report`, download a CSV, upload a broken
// legacy file and read its findings. Screenshots go to screenshotDir.
func TestDashboardInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)

	// The fake Konnektive, in this process.
	loc, _ := time.LoadLocation("America/New_York")
	const apiUser, apiPassword = "browser-api", "fake-api-pass-7Hq"
	api, err := fake.New(fake.Options{LoginID: apiUser, Password: apiPassword, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	asOf := crm.Date{Year: 2026, Month: 6, Day: 30}
	if err := fake.Generate(context.Background(), api, synth.Options{Customers: 400, Seed: 5, AsOf: asOf, Months: 6, TimeZone: loc}); err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()

	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "k.db")
	const adminPW = "browser-admin-password"
	base, _ := startProcess(t, []string{envAdminPassword + "=" + adminPW}, urlAfter("dashboard listening on "), "serve", "--addr", "127.0.0.1:0", "--db", dsn, "--sync-rate", "0")

	b := newBrowser(t, chromium, shots)
	b.do("viewport", chromedp.EmulateViewport(1366, 900))

	// 1. Log in.
	b.do("open", chromedp.Navigate(base+"/integrations"), chromedp.WaitVisible(chromedp.CSS("#password")))
	b.shot("01-login")
	b.do("log in", chromedp.SendKeys(chromedp.CSS("#password"), adminPW), chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#connect")))

	// 2. Connect with Konnektive.
	fields := map[string]string{"name": "acme", "base_url": apiSrv.URL, "login_id": apiUser, "account_name": "Acme Inc", "account_username": "owner",
		"timezone": "America/New_York", "import_from": "2025-12-01", "import_to": "2026-06-30"}
	var steps []chromedp.Action[chromedp.Void]
	for k, v := range fields {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(fmt.Sprintf("#connect [name=%s]", k)), v))
	}
	steps = append(steps, chromedp.SendKeys(chromedp.CSS("#connect [name=password]"), apiPassword), chromedp.SetValue(chromedp.CSS("#connect [name=sync_every]"), "0"))
	b.do("fill the connect form", steps...)
	b.shot("02-connect-form")
	b.do("connect", chromedp.Click(chromedp.CSS("#connect-button")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if flash := b.text(".flash"); !strings.Contains(flash, "Saved acme") {
		t.Fatalf("after connect: %q", flash)
	}

	// 3. Sync Data, with live progress, until it finishes.
	b.do("sync", chromedp.Click(chromedp.CSS(".sync-button")), chromedp.WaitVisible(chromedp.CSS(".progress-text")))
	deadline := time.Now().Add(3 * time.Minute)
	for {
		// the page reloads when the sync ends: read without failing mid-reload
		txt, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector(".progress-text")||{}).textContent + "|" + (document.querySelector("td[data-table=transactions]")||{}).textContent`))
		if strings.Contains(txt, "failed") {
			t.Fatalf("sync: %s", txt)
		}
		if strings.Contains(txt, "sync finished") && !strings.HasSuffix(txt, "|0") && !strings.HasSuffix(txt, "|undefined") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync did not finish: %q", txt)
		}
		time.Sleep(300 * time.Millisecond)
	}
	_, _, _, txns := api.Counts()
	b.do("settle", chromedp.WaitVisible(chromedp.CSS("td[data-table=transactions]")))
	if got := b.text("td[data-table=transactions]"); got != formatThousands(txns) {
		t.Fatalf("transactions shown %q, fake has %d", got, txns)
	}
	b.shot("03-integrations-synced")

	// 4. The summary shows what `konduit report summary` prints.
	q := "integration=acme&from=2026-04-01&to=2026-06-30&asof=2026-06-30&tz=America/New_York&currency=USD"
	b.do("summary", chromedp.Navigate(base+"/reports?"+q), chromedp.WaitVisible(chromedp.CSS("#kpis")))
	want := reportCSV(t, dsn, "summary", "--from", "2026-04-01", "--to", "2026-06-30", "--currency", "USD")
	recs := csvRecords(t, want)
	col := map[string]string{}
	for i, h := range recs[0] {
		col[h] = recs[1][i]
	}
	for _, k := range []string{"gross_revenue", "refunds", "refunds_konnektive_view", "net_revenue", "orders", "new_customers", "aov"} {
		// the page formats (currency, separators); the digits are the same
		if got := b.text("#" + k); plainNumber(got) != col[k] || got == col[k] && len(col[k]) > 3 {
			t.Errorf("summary %s: page %q, konduit report %q", k, got, col[k])
		}
	}
	if col["gross_revenue"] == "0.00" {
		t.Fatal("the period has no sales: the comparison proves nothing")
	}
	b.shot("04-reports-summary")

	// 5. Download the summary CSV: the same bytes.
	dl := t.TempDir()
	progress := chromedp.Events(b.ctx, browser.DownloadProgress)
	b.do("download", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		yes := true
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &yes})
		return err
	}), chromedp.Click(chromedp.CSS("#csv-summary")))
	for ev, err := range progress {
		if err != nil {
			t.Fatal(err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State != browser.DownloadProgressStateCompleted {
			continue
		}
		got, err := os.ReadFile(filepath.Join(dl, ev.GUID))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("downloaded CSV differs from konduit report:\n%s\nwant\n%s", got, want)
		}
		break
	}

	// 6. The cohort heat map: one cell per report cell, partial cells marked.
	b.do("ltv", chromedp.Navigate(base+"/reports/ltv?"+q+"&cohort=month"), chromedp.WaitVisible(chromedp.CSS("svg.heatmap")))
	ltv := reportJSON(t, dsn, "ltv", "--cohort", "month", "--currency", "USD")
	var cells, partial int
	var firstNet string
	for i, c := range ltv.Cohorts {
		for j, cell := range c.Cells {
			if cell.NetLTV == nil {
				continue
			}
			cells++
			if cell.Partial {
				partial++
			}
			if i == 0 && j == 0 {
				firstNet = *cell.NetLTV
			}
		}
	}
	if got := b.eval(`document.querySelectorAll("svg.heatmap g.cell").length`); got != cells {
		t.Errorf("heat map cells %d, konduit report has %d", got, cells)
	}
	if got := b.eval(`document.querySelectorAll("svg.heatmap g.cell.partial").length`); got != partial || partial == 0 {
		t.Errorf("partial cells %d, konduit report has %d (want some)", got, partial)
	}
	if got := b.text("svg.heatmap g.cell text"); plainNumber(strings.TrimSuffix(got, "*")) != firstNet {
		t.Errorf("first cell %q, konduit report %q", got, firstNet)
	}
	if b.eval(`document.querySelectorAll("svg.line path").length`) == 0 {
		t.Error("no LTV curve drawn")
	}
	b.shot("05-reports-ltv")

	b.do("retention", chromedp.Navigate(base+"/reports/retention?"+q), chromedp.WaitVisible(chromedp.CSS("svg.line")))
	b.shot("06-reports-retention")
	b.do("chargebacks", chromedp.Navigate(base+"/reports/chargebacks?"+q), chromedp.WaitVisible(chromedp.CSS("svg.bar")))
	if b.eval(`document.querySelectorAll("svg.bar line.threshold").length`) != 2 {
		t.Error("chargeback charts should draw both thresholds")
	}
	b.shot("07-reports-chargebacks")

	// 7. Upload a broken legacy file: its findings are validate's.
	legacyDir := generated(t, 30)
	tx := filepath.Join(legacyDir, legacy.Transactions.FileName())
	editCell(t, tx, 4, legacy.FDateCreated, "11/25/2024 3:04 PM")
	editCell(t, tx, 6, legacy.FCountry, "Narnia")
	b.do("upload", chromedp.Navigate(base+"/import"), chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{tx}),
		chromedp.Click(chromedp.CSS("#upload button")), chromedp.WaitVisible(chromedp.CSS("#result")))
	r := runCLI(t, legacyDir, nil, "validate", "--format", "json", "--max-findings", "-1", legacy.Transactions.FileName())
	var doc struct {
		Findings []struct{ Rule string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("validate json: %v\n%s", err, r.stdout)
	}
	counts := map[string]int{}
	for _, f := range doc.Findings {
		counts[f.Rule]++
	}
	page := b.text("#result")
	for rule, n := range counts {
		if !strings.Contains(page, rule) {
			t.Errorf("rule %s (%d findings) not on the page", rule, n)
		}
	}
	// A rule is a group of examples, or one summary line when it fires on
	// most rows (address2-empty).
	if b.eval(`document.querySelectorAll("#result details.rule, #result p.rule.summary").length`) != len(counts) {
		t.Errorf("rule groups on the page differ from validate's %d rules", len(counts))
	}
	b.shot("08-import-findings")
	b.do("fix", chromedp.Click(chromedp.CSS("#fix-button")), chromedp.WaitVisible(chromedp.CSS("#changes")), chromedp.WaitVisible(chromedp.CSS("#remaining")))
	b.shot("09-import-fixed")
}

func formatThousands(n int) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// ltvDoc is the part of `konduit report ltv --format json` the test reads.
type ltvDoc struct {
	Cohorts []struct {
		Cohort string `json:"cohort"`
		Cells  []struct {
			NetLTV  *string `json:"net_ltv"`
			Partial bool    `json:"partial"`
		} `json:"cells"`
	} `json:"cohorts"`
}

// TestServeFirstRunSetup: without $KONDUIT_ADMIN_PASSWORD the first run
// prints a one-time setup link; only its token sets the password, which is
// then stored hashed beside the database.
func TestServeFirstRunSetup(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	link, _ := startProcess(t, nil, urlAfter("first run: set the admin password at "), "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+db)
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("setup link %q", link)
	}
	base := u.Scheme + "://" + u.Host
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(token string) int {
		resp, err := noRedirect.PostForm(base+"/setup", url.Values{"token": {token}, "password": {"first-run-password"}, "confirm": {"first-run-password"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusForbidden {
		t.Fatalf("setup with a wrong token: %d", code)
	}

	if code := post(u.Query().Get("token")); code != http.StatusSeeOther {
		t.Fatalf("setup with the printed token: %d", code)
	}
	b, err := os.ReadFile(db + ".admin")
	if err != nil || !strings.HasPrefix(string(b), "$2") || strings.Contains(string(b), "first-run-password") {
		t.Fatalf("admin hash file: %q %v", b, err)
	}
	if code := post(u.Query().Get("token")); code != http.StatusConflict {
		t.Fatalf("second setup: %d, want 409", code)
	}
}

// newBrowser starts a headless chromium for the test (stopped when it ends),
// with a 4-minute budget for everything the test does in it.
func newBrowser(t *testing.T, chromium, shots string) *browserT {
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel3)
	return &browserT{t: t, ctx: ctx, shots: shots}
}
