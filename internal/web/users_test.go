package web

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testViewerPassword = "viewer password 123"

// TestViewerReadsButCannotChange: a viewer logs in with their own password
// and reads every page and download; every route that is not a GET (all of
// them, from the mux: a new route is covered without touching this test)
// answers 403 to a viewer and changes nothing, while the admin's session
// goes on working.
func TestViewerReadsButCannotChange(t *testing.T) {
	e := syncedEnv(t)
	ctx := context.Background()
	dir, names := brokenFiles(t)
	resp, _ := e.upload(filepath.Join(dir, names[0]))
	uploadPath := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(uploadPath, "/import/") {
		t.Fatalf("upload: %d %s", resp.StatusCode, uploadPath)
	}
	uploadID := strings.TrimPrefix(uploadPath, "/import/")

	if err := SetViewer(ctx, e.srv.viewersFile(), "accountant", testViewerPassword); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(e.srv.viewersFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("viewers file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(e.srv.viewersFile()); strings.Contains(string(b), testViewerPassword) {
		t.Fatal("the viewer's password is stored in clear")
	}

	viewer := *e
	jar, _ := cookiejar.New(nil)
	viewer.client = &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}
	// the admin password under the viewer's name, and a wrong password, fail
	for _, pw := range []string{testAdminPassword, "wrong password 456"} {
		if resp, _ := viewer.do("POST", "/login", url.Values{"user": {"accountant"}, "password": {pw}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("viewer login with a wrong password: %d", resp.StatusCode)
		}
	}
	if resp, _ := viewer.do("POST", "/login", url.Values{"user": {"nobody"}, "password": {testViewerPassword}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", resp.StatusCode)
	}
	if resp, _ := viewer.do("POST", "/login", url.Values{"user": {"accountant"}, "password": {testViewerPassword}, "next": {"/reports"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("viewer login: %d", resp.StatusCode)
	}

	// the pages say so, and show no control that changes anything
	_, body := viewer.do("GET", "/integrations", nil)
	if !strings.Contains(body, `class="read-only"`) || !strings.Contains(body, "accountant (read-only)") {
		t.Error("the integrations page does not say the viewer is read-only")
	}
	_, body = e.do("GET", "/integrations", nil)
	if strings.Contains(body, `class="read-only"`) || !strings.Contains(body, `id="who">admin<`) {
		t.Error("the admin's page is marked read-only")
	}

	var customerID string
	e.st.DB().QueryRowContext(ctx, "SELECT MIN(customer_id) FROM transactions").Scan(&customerID)
	fill := func(pattern string) string {
		_, path, _ := strings.Cut(pattern, " ")
		path = strings.NewReplacer("{name}", "acme", "{id}", uploadID, "{file}", "summary.csv", "{customer}", customerID, "{$}", "").Replace(path)
		return path
	}
	var gets, posts int
	for _, pat := range e.srv.patterns {
		method, _, _ := strings.Cut(pat, " ")
		path := fill(pat)
		if strings.Contains(path, "{") {
			t.Fatalf("route %q: the test does not know its wildcard", pat)
		}
		switch {
		case pat == "POST /login" || pat == "POST /setup" || pat == "POST /logout" || pat == "GET /login" || pat == "GET /setup" || strings.HasPrefix(pat, "GET /static/"):
			continue // not behind a login
		case pat == "GET /users":
			gets++ // the users page is the admin's alone
			if resp, _ := viewer.do("GET", path, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer GET %s: %d, want 403", path, resp.StatusCode)
			}
		case method == "GET":
			if strings.HasSuffix(path, "/fixed.zip") || strings.HasSuffix(path, "/changes.csv") {
				continue // exist only after a fix
			}
			gets++
			resp, body := viewer.do("GET", path, nil)
			if resp.StatusCode != 200 && resp.StatusCode != http.StatusSeeOther {
				t.Errorf("viewer GET %s: %d %.200s", path, resp.StatusCode, body)
			}
			if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("viewer GET %s: sent to log in", path)
			}
		default:
			posts++
			resp, _ := viewer.do(method, path, url.Values{"name": {"evil"}, "base_url": {"http://127.0.0.1:1"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer %s %s: %d, want 403", method, path, resp.StatusCode)
			}
		}
	}
	if gets < 8 || posts < 4 {
		t.Fatalf("only %d pages and %d changes tried: the route list is wrong", gets, posts)
	}
	// nothing changed: no integration "evil", no fix ran
	if _, err := e.st.Integration(ctx, "evil"); err == nil {
		t.Error("a viewer's POST created an integration")
	}
	if resp, _ := viewer.do("GET", uploadPath+"/fixed.zip", nil); resp.StatusCode != 404 {
		t.Errorf("a viewer's fix ran: fixed.zip %d", resp.StatusCode)
	}
	// a viewer can log out
	if resp, _ := viewer.do("POST", "/logout", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("viewer logout: %d", resp.StatusCode)
	}
	// the admin still can change things
	if resp, _ := e.do("POST", uploadPath+"/fix", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("admin fix: %d", resp.StatusCode)
	}
}

// A removed viewer's session ends at their next request.
func TestRemovedViewerIsLoggedOut(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	if err := SetViewer(ctx, e.srv.viewersFile(), "temp", testViewerPassword); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do("POST", "/login", url.Values{"user": {"temp"}, "password": {testViewerPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/integrations", nil); resp.StatusCode != 200 {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	if err := RemoveViewer(ctx, e.srv.viewersFile(), "temp"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do("GET", "/integrations", nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("removed viewer: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if err := RemoveViewer(ctx, e.srv.viewersFile(), "temp"); err == nil {
		t.Error("removing a missing viewer should fail")
	}
}

func TestSetViewerRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v")
	for _, tc := range []struct{ name, pw string }{{"admin", testViewerPassword}, {"Bad Name", testViewerPassword}, {"a:b", testViewerPassword}, {"ok", "short"}, {"ok", strings.Repeat("x", 73)}} {
		if err := SetViewer(context.Background(), path, tc.name, tc.pw); err == nil {
			t.Errorf("SetViewer(%q, %d chars) accepted", tc.name, len(tc.pw))
		} else if strings.Contains(err.Error(), tc.pw) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	if err := SetViewer(context.Background(), path, "ok", testViewerPassword); err != nil {
		t.Fatal(err)
	}
	if err := SetViewer(context.Background(), path, "ok", "another password 1"); err != nil { // a new password replaces the old
		t.Fatal(err)
	}
	if names, _ := Viewers(path); len(names) != 1 || names[0] != "ok" {
		t.Fatalf("viewers %v", names)
	}
	if ok, _ := checkViewerPassword(path, "ok", testViewerPassword); ok {
		t.Error("the old password still works")
	}
	if ok, _ := checkViewerPassword(path, "ok", "another password 1"); !ok {
		t.Error("the new password does not work")
	}
}

// TestUsersPage: the admin adds a viewer from the page (the password is
// hashed and never logged or shown), sets a viewer's new password (their
// sessions end), removes one (their sessions end), and changes their own
// password (after the current one; their other sessions end). A viewer
// is refused the page and each of its forms.
func TestUsersPage(t *testing.T) {
	var logs logBuffer
	e := newEnv(t, true, withLog(&logs))
	e.login()
	other := *e // a second admin session
	jar, _ := cookiejar.New(nil)
	other.client = &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}
	other.login()

	resp, body := e.do("GET", "/users", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="no-viewers"`) || !strings.Contains(body, `id="nav-users"`) {
		t.Fatalf("users page: %d %.300s", resp.StatusCode, body)
	}
	// refused: passwords that differ, a short one, a bad name
	for _, f := range []url.Values{
		{"name": {"ann"}, "password": {testViewerPassword}, "confirm": {testViewerPassword + "x"}},
		{"name": {"ann"}, "password": {"short"}, "confirm": {"short"}},
		{"name": {"Ann Smith"}, "password": {testViewerPassword}, "confirm": {testViewerPassword}},
		{"name": {"admin"}, "password": {testViewerPassword}, "confirm": {testViewerPassword}},
	} {
		if resp, body := e.do("POST", "/users", f); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="error"`) {
			t.Errorf("add viewer %v: %d", f["name"], resp.StatusCode)
		}
	}
	if names, _ := Viewers(e.srv.viewersFile()); len(names) != 0 {
		t.Fatalf("a refused form added %v", names)
	}
	add := url.Values{"name": {"Ann"}, "password": {testViewerPassword}, "confirm": {testViewerPassword}}
	if resp, _ := e.do("POST", "/users", add); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/users?done=added&name=ann" {
		t.Fatalf("add viewer: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = e.do("GET", "/users?done=added&name=ann", nil)
	if !strings.Contains(body, `data-viewer="ann"`) || !strings.Contains(body, "Viewer ann added") {
		t.Errorf("the new viewer is not listed: %.500s", body)
	}

	viewer := *e
	vjar, _ := cookiejar.New(nil)
	viewer.client = &http.Client{Jar: vjar, CheckRedirect: e.client.CheckRedirect}
	vlogin := func(pw string) int {
		resp, _ := viewer.do("POST", "/login", url.Values{"user": {"ann"}, "password": {pw}})
		return resp.StatusCode
	}
	if c := vlogin(testViewerPassword); c != http.StatusSeeOther {
		t.Fatalf("viewer login: %d", c)
	}
	if resp, body := viewer.do("GET", "/reports", nil); resp.StatusCode != 200 || strings.Contains(body, `id="nav-users"`) {
		t.Errorf("viewer's page: %d, users link shown %v", resp.StatusCode, strings.Contains(body, `id="nav-users"`))
	}
	for _, r := range []struct{ method, path string }{{"GET", "/users"}, {"POST", "/users"}, {"POST", "/users/ann/remove"}, {"POST", "/users/password"}} {
		if resp, _ := viewer.do(r.method, r.path, url.Values{"name": {"bob"}, "password": {testViewerPassword}, "confirm": {testViewerPassword}, "current": {testViewerPassword}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer %s %s: %d, want 403", r.method, r.path, resp.StatusCode)
		}
	}
	if names, _ := Viewers(e.srv.viewersFile()); len(names) != 1 {
		t.Fatalf("a viewer's POST changed the viewers: %v", names)
	}

	// a new password for ann ends her session; the new one works
	const newViewerPassword = "viewer password 456"
	set := url.Values{"name": {"ann"}, "password": {newViewerPassword}, "confirm": {newViewerPassword}}
	if resp, _ := e.do("POST", "/users", set); resp.Header.Get("Location") != "/users?done=set&name=ann" {
		t.Fatalf("set password: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := viewer.do("GET", "/reports", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("viewer's session after a new password: %d, want a redirect to log in", resp.StatusCode)
	}
	if vlogin(testViewerPassword) != http.StatusUnauthorized || vlogin(newViewerPassword) != http.StatusSeeOther {
		t.Error("the old password still works, or the new one does not")
	}
	// removed: her session ends at once
	if resp, _ := e.do("POST", "/users/ann/remove", url.Values{}); resp.Header.Get("Location") != "/users?done=removed&name=ann" {
		t.Fatalf("remove: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := e.srv.sessions.endUser("ann", ""); n != 0 {
		t.Errorf("%d sessions of the removed viewer remain", n)
	}
	if resp, _ := e.do("POST", "/users/ann/remove", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removing her again: %d", resp.StatusCode)
	}

	// the admin's own password: the current one first
	const newAdmin = "a new admin password"
	if resp, _ := e.do("POST", "/users/password", url.Values{"current": {"wrong password 1"}, "password": {newAdmin}, "confirm": {newAdmin}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong current password: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", "/users/password", url.Values{"current": {testAdminPassword}, "password": {newAdmin}, "confirm": {newAdmin + "!"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("new passwords that differ: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", "/users/password", url.Values{"current": {testAdminPassword}, "password": {newAdmin}, "confirm": {newAdmin}}); resp.Header.Get("Location") != "/users?done=password" {
		t.Fatalf("change password: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := e.do("GET", "/users", nil); resp.StatusCode != 200 {
		t.Errorf("the admin's own session ended: %d", resp.StatusCode)
	}
	if resp, _ := other.do("GET", "/users", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the admin's other session goes on: %d", resp.StatusCode)
	}
	if ok, _ := checkAdminPassword(e.srv.opts.AdminFile, newAdmin); !ok {
		t.Error("the new admin password does not work")
	}
	for _, pw := range []string{testViewerPassword, newViewerPassword, newAdmin, testAdminPassword} {
		if strings.Contains(logs.String(), pw) {
			t.Errorf("a password is in the log")
		}
	}
}
