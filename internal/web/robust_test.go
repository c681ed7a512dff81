package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
)

// logBuffer is a log destination tests read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func withLog(b *logBuffer) func(*Options) {
	return func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(b, nil)) }
}

// uploadDirs counts the uploads in root (its lock file aside).
func uploadDirs(t *testing.T, root string) int {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if e.Name() != rootLock {
			n++
		}
	}
	return n
}

// testCard is a Luhn-valid 16-digit number made at run time.
func testCard() string {
	payload := "411111" + "000000" + "123"
	return payload + string(cardnum.CheckDigit(payload))
}

// shutdown stops the env's HTTP server and the dashboard, as serve does.
func (e *env) shutdown() {
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// TestUploadPanicRecovered: a panic in the validation job (injected: it
// carries a card number, as a panic over input would) is a 500 for that
// upload; its files are deleted at once; the log has our stack but not the
// number; the server answers the next requests; shutdown removes every
// upload.
func TestUploadPanicRecovered(t *testing.T) {
	var logs logBuffer
	e := newEnv(t, true, withLog(&logs))
	e.login()
	dir, names := brokenFiles(t)
	card := testCard()
	testHookValidate = func() { panic("bad cell " + card) }
	resp, body := e.upload(filepath.Join(dir, names[0]))
	testHookValidate = nil
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "could not be checked") {
		t.Fatalf("a panicking validation: %d, want 500 with the upload page's message", resp.StatusCode)
	}
	if n := uploadDirs(t, e.srv.imports.root); n != 0 {
		t.Fatalf("the failed upload left %d directories", n)
	}
	l := logs.String()
	if !strings.Contains(l, "recovered from a panic") || !strings.Contains(l, "validateUpload") || strings.Contains(l, card) || strings.Contains(l, "bad cell") {
		t.Fatalf("the log should hold the stack and not the panic's text:\n%s", l)
	}
	if resp, _ := e.do("GET", "/import", nil); resp.StatusCode != 200 {
		t.Fatalf("the next request: %d", resp.StatusCode)
	}
	// a panic in fix: an error on the page, no partial output, server up
	resp, _ = e.upload(filepath.Join(dir, names[0]))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	testHookFix = func() { panic("fix " + card) }
	resp, _ = e.do("POST", loc+"/fix", url.Values{})
	testHookFix = nil
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fix: %d", resp.StatusCode)
	}
	if _, body := e.do("GET", loc, nil); !strings.Contains(body, "internal error") {
		t.Fatalf("the fix's error should be shown:\n%s", body)
	}
	u := e.srv.imports.get(strings.TrimPrefix(loc, "/import/"))
	if _, err := os.Stat(u.outDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed fix left its output: %v", err)
	}
	if strings.Contains(logs.String(), card) {
		t.Fatal("the log holds the card number")
	}
	root := e.srv.imports.root
	if n := uploadDirs(t, root); n != 1 {
		t.Fatalf("%d uploads kept, want 1", n)
	}
	e.shutdown()
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("uploads left after shutdown: %v", err)
	}
}

// TestUploadLongDigitRun: a cell with a 22-digit run (the validator once
// panicked on it) is validated; the server keeps answering.
func TestUploadLongDigitRun(t *testing.T) {
	e := newEnv(t, true, nil)
	e.login()
	dir, names := brokenFiles(t)
	tx := filepath.Join(dir, names[0])
	run := strings.Repeat("1234567890", 2) + "12"
	editCells(t, tx, map[int][2]string{3: {legacy.FTrackingNumber, run}, 4: {legacy.FTrackingNumber, testCard() + "000000"}})
	resp, _ := e.upload(tx)
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/import", nil); resp.StatusCode != 200 {
		t.Fatalf("the next request: %d", resp.StatusCode)
	}
	root := e.srv.imports.root
	e.shutdown()
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("uploads left after shutdown: %v", err)
	}
}

