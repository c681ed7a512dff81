package web

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive/fake"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/report"
	"github.com/konduit/konduit/internal/store"
	"github.com/konduit/konduit/internal/synth"
)

const testAdminPassword = "correct horse battery"

// env is a dashboard on a fresh SQLite store, behind httptest.
type env struct {
	t      *testing.T
	dir    string
	dsn    string
	st     *store.Store
	srv    *Server
	ts     *httptest.Server
	client *http.Client
	clock  *testClock
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEnv(t *testing.T, withAdmin bool, mod func(*Options)) *env {
	t.Helper()
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "k.db")
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin := filepath.Join(dir, "k.db.admin")
	if withAdmin {
		if err := SetAdminPassword(ctx, admin, testAdminPassword); err != nil {
			t.Fatal(err)
		}
	}
	clock := &testClock{t: time.Now()}
	opts := Options{Store: st, DSN: dsn, AdminFile: admin, TempDir: dir, SyncRate: -1, Now: clock.now, SetupToken: "tok-123", ReportWait: time.Minute}
	if mod != nil {
		mod(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.WaitSyncs(); srv.Close() })
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = srv.HTTPServer() // the handler and the timeouts serve uses
	ts.Start()
	t.Cleanup(ts.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &env{t: t, dir: dir, dsn: dsn, st: st, srv: srv, ts: ts, client: client, clock: clock}
}

func (e *env) do(method, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) login() {
	e.t.Helper()
	resp, _ := e.do("POST", "/login", url.Values{"password": {testAdminPassword}, "next": {"/integrations"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/integrations" {
		e.t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLoginRequiredAndSessionCookie(t *testing.T) {
	e := newEnv(t, true, nil)
	for _, p := range []string{"/", "/integrations", "/import"} {
		resp, _ := e.do("GET", p, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Fatalf("GET %s without a session: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, _ := e.do("GET", "/integrations/x/progress", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("progress without a session: %d", resp.StatusCode)
	}
	resp, body := e.do("POST", "/login", url.Values{"password": {"wrong password!"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong user or password") {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	// one failure does not stop the right password (TestLoginLimiter)
	resp, _ = e.do("POST", "/login", url.Values{"password": {testAdminPassword}, "next": {"//evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/integrations" {
		t.Fatalf("login: %d %q (an off-site next must not be followed)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == sessionCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || len(c.Value) != 64 {
		t.Fatalf("session cookie %+v", c)
	}
	resp, body = e.do("GET", "/integrations", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Connect with Konnektive") {
		t.Fatalf("integrations: %d", resp.StatusCode)
	}
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("header %s = %q, want %q", h, resp.Header.Get(h), want)
		}
	}
	// server-side expiry: idle past the TTL logs out
	e.clock.add(13 * time.Hour)
	if resp, _ := e.do("GET", "/integrations", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("expired session still served: %d", resp.StatusCode)
	}
	e.login()
	if resp, _ := e.do("POST", "/logout", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout %d", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/integrations", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("session alive after logout: %d", resp.StatusCode)
	}
}

func TestSetupNeedsToken(t *testing.T) {
	e := newEnv(t, false, nil)
	resp, _ := e.do("GET", "/login", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/setup" {
		t.Fatalf("first run should send to setup: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = e.do("POST", "/setup", url.Values{"token": {"nope"}, "password": {"long enough pw"}, "confirm": {"long enough pw"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("setup with a wrong token: %d", resp.StatusCode)
	}
	resp, _ = e.do("POST", "/setup", url.Values{"token": {"tok-123"}, "password": {"short"}, "confirm": {"short"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("short password: %d", resp.StatusCode)
	}
	resp, _ = e.do("POST", "/setup", url.Values{"token": {"tok-123"}, "password": {"long enough pw"}, "confirm": {"long enough pw"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, "k.db.admin"))
	if err != nil || !bytes.HasPrefix(b, []byte("$2")) || bytes.Contains(b, []byte("long enough pw")) {
		t.Fatalf("admin file is not a bcrypt hash: %q %v", b, err)
	}
	if st, _ := os.Stat(filepath.Join(e.dir, "k.db.admin")); st.Mode().Perm() != 0o600 {
		t.Errorf("admin file mode %v", st.Mode().Perm())
	}
	if resp, _ := e.do("GET", "/integrations", nil); resp.StatusCode != 200 {
		t.Fatalf("setup should log in: %d", resp.StatusCode)
	}
	resp, _ = e.do("POST", "/setup", url.Values{"token": {"tok-123"}, "password": {"another password"}, "confirm": {"another password"}})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("second setup: %d, want 409", resp.StatusCode)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, true, nil)
	e.login()
	for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}} {
		req, _ := http.NewRequest("POST", e.ts.URL+"/logout", strings.NewReader(""))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST with %v: %d, want 403", h, resp.StatusCode)
		}
	}
	// state-changing routes do not answer GET
	for _, p := range []string{"/logout", "/integrations/x/sync"} {
		if resp, _ := e.do("GET", p, nil); resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}

// startFake serves a generated merchant on a loopback port.
func startFake(t *testing.T, customers int) (*fake.Server, string, string) {
	t.Helper()
	loc, _ := time.LoadLocation("America/New_York")
	const pw = "fake-api-secret-Zq9"
	api, err := fake.New(fake.Options{LoginID: "api-user", Password: pw, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.Generate(context.Background(), api, synth.Options{Customers: customers, Seed: 3, AsOf: crm.Date{Year: 2026, Month: 6, Day: 30}, Months: 3, TimeZone: loc}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	return api, ts.URL, pw
}

func connectValues(baseURL, pw string) url.Values {
	return url.Values{"name": {"acme"}, "base_url": {baseURL}, "login_id": {"api-user"}, "password": {pw},
		"account_name": {"Acme"}, "account_username": {"owner"}, "timezone": {"America/New_York"},
		"import_from": {"2026-03-01"}, "import_to": {"2026-06-30"}, "sync_every": {"0"}}
}

func TestConnectAndSync(t *testing.T) {
	e := newEnv(t, true, nil)
	e.login()
	api, base, pw := startFake(t, 60)

	bad := connectValues(base, "has&ampersand")
	if resp, body := e.do("POST", "/integrations", bad); resp.StatusCode != 400 || !strings.Contains(body, "ampersand") {
		t.Fatalf("ampersand password: %d", resp.StatusCode)
	}
	bad = connectValues(base, pw)
	bad.Set("timezone", "Mars/Olympus")
	if resp, body := e.do("POST", "/integrations", bad); resp.StatusCode != 400 || strings.Contains(body, pw) {
		t.Fatalf("bad zone: %d (and the password must never be echoed)", resp.StatusCode)
	}
	resp, body := e.do("POST", "/integrations", connectValues(base, pw))
	if resp.StatusCode != 200 || !strings.Contains(body, "Saved acme") {
		t.Fatalf("connect: %d", resp.StatusCode)
	}
	if strings.Contains(body, pw) {
		t.Fatal("the API password was sent to the browser")
	}
	in, err := e.st.Integration(context.Background(), "acme")
	if err != nil || len(in.PasswordSealed) == 0 || bytes.Contains(in.PasswordSealed, []byte(pw)) {
		t.Fatalf("integration %+v %v: password must be saved sealed", in, err)
	}
	if resp, _ := e.do("POST", "/integrations/acme/sync", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sync: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body := e.do("GET", "/integrations/acme/progress", nil)
		if strings.Contains(body, `"running":false`) {
			if strings.Contains(body, `"error"`) {
				t.Fatalf("sync failed: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sync did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, o, p, tx := api.Counts()
	counts, err := e.st.Counts(context.Background(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Customers] != int64(c) || counts[store.Orders] != int64(o) || counts[store.Purchases] != int64(p) || counts[store.Transactions] != int64(tx) {
		t.Fatalf("synced %v, fake has %d/%d/%d/%d", counts, c, o, p, tx)
	}
	_, body = e.do("GET", "/integrations", nil)
	if !strings.Contains(body, formatInt(int64(tx))) || !strings.Contains(body, "ok, started") || strings.Contains(body, pw) {
		t.Fatal("integrations page should show the counts and the run, never the password")
	}
	// updating without a password keeps the saved one
	f := connectValues(base, "")
	f.Set("timezone", "America/Chicago")
	resp, body = e.do("POST", "/integrations", f)
	if resp.StatusCode != 200 || !strings.Contains(body, "re-derived") {
		t.Fatalf("update: %d %s", resp.StatusCode, strings.ReplaceAll(body, pw, "<password>"))
	}
	in2, _ := e.st.Integration(context.Background(), "acme")
	if !bytes.Equal(in2.PasswordSealed, in.PasswordSealed) || in2.TimeZone != "America/Chicago" {
		t.Fatalf("update lost the password or the zone: %+v", in2)
	}
}

func TestSchedulerRunsDueSyncs(t *testing.T) {
	// The test is the tick: River's own (at start, then every 15 s) would
	// schedule the syncs the test counts whenever it happened to run.
	e := newEnv(t, true, func(o *Options) { o.SyncTick = -1 })
	e.login()
	_, base, pw := startFake(t, 10)
	f := connectValues(base, pw)
	f.Set("sync_every", "3600")
	if resp, _ := e.do("POST", "/integrations", f); resp.StatusCode != 200 {
		t.Fatalf("connect %d", resp.StatusCode)
	}
	ctx := context.Background()
	e.srv.syncs.due(ctx) // never synced: due
	e.srv.WaitSyncs()
	in, _ := e.st.Integration(ctx, "acme")
	runs, _ := e.st.Runs(ctx, in.ID, 10)
	if len(runs) != 1 || runs[0].Status != store.RunOK {
		t.Fatalf("runs after the first tick: %+v", runs)
	}
	e.srv.syncs.due(ctx) // just ran: not due
	e.srv.WaitSyncs()
	if runs, _ = e.st.Runs(ctx, in.ID, 10); len(runs) != 1 {
		t.Fatalf("a sync ran before its hour: %d runs", len(runs))
	}
	e.clock.add(61 * time.Minute)
	e.srv.syncs.due(ctx)
	e.srv.WaitSyncs()
	if runs, _ = e.st.Runs(ctx, in.ID, 10); len(runs) != 2 {
		t.Fatalf("runs after an hour: %d, want 2", len(runs))
	}
}

// brokenFiles writes a small generated legacy set with known defects.
func brokenFiles(t *testing.T) (dir string, names []string) {
	t.Helper()
	dir = t.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{Customers: 20, Seed: 11, AsOf: crm.Date{Year: 2025, Month: 6, Day: 30}}, dir); err != nil {
		t.Fatal(err)
	}
	tx := filepath.Join(dir, legacy.Transactions.FileName())
	editCells(t, tx, map[int][2]string{5: {legacy.FDateCreated, "11/25/2024 3:04 PM"}, 7: {legacy.FDateCreated, "11/26/2024 9:15 AM"}})
	return dir, []string{legacy.Transactions.FileName()}
}

func editCells(t *testing.T, path string, edits map[int][2]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := legacy.NewReader(f)
	var out bytes.Buffer
	w := legacy.NewWriter(&out)
	var header []string
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		if header == nil {
			header = rec.Fields
		} else if ed, ok := edits[rec.Row]; ok {
			for i, h := range header {
				if h == ed[0] {
					rec.Fields[i] = ed[1]
				}
			}
		}
		w.Write(rec.Fields)
	}
	f.Close()
	w.Flush()
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (e *env) upload(paths ...string) (*http.Response, string) {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range paths {
		fw, _ := mw.CreateFormFile("files", "../../"+filepath.Base(p))
		b, err := os.ReadFile(p)
		if err != nil {
			e.t.Fatal(err)
		}
		fw.Write(b)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.ts.URL+"/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestUploadValidateFix(t *testing.T) {
	e := newEnv(t, true, nil)
	e.login()
	dir, names := brokenFiles(t)
	resp, _ := e.upload(filepath.Join(dir, names[0]))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	_, body := e.do("GET", loc, nil)
	if !strings.Contains(body, "Findings") || !strings.Contains(body, names[0]) || strings.Contains(body, e.dir) {
		t.Fatalf("findings page should name the file by its base name only:\n%s", body)
	}
	if !strings.Contains(body, `<span class="count">2</span>`) {
		t.Errorf("two bad dates should count 2 under their rule:\n%s", body)
	}
	resp, csvBody := e.do("GET", loc+"/findings.csv", nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "findings.csv") || strings.Count(csvBody, "\n") < 3 {
		t.Fatalf("findings.csv: %d %q", resp.StatusCode, csvBody)
	}
	if resp, _ := e.do("GET", loc+"/fixed.zip", nil); resp.StatusCode != 404 {
		t.Fatalf("zip before fix: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", loc+"/fix", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fix: %d", resp.StatusCode)
	}
	_, body = e.do("GET", loc, nil)
	if !strings.Contains(body, "Changes by rule") {
		t.Fatalf("fix result missing:\n%s", body)
	}
	resp, zb := e.do("GET", loc+"/fixed.zip", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("zip: %d", resp.StatusCode)
	}
	zr, err := zip.NewReader(strings.NewReader(zb), int64(len(zb)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != names[0] {
		t.Fatalf("zip %v %v", zr, err)
	}
	rc, _ := zr.File[0].Open()
	fixed, _ := io.ReadAll(rc)
	if bytes.Contains(fixed, []byte("11/25/2024 3:04 PM")) || !bytes.Contains(fixed, []byte("2024-11-25 15:04")) {
		t.Errorf("fixed file still has the slashed date")
	}
	resp, changes := e.do("GET", loc+"/changes.csv", nil)
	if resp.StatusCode != 200 || !strings.Contains(changes, "11/25/2024 3:04 PM") || strings.Contains(changes, e.dir) {
		t.Fatalf("changes.csv: %d %q", resp.StatusCode, changes)
	}
	if resp, _ := e.do("GET", "/import/nope", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown upload: %d", resp.StatusCode)
	}
}

func TestUploadTooLarge(t *testing.T) {
	e := newEnv(t, true, func(o *Options) { o.MaxUpload = 4 << 10 })
	e.login()
	big := filepath.Join(t.TempDir(), "big.csv")
	os.WriteFile(big, bytes.Repeat([]byte("a,b,c\n"), 4000), 0o600)
	resp, body := e.upload(big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than") {
		t.Fatalf("oversized upload: %d", resp.StatusCode)
	}
	if n := uploadDirs(t, e.srv.imports.root); n != 0 {
		t.Fatalf("a refused upload left %d directories behind", n)
	}
}

func TestSafeNameAndLoopback(t *testing.T) {
	for in, want := range map[string]string{"../../etc/passwd": "passwd", `C:\x\tx.csv`: "tx.csv", "..": "upload.csv", "a b;c.csv": "a_b_c.csv", ".hidden": "hidden"} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true, "0.0.0.0:80": false, "10.0.0.1:80": false, ":8080": false, "nonsense": false} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
	for in, want := range map[string]string{"/reports?x=1": "/reports?x=1", "//evil": "/integrations", "https://evil": "/integrations", `/\evil`: "/integrations", "": "/integrations"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q", in, got)
		}
	}
	if formatInt(1234567) != "1,234,567" || formatInt(-1000) != "-1,000" || formatInt(12) != "12" {
		t.Error("formatInt")
	}
}

// FuzzSafeName: an uploaded file name always becomes a plain, non-empty,
// non-hidden base name of at most maxSafeName bytes of valid UTF-8 that
// safeName leaves as it is; a long name keeps its extension.
func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"legacy_transactions.csv", "../../etc/passwd", `C:\x\y.csv`, "..", ".", "", "a/b/c", "é.csv",
		"\xff\xfe.csv", "a\xc3", strings.Repeat("é", 60) + ".csv",
		strings.Repeat("a", maxSafeName), strings.Repeat("a", maxSafeName+1), strings.Repeat("a", maxSafeName-4) + ".csv",
		"a" + strings.Repeat(".", 2*maxSafeName) + "csv", strings.Repeat("a", 150) + "." + strings.Repeat("x", 40)} {
		f.Add(s)
	}
	// Digit runs at the card-number boundaries, made at run time.
	for _, n := range []int{19, 20, 22} {
		payload := strings.Repeat("4", n-1)
		f.Add("export-" + payload + string(cardnum.CheckDigit(payload)) + ".csv")
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := safeName(name)
		if got == "" || len(got) > maxSafeName || strings.HasPrefix(got, ".") || strings.ContainsAny(got, "/\\\x00") || got != filepath.Base(got) || !utf8.ValidString(got) {
			t.Fatalf("safeName(%q) = %q", name, got)
		}
		if again := safeName(got); again != got {
			t.Fatalf("safeName(%q) = %q, but safeName(%q) = %q", name, got, got, again)
		}
		base := strings.TrimLeft(filepath.Base(strings.ReplaceAll(name, "\\", "/")), ".")
		if len(base) > len(".csv") && strings.HasSuffix(base, ".csv") && !strings.HasSuffix(got, ".csv") {
			t.Fatalf("safeName(%q) = %q lost the extension", name, got)
		}
	})
}

// syncedEnv is a logged-in dashboard with a fake merchant synced as "acme".
func syncedEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, true, nil)
	e.login()
	_, base, pw := startFake(t, 80)
	if resp, _ := e.do("POST", "/integrations", connectValues(base, pw)); resp.StatusCode != 200 {
		t.Fatalf("connect %d", resp.StatusCode)
	}
	if err := e.srv.SyncNow(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	e.srv.WaitSyncs()
	if st := e.srv.syncs.state("acme"); st.Error != "" {
		t.Fatalf("sync: %s", st.Error)
	}
	return e
}

func TestReportPagesMatchReport(t *testing.T) {
	e := syncedEnv(t)
	ctx := context.Background()
	in, _ := e.st.Integration(ctx, "acme")
	loc, _ := time.LoadLocation("America/New_York")
	from, to := crm.Date{Year: 2026, Month: 4, Day: 1}, crm.Date{Year: 2026, Month: 6, Day: 30}
	// The fake sells in USD and EUR: the page shows USD (and says so)
	// rather than add them together.
	want, err := report.Summary(ctx, report.Query{Store: e.st, Integration: in.ID, Loc: loc, Currency: "USD"}, from, to)
	if err != nil {
		t.Fatal(err)
	}
	row := want.Total.Row(false)
	if row.GrossRevenue == 0 {
		t.Fatal("no sales in the period: the comparison proves nothing")
	}
	q := "integration=acme&from=2026-04-01&to=2026-06-30&asof=2026-06-30"
	resp, body := e.do("GET", "/reports?"+q, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("reports %d", resp.StatusCode)
	}
	if !strings.Contains(body, "never added together: showing USD") {
		t.Error("the page does not say it shows USD only")
	}
	for id, v := range map[string]string{"gross_revenue": row.GrossRevenue.String(), "refunds": row.Refunds.String(),
		"refunds_konnektive_view": row.RefundsKonnektiveView.String(), "net_revenue": row.NetRevenue.String()} {
		if !strings.Contains(body, `id="`+id+`">`+money(v, "USD")+`<`) {
			t.Errorf("%s: page does not show %s", id, money(v, "USD"))
		}
	}
	var csvWant bytes.Buffer
	report.Write(&csvWant, "csv", want)
	if _, got := e.do("GET", "/reports/csv/summary.csv?"+q, nil); got != csvWant.String() {
		t.Errorf("summary.csv:\n%s\nwant\n%s", got, csvWant.String())
	}
	// a filter keeps one group's row: the same figures report gives that group
	byCamp, err := report.Summary(ctx, report.Query{Store: e.st, Integration: in.ID, Loc: loc, By: "campaign", Currency: "USD"}, from, to)
	if err != nil || len(byCamp.Groups) == 0 {
		t.Fatalf("by campaign: %v", err)
	}
	g := byCamp.Groups[0]
	_, body = e.do("GET", "/reports?"+q+"&dim=campaign&value="+url.QueryEscape(g.Group), nil)
	if !strings.Contains(body, `id="gross_revenue">`+money(report.Money(g.Gross).String(), "USD")+`<`) {
		t.Errorf("campaign %s: gross %s not shown", g.Group, report.Money(g.Gross))
	}
	// by its name too
	if g.Name == nil || *g.Name == "" {
		t.Fatalf("campaign %s has no name", g.Group)
	}
	_, body = e.do("GET", "/reports?"+q+"&dim=campaign&value="+url.QueryEscape(*g.Name), nil)
	if !strings.Contains(body, `id="gross_revenue">`+money(report.Money(g.Gross).String(), "USD")+`<`) {
		t.Errorf("campaign %q: gross %s not shown", *g.Name, report.Money(g.Gross))
	}
	_, csvBody := e.do("GET", "/reports/csv/summary.csv?"+q+"&dim=campaign&value="+url.QueryEscape(g.Group), nil)
	if lines := strings.Count(csvBody, "\n"); lines != 2 || !strings.HasPrefix(csvBody, "campaign,") {
		t.Errorf("filtered CSV should be the header and one row:\n%s", csvBody)
	}
	for _, p := range []string{"/reports/ltv?", "/reports/retention?", "/reports/chargebacks?"} {
		resp, body := e.do("GET", p+q, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "<svg") || strings.Contains(body, "report failed") {
			t.Errorf("%s: %d, chart drawn %v", p, resp.StatusCode, strings.Contains(body, "<svg"))
		}
	}
	for _, name := range []string{"reconcile", "ltv", "retention", "chargebacks"} {
		resp, body := e.do("GET", "/reports/csv/"+name+".csv?"+q, nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), name) || !strings.Contains(body, ",") {
			t.Errorf("%s.csv: %d", name, resp.StatusCode)
		}
	}
	if resp, _ := e.do("GET", "/reports/csv/nope.csv?"+q, nil); resp.StatusCode != 404 {
		t.Errorf("unknown csv: %d", resp.StatusCode)
	}
	_, body = e.do("GET", "/reports?"+q+"&tz=Nowhere/Land", nil)
	if !strings.Contains(body, "is not a time zone") {
		t.Error("a bad display zone should be said")
	}
}

func TestReportCacheFollowsData(t *testing.T) {
	e := syncedEnv(t)
	ctx := context.Background()
	in, _ := e.st.Integration(ctx, "acme")
	p := &reportParams{Integration: "acme", in: in, TZ: in.TimeZone}
	v1, err := e.srv.dataVersion(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	get := func() {
		cached(e.srv, ctx, p, "x", func() (int, error) { calls++; return calls, nil })
	}
	get()
	get()
	if calls != 1 {
		t.Fatalf("computed %d times for one data version", calls)
	}
	if err := e.srv.SyncNow(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	e.srv.WaitSyncs()
	v2, _ := e.srv.dataVersion(ctx, in)
	if v1 == v2 {
		t.Fatal("a sync run did not change the data version")
	}
	get()
	if calls != 2 {
		t.Fatalf("a new sync did not invalidate the cache: %d computations", calls)
	}
	e.clock.add(cacheTTL + time.Second)
	get()
	if calls != 3 {
		t.Fatalf("the cache outlived its TTL: %d computations", calls)
	}
}

func TestSlowReportAnswersAtOnce(t *testing.T) {
	e := syncedEnv(t)
	e.srv.opts.ReportWait = -1 // never wait: every uncached report takes the computing path
	q := "integration=acme&from=2026-04-01&to=2026-06-30&asof=2026-06-30"
	resp, body := e.do("GET", "/reports/ltv?"+q, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="computing"`) || strings.Contains(body, "<svg") {
		t.Fatalf("first visit should answer with the computing page: %d", resp.StatusCode)
	}
	i := strings.Index(body, `data-status="`)
	status := strings.ReplaceAll(body[i+len(`data-status="`):i+strings.Index(body[i:], `">`)], "&amp;", "&")
	deadline := time.Now().Add(time.Minute)
	for {
		_, st := e.do("GET", status, nil)
		if st == `{"ready":true}` {
			break
		}
		if st != `{"ready":false}` || time.Now().After(deadline) {
			t.Fatalf("status %q", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// now cached: the page has the chart even without waiting
	if _, body := e.do("GET", "/reports/ltv?"+q, nil); !strings.Contains(body, `class="chart heatmap"`) {
		t.Fatal("the report is not shown once computed")
	}
}

func TestJobsSingleFlightAndFailures(t *testing.T) {
	var j jobs
	clock := &testClock{t: time.Now()}
	release := make(chan struct{})
	calls := 0
	var mu sync.Mutex
	f := func(context.Context) error {
		mu.Lock()
		calls++
		mu.Unlock()
		<-release
		return io.ErrUnexpectedEOF
	}
	a := j.start(context.Background(), "k", clock.now, f)
	b := j.start(context.Background(), "k", clock.now, f)
	if a != b || !j.running("k") {
		t.Fatal("a running report must be shared")
	}
	close(release)
	<-a.done
	if j.running("k") {
		t.Fatal("finished job still running")
	}
	if c := j.start(context.Background(), "k", clock.now, f); c != a || c.err == nil {
		t.Fatal("a recent failure must be reported, not retried")
	}
	clock.add(failedFor + time.Second)
	d := j.start(context.Background(), "k", clock.now, f)
	<-d.done
	if d == a || calls != 2 {
		t.Fatalf("after a minute the report is tried again: calls %d", calls)
	}
}

// TestQuarantineIsShown: rows a sync set aside are listed on the
// integrations page and named under every report.
func TestQuarantineIsShown(t *testing.T) {
	e := syncedEnv(t)
	ctx := context.Background()
	in, _ := e.st.Integration(ctx, "acme")
	err := e.st.Update(ctx, func(tx *store.Tx) error {
		return tx.Quarantine(ctx, in.ID, []store.QuarantinedRow{
			{Entity: store.Transactions, RowID: "T-77", Field: "totalAmount", Reason: `parse money "1,049.95": not an amount`, Raw: `{"transactionId":"T-77"}`},
			{Entity: store.Transactions, RowID: "T-78", Field: "dateCreated", Reason: "missing", Raw: `{"transactionId":"T-78"}`},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, body := e.do("GET", "/integrations", nil)
	if !strings.Contains(body, "2 transactions could not be read") || !strings.Contains(body, "T-77") || !strings.Contains(body, "1,049.95") {
		t.Errorf("the integrations page does not list the quarantine")
	}
	for _, tab := range []string{"/reports", "/reports/ltv", "/reports/retention", "/reports/chargebacks"} {
		_, body := e.do("GET", tab+"?integration=acme&from=2026-04-01&to=2026-06-30&asof=2026-06-30", nil)
		if !strings.Contains(body, "2 transactions could not be read and are not in these figures") {
			t.Errorf("%s does not name the quarantined rows", tab)
		}
	}
}

// TestPartialLoadIsShown: a load that did not finish is named on the
// integrations page and on every report.
func TestPartialLoadIsShown(t *testing.T) {
	e := syncedEnv(t)
	ctx := context.Background()
	in, _ := e.st.Integration(ctx, "acme")
	if err := e.st.MarkLoadPending(ctx, in.ID, 1234); err != nil {
		t.Fatal(err)
	}
	want := "did not finish (its files hold 1234 rows)"
	if _, body := e.do("GET", "/integrations", nil); !strings.Contains(body, want) {
		t.Errorf("the integrations page does not say the load is partial")
	}
	if _, body := e.do("GET", "/reports?integration=acme&from=2026-04-01&to=2026-06-30&asof=2026-06-30", nil); !strings.Contains(body, want) {
		t.Errorf("the report does not say the figures are partial")
	}
	e.st.LoadFinished(ctx, in.ID)
	if _, body := e.do("GET", "/integrations", nil); strings.Contains(body, want) {
		t.Errorf("the mark outlived a finished load")
	}
}

// TestUploadCanaries: card numbers in the wrong columns of an uploaded file
// (a name, an address, a phone number fix rewrites) never appear whole on
// the findings page, in findings.csv, on the page after fix or in its
// change log.
func TestUploadCanaries(t *testing.T) {
	e := newEnv(t, true, nil)
	e.login()
	card := func(mid string) string {
		payload := ("4" + mid + "0000000000")[:15]
		return payload + string(cardnum.CheckDigit(payload))
	}
	canaries := []string{card("71234"), card("82345"), card("93456")}
	spaced := func(c string) string { return c[:4] + " " + c[4:8] + " " + c[8:12] + " " + c[12:] }
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{Customers: 20, Seed: 11, AsOf: crm.Date{Year: 2025, Month: 6, Day: 30}}, dir); err != nil {
		t.Fatal(err)
	}
	tx := filepath.Join(dir, legacy.Transactions.FileName())
	editCells(t, tx, map[int][2]string{
		3: {legacy.FFirstName, "Ann " + canaries[0]},
		4: {legacy.FAddress1, "card " + spaced(canaries[1])},
		5: {legacy.FPhoneNumber, strings.ReplaceAll(spaced(canaries[2]), " ", "-")}, // fixable: not digits only
	})
	resp, _ := e.upload(tx)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	var seen []string
	_, page := e.do("GET", loc, nil)
	_, findings := e.do("GET", loc+"/findings.csv", nil)
	seen = append(seen, page, findings)
	if resp, _ := e.do("POST", loc+"/fix", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fix: %d", resp.StatusCode)
	}
	_, fixed := e.do("GET", loc, nil)
	_, changes := e.do("GET", loc+"/changes.csv", nil)
	seen = append(seen, fixed, changes)
	if !strings.Contains(findings, "card-number-elsewhere") {
		t.Fatalf("the canaries raised no finding: the test proves nothing\n%s", findings)
	}
	for i, text := range seen {
		for _, c := range canaries {
			digits := strings.NewReplacer(" ", "", "-", "").Replace(text)
			if strings.Contains(digits, c) {
				t.Errorf("response %d shows a card number whole", i)
			}
		}
	}
}

// TestFixShowsWhatRemains: the dashboard's fix validates its output again
// and shows what is left (a tracking number a spreadsheet turned into
// 4.11111E+15 cannot be repaired) before it offers the download; a warning
// on most rows is one summary line with its count and examples.
func TestFixShowsWhatRemains(t *testing.T) {
	e := newEnv(t, true, nil)
	e.login()
	dir, names := brokenFiles(t)
	tx := filepath.Join(dir, names[0])
	editCells(t, tx, map[int][2]string{6: {legacy.FTrackingNumber, "4.11111E+15"}})
	resp, _ := e.upload(tx)
	loc := resp.Header.Get("Location")
	_, body := e.do("GET", loc, nil)
	if !strings.Contains(body, `class="rule summary`) || !strings.Contains(body, "of the rows") || !strings.Contains(body, "e.g. "+names[0]+":2 ") {
		t.Errorf("a warning on most rows should be one summary line with examples:\n%s", body)
	}
	if resp, _ := e.do("POST", loc+"/fix", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fix: %d", resp.StatusCode)
	}
	_, body = e.do("GET", loc, nil)
	fixSec := body[strings.Index(body, `id="fix"`):]
	remain, zipAt := strings.Index(fixSec, `id="remaining"`), strings.Index(fixSec, `id="fixed-zip"`)
	if remain < 0 || zipAt < 0 || remain > zipAt {
		t.Fatalf("the fix should show what remains before the download:\n%s", fixSec)
	}
	left := fixSec[remain:zipAt]
	if !strings.Contains(left, "1 errors") || !strings.Contains(left, "spreadsheet-number") || strings.Contains(left, "invalid-datetime") {
		t.Errorf("what remains should be the spreadsheet number only, the dates fixed:\n%s", fixSec)
	}
	if !strings.Contains(left, "<td class=\"num\">6</td><td>AY trackingNumber</td>") {
		t.Errorf("what remains should name the row:\n%s", fixSec)
	}
}

// TestSemicolonUpload: a ';'-separated file (European Excel) is read with
// its delimiter, named by csv-delimiter, and the fix offers it back
// comma-separated with nothing left of that finding.
func TestSemicolonUpload(t *testing.T) {
	e := newEnv(t, true, nil)
	e.login()
	dir, names := brokenFiles(t)
	tx := filepath.Join(dir, names[0])
	b, err := os.ReadFile(tx)
	if err != nil {
		t.Fatal(err)
	}
	var semi bytes.Buffer
	r := legacy.NewReader(bytes.NewReader(b))
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		for i, f := range rec.Fields {
			if i > 0 {
				semi.WriteByte(';')
			}
			semi.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
		}
		semi.WriteByte('\n')
	}
	os.WriteFile(tx, semi.Bytes(), 0o600)
	resp, _ := e.upload(tx)
	loc := resp.Header.Get("Location")
	_, body := e.do("GET", loc, nil)
	if !strings.Contains(body, "csv-delimiter") || !strings.Contains(body, "invalid-datetime") || strings.Contains(body, "does not look like a CSV") {
		t.Fatalf("a ';' file should be read with its delimiter:\n%s", body)
	}
	e.do("POST", loc+"/fix", url.Values{})
	_, body = e.do("GET", loc, nil)
	fixSec := body[strings.Index(body, `id="fix"`):]
	left := fixSec[strings.Index(fixSec, `id="remaining"`):]
	if strings.Contains(left, "csv-delimiter") || strings.Contains(left, "invalid-datetime") {
		t.Fatalf("the fixed file should be comma-separated with its dates repaired:\n%s", left)
	}
	_, zb := e.do("GET", loc+"/fixed.zip", nil)
	zr, err := zip.NewReader(strings.NewReader(zb), int64(len(zb)))
	if err != nil || len(zr.File) != 1 {
		t.Fatalf("zip: %v", err)
	}
	rc, _ := zr.File[0].Open()
	fixed, _ := io.ReadAll(rc)
	if !bytes.HasPrefix(fixed, []byte(`"`+legacy.FMerchantID+`","`)) && !bytes.Contains(fixed[:200], []byte(`","`)) {
		t.Fatalf("not comma-separated: %.200q", fixed)
	}
}
