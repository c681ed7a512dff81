package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeViewers: the admin adds viewers from the command line (password
// from the environment or stdin, never a flag); a viewer logs in to the
// running dashboard, reads pages, and is refused a change.
func TestServeViewers(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "k.db")
	const pw1, pw2 = "first viewer pass", "second viewer pass"
	if r := runCLI(t, dir, []string{envViewerPassword + "=" + pw1}, "serve", "--db", dsn, "--add-viewer", "ann"); r.code != 0 || !strings.Contains(r.stdout, "viewer ann") {
		t.Fatalf("add ann: %d %s %s", r.code, r.stdout, r.stderr)
	}
	cmd := exec.Command(konduitBin, "serve", "--db", dsn, "--add-viewer", "bob")
	cmd.Env = os.Environ()
	cmd.Stdin = strings.NewReader(pw2 + "\n")
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), pw2) {
		t.Fatalf("add bob from stdin: %v %s", err, out)
	}
	if r := runCLI(t, dir, nil, "serve", "--db", dsn, "--add-viewer", "carl"); r.code != exitUsage {
		t.Fatalf("a viewer without a password: exit %d", r.code)
	}
	if r := runCLI(t, dir, nil, "serve", "--db", dsn, "--list-viewers"); r.code != 0 || r.stdout != "ann\nbob\n" {
		t.Fatalf("list: %d %q", r.code, r.stdout)
	}
	if r := runCLI(t, dir, nil, "serve", "--db", dsn, "--remove-viewer", "ann"); r.code != 0 {
		t.Fatalf("remove ann: %d %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(filepath.Join(dir, "k.db.admin.viewers")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("viewers file: %v %v", fi, err)
	}

	base, _ := startProcess(t, []string{envAdminPassword + "=admin password 123"}, urlAfter("dashboard listening on "), "serve", "--addr", "127.0.0.1:0", "--db", dsn)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, v url.Values) int {
		resp, err := c.PostForm(base+path, v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/login", url.Values{"user": {"ann"}, "password": {pw1}}); code != http.StatusUnauthorized {
		t.Fatalf("removed viewer ann logged in: %d", code)
	}
	if code := post("/login", url.Values{"user": {"bob"}, "password": {pw2}}); code != http.StatusSeeOther {
		t.Fatalf("bob: %d", code)
	}
	resp, err := c.Get(base + "/integrations")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bob reads integrations: %v %v", resp, err)
	}
	resp.Body.Close()
	if code := post("/integrations", url.Values{"name": {"x"}}); code != http.StatusForbidden {
		t.Fatalf("bob connects an integration: %d, want 403", code)
	}
}