// TestRecoverMiddleware: a handler's panic is a 500 (or a cut connection
// once the answer began), logged without the panic's text; jobs and
// background work end with errInternal.
func TestRecoverMiddleware(t *testing.T) {
	var logs logBuffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	card := testCard()
	h := s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			w.Header().Set("Content-Disposition", "attachment")
			w.Write([]byte("half"))
		}
		var m map[string]int
		if r.URL.Path == "/nil" {
			//lint:ignore SA5000 a deliberate runtime error
			m["x"] = len(card)
		}
		panic(errors.New("value " + card))
	}))
	for _, p := range []string{"/early", "/nil"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 500 || strings.Contains(rec.Body.String(), card) {
			t.Fatalf("%s: %d %q", p, rec.Code, rec.Body)
		}
	}
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Fatalf("a panic after the answer began: %v, want ErrAbortHandler", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/late", nil))
	}()
	l := logs.String()
	if strings.Contains(l, card) || !strings.Contains(l, "TestRecoverMiddleware") || !strings.Contains(l, "assignment to entry in nil map") {
		t.Fatalf("log:\n%s", l)
	}
	var j jobs
	j.log = s.log
	jb := j.start(context.Background(), "k", time.Now, func(context.Context) error { panic(card) })
	<-jb.done
	if !errors.Is(jb.err, errInternal) {
		t.Fatalf("a panicking report: %v", jb.err)
	}
	done := make(chan struct{})
	goSafely(s.log, "bg", func() { defer close(done); panic(card) })
	<-done
	if strings.Contains(logs.String(), card) {
		t.Fatal("a card number reached the log")
	}
	if got := maskDigits("index 12345678 of 12"); got != "index xxxxxxxx of 12" {
		t.Fatal(got)
	}
}

// TestHandlerPanicIs500: a panic in a handler of the running server is a
// 500, and the server goes on.
func TestHandlerPanicIs500(t *testing.T) {
	var logs logBuffer
	e := newEnv(t, true, withLog(&logs))
	e.login()
	sessions := e.srv.sessions
	e.srv.sessions = nil // requireLogin dereferences it: a nil pointer panic
	resp, body := e.do("GET", "/integrations", nil)
	e.srv.sessions = sessions
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "internal error") {
		t.Fatalf("a panicking handler: %d %q", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "requireLogin") {
		t.Fatalf("the log should have the stack:\n%s", logs.String())
	}
	if resp, _ := e.do("GET", "/integrations", nil); resp.StatusCode != 200 {
		t.Fatalf("the next request: %d", resp.StatusCode)
	}
}

// dialFrom is a client whose connections come from the loopback address ip.
func dialFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func postLogin(t *testing.T, c *http.Client, base, password string) int {
	t.Helper()
	resp, err := c.PostForm(base+"/login", url.Values{"password": {password}})
	if err != nil {
		t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoginLimiter: 40 concurrent wrong passwords from one address: the
// budget is checked, the rest get 429; meanwhile the admin logs in from
// another address; the address gets attempts back as time passes.
func TestLoginLimiter(t *testing.T) {
	if ln, err := net.Listen("tcp", "127.0.0.2:0"); err != nil { // Linux routes 127/8 to loopback; macOS only 127.0.0.1
		if os.Getenv("CI") != "" {
			t.Fatalf("a second loopback address is needed: %v", err)
		}
		t.Skipf("no second loopback address: %v", err)
	} else {
		ln.Close()
	}
	e := newEnv(t, true, nil)
	attacker, admin := dialFrom("127.0.0.1"), dialFrom("127.0.0.2")
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	start := make(chan struct{})
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes <- postLogin(t, attacker, e.ts.URL, "wrong password!")
		}()
	}
	adminCode := make(chan int, 1)
	go func() {
		<-start
		adminCode <- postLogin(t, admin, e.ts.URL, testAdminPassword)
	}()
	close(start)
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[http.StatusUnauthorized] != loginBurst || n[http.StatusTooManyRequests] != 40-loginBurst {
		t.Fatalf("40 concurrent wrong passwords: %v, want %d checked (401) and the rest 429", n, loginBurst)
	}
	if c := <-adminCode; c != http.StatusSeeOther {
		t.Fatalf("the admin from another address: %d, want 303", c)
	}
	if c := e.srv.limiter.checked.Load(); c != loginBurst+1 {
		t.Fatalf("%d passwords checked, want the budget %d and the admin's", c, loginBurst)
	}
	// still limited, even with the right password, and told when to retry
	resp, err := attacker.PostForm(e.ts.URL+"/login", url.Values{"password": {testAdminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "20" {
		t.Fatalf("limited address: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// one attempt back per loginEvery
	e.clock.add(loginEvery)
	if c := postLogin(t, attacker, e.ts.URL, "wrong password!"); c != http.StatusUnauthorized {
		t.Fatalf("after %s: %d, want one more attempt", loginEvery, c)
	}
	if c := postLogin(t, attacker, e.ts.URL, "wrong password!"); c != http.StatusTooManyRequests {
		t.Fatalf("the attempt after that: %d, want 429", c)
	}
	e.clock.add(loginBurst * loginEvery)
	if c := postLogin(t, attacker, e.ts.URL, testAdminPassword); c != http.StatusSeeOther {
		t.Fatalf("after the window the right password: %d", c)
	}
	// a success gives the address its whole budget back
	for i := range loginBurst {
		if c := postLogin(t, attacker, e.ts.URL, "wrong password!"); c != http.StatusUnauthorized {
			t.Fatalf("attempt %d after a success: %d", i+1, c)
		}
	}
}

// TestLoginLimiterMemory: addresses tracked are capped (least recently
// seen forgotten first); IPv6 counts by /64.
func TestLoginLimiterMemory(t *testing.T) {
	clock := &testClock{t: time.Now()}
	l := newLoginLimiter(clock.now)
	l.cap = 100
	for i := range 1000 {
		l.reserve(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if n := l.tracked(); n != 100 {
		t.Fatalf("%d addresses tracked, want the cap 100", n)
	}
	l.mu.Lock()
	_, old := l.byAddr["10.0.0.0"]
	_, recent := l.byAddr["10.0.3.231"]
	l.mu.Unlock()
	if old || !recent {
		t.Fatal("eviction should drop the least recently seen address")
	}
	for remote, want := range map[string]string{"127.0.0.1:5": "127.0.0.1", "[::ffff:10.1.2.3]:80": "10.1.2.3", "[2001:db8:1:2:3:4:5:6]:9": "2001:db8:1:2::/64", "[::1]:9": "::1", "@": "@"} {
		if got := clientKey(remote); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", remote, got, want)
		}
	}
}

// rawRequest writes prefix, then trickle one byte per gap, and returns the
// status line the server answered ("" when it closed the connection
// without one) and how long that took.
func rawRequest(t *testing.T, addr, prefix, trickle string, gap time.Duration) (string, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	began := time.Now()
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		answered <- strings.TrimSpace(line)
	}()
	if _, err := io.WriteString(c, prefix); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(trickle); i++ {
		select {
		case line := <-answered:
			return line, time.Since(began)
		case <-time.After(gap):
		}
		if _, err := c.Write([]byte{trickle[i]}); err != nil {
			break // cut off
		}
	}
	select {
	case line := <-answered:
		return line, time.Since(began)
	case <-time.After(10 * time.Second):
		t.Fatal("no answer and no close")
		return "", 0
	}
}

// TestSlowRequestCutOff: a POST /login whose body trickles in at a byte per
// 100ms is answered 408 when ReadTimeout passes (the password is never
// checked); a header sent that slowly is cut off at ReadHeaderTimeout.
func TestSlowRequestCutOff(t *testing.T) {
	e := newEnv(t, true, func(o *Options) { o.ReadTimeout = 400 * time.Millisecond })
	addr := strings.TrimPrefix(e.ts.URL, "http://")
	body := "password=" + url.QueryEscape(testAdminPassword) + "&next=%2Fintegrations"
	head := fmt.Sprintf("POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	line, took := rawRequest(t, addr, head, body, 100*time.Millisecond)
	if !strings.Contains(line, " 408 ") || took > 3*time.Second {
		t.Fatalf("slow body: %q after %s, want 408 soon after the 400ms read timeout", line, took)
	}
	if n := e.srv.limiter.tracked(); n != 0 {
		t.Fatalf("a cut-off login reached the limiter (%d addresses)", n)
	}

	e = newEnv(t, true, func(o *Options) { o.ReadHeaderTimeout = 300 * time.Millisecond })
	addr = strings.TrimPrefix(e.ts.URL, "http://")
	line, took = rawRequest(t, addr, "", head+body, 100*time.Millisecond)
	if line != "" && !strings.Contains(line, " 400 ") || took > 3*time.Second {
		t.Fatalf("slow header: %q after %s, want the connection cut (or a 400) soon after the 300ms header timeout", line, took)
	}
}

// TestBodyCap: a body over MaxBody is a 413 on any route, announced (then
// at once, without waiting for the body) or chunked; an upload has its
// own, larger cap (TestUploadTooLarge).
func TestBodyCap(t *testing.T) {
	e := newEnv(t, true, func(o *Options) { o.MaxUpload = 1 << 20 })
	big := "password=" + strings.Repeat("x", DefaultMaxBody)
	resp, _ := e.do("POST", "/login", url.Values{"password": {big}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("an oversized login: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.ts.URL+"/login", io.MultiReader(strings.NewReader(big))) // no length: chunked
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.ContentLength = -1
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("an oversized chunked login: %d", resp.StatusCode)
	}
	// an announced length over the cap is refused before the body comes
	addr := strings.TrimPrefix(e.ts.URL, "http://")
	for path, n := range map[string]int{"/login": DefaultMaxBody + 1, "/import": 1<<20 + 1} {
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", path, addr, n)
		if line, took := rawRequest(t, addr, head, "", 0); !strings.Contains(line, " 413 ") || took > 3*time.Second {
			t.Fatalf("POST %s announcing %d bytes: %q after %s, want 413 at once", path, n, line, took)
		}
	}
	e.login()
	resp, _ = e.do("POST", "/integrations", url.Values{"name": {strings.Repeat("n", DefaultMaxBody)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("an oversized form: %d", resp.StatusCode)
	}
	if n := e.srv.limiter.tracked(); n != 0 { // e.login's address is forgotten on success
		t.Fatalf("%d addresses in the limiter: an oversized login reached it", n)
	}
}

// TestLongRoutesOutliveWriteTimeout: validating an upload and fixing it
// may take longer than WriteTimeout: those routes get LongTimeout.
func TestLongRoutesOutliveWriteTimeout(t *testing.T) {
	e := newEnv(t, true, func(o *Options) { o.WriteTimeout = 300 * time.Millisecond })
	// a session without the login page: bcrypt may take longer than 300ms
	// (under -race)
	id, err := e.srv.sessions.create(AdminUser, RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.ts.URL)
	e.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: id, Path: "/"}})
	dir, names := brokenFiles(t)
	slow := func() { time.Sleep(600 * time.Millisecond) }
	testHookValidate, testHookFix = slow, slow
	defer func() { testHookValidate, testHookFix = nil, nil }()
	resp, _ := e.upload(filepath.Join(dir, names[0]))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a slow validation: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", resp.Header.Get("Location")+"/fix", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a slow fix: %d", resp.StatusCode)
	}
}

// TestLeftoverUploadsSwept: New removes the uploads' directories of servers
// that are gone (lock free, or no lock and old), keeps a live server's, and
// leaves other files alone.
func TestLeftoverUploadsSwept(t *testing.T) {
	tmp := t.TempDir()
	live := newEnv(t, true, func(o *Options) { o.TempDir = tmp })
	dead := filepath.Join(tmp, rootPrefix+"dead")
	os.MkdirAll(filepath.Join(dead, "abc", "in"), 0o700)
	os.WriteFile(filepath.Join(dead, rootLock), nil, 0o600)
	os.WriteFile(filepath.Join(dead, "abc", "in", "tx.csv"), []byte(testCard()), 0o600)
	oldNoLock := filepath.Join(tmp, rootPrefix+"old")
	os.Mkdir(oldNoLock, 0o700)
	longAgo := time.Now().Add(-time.Hour)
	os.Chtimes(oldNoLock, longAgo, longAgo)
	youngNoLock := filepath.Join(tmp, rootPrefix+"young")
	os.Mkdir(youngNoLock, 0o700)
	staleNew := filepath.Join(tmp, newPrefix+"stale")
	os.Mkdir(staleNew, 0o700)
	os.Chtimes(staleNew, longAgo, longAgo)
	other := filepath.Join(tmp, "konduit-demo-x")
	os.Mkdir(other, 0o700)
	target := t.TempDir()
	os.Symlink(target, filepath.Join(tmp, rootPrefix+"link"))

	next := newEnv(t, true, func(o *Options) { o.TempDir = tmp })
	for _, d := range []string{dead, oldNoLock, staleNew} {
		if _, err := os.Lstat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s should be swept: %v", filepath.Base(d), err)
		}
	}
	for _, d := range []string{live.srv.imports.root, next.srv.imports.root, youngNoLock, other, filepath.Join(tmp, rootPrefix+"link"), target} {
		if _, err := os.Lstat(d); err != nil {
			t.Errorf("%s should be kept: %v", filepath.Base(d), err)
		}
	}
}
