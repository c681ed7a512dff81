package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

// dashProc is a `konduit serve` the test stops itself.
type dashProc struct {
	cmd  *exec.Cmd
	base string
	errb *bytes.Buffer
	done chan error
}

// startDashboard runs `konduit serve` with env and waits for its address.
func startDashboard(t *testing.T, env []string, args ...string) *dashProc {
	t.Helper()
	cmd := exec.Command(konduitBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := &dashProc{cmd: cmd, errb: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		p.done <- cmd.Wait()
	}()
	timeout := time.After(time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve ended early; stderr:\n%s", p.errb)
			}
			if v, ok := urlAfter("dashboard listening on ")(l); ok {
				p.base = v
				go func() {
					for range lines {
					}
				}()
				return p
			}
		case <-timeout:
			t.Fatalf("serve printed no address; stderr:\n%s", p.errb)
		}
	}
}

// stop sends sig and waits for the process to end.
func (p *dashProc) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("serve did not stop on %v", sig)
		return nil
	}
}

// uploadRoots are the dashboards' upload directories in tmp.
func uploadRoots(t *testing.T, tmp string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(tmp, "konduit-web-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// longRunFile is a generated transactions file whose first row's
// trackingNumber is a 22-digit run (the validator once panicked on it).
func longRunFile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(context.Background(), synth.Options{Customers: 20, Seed: 3, AsOf: crm.Date{Year: 2025, Month: 6, Day: 30}}, dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, legacy.Transactions.FileName())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range recs[0] {
		if h == legacy.FTrackingNumber {
			recs[1][i] = strings.Repeat("9876543210", 2) + "98"
		}
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	w.UseCRLF = true
	w.WriteAll(recs)
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dashboardUpload logs in and uploads path; it returns the upload's status.
func dashboardUpload(t *testing.T, base, password, path string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/login", url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("files", filepath.Base(path))
	b, _ := os.ReadFile(path)
	fw.Write(b)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeUploadsRemovedOnExit: uploads (raw card files) never outlive
// the server: SIGTERM and Ctrl-C remove them; after kill -9 the next serve
// removes them when it starts. The upload has a 22-digit cell; the server
// keeps answering. Started with umask 0, the new database is 0600 all the
// same.
func TestServeUploadsRemovedOnExit(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	const pw = "lifecycle-password"
	env := []string{"TMPDIR=" + tmp, envAdminPassword + "=" + pw}
	db := filepath.Join(dir, "data", "k.db")
	file := longRunFile(t)

	old := syscall.Umask(0)
	first := startDashboard(t, env, "--db", "sqlite:"+db)
	syscall.Umask(old)
	for _, p := range []string{filepath.Dir(db), db, db + ".admin"} {
		want := fs.FileMode(0o600)
		if p == filepath.Dir(db) {
			want = 0o700
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %v under umask 0", filepath.Base(p), st.Mode().Perm(), err, want)
		}
	}
	if code := dashboardUpload(t, first.base, pw, file); code != http.StatusSeeOther {
		t.Fatalf("upload: %d; stderr:\n%s", code, first.errb)
	}
	resp, err := http.Get(first.base + "/login")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the server should answer after the upload: %v; stderr:\n%s", err, first.errb)
	}
	resp.Body.Close()
	roots := uploadRoots(t, tmp)
	if len(roots) != 1 {
		t.Fatalf("upload directories %v, want one", roots)
	}
	crashed := roots[0]
	if err := first.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("kill -9 should end serve with a signal")
	}
	if _, err := os.Stat(crashed); err != nil {
		t.Fatalf("the killed server's uploads should still be there: %v", err)
	}

	second := startDashboard(t, env, "--db", "sqlite:"+db)
	if _, err := os.Stat(crashed); !os.IsNotExist(err) {
		t.Fatalf("the next serve should remove the killed server's uploads: %v", err)
	}
	if code := dashboardUpload(t, second.base, pw, file); code != http.StatusSeeOther {
		t.Fatalf("upload: %d", code)
	}
	if len(uploadRoots(t, tmp)) != 1 {
		t.Fatal("no upload directory while serving")
	}
	if err := second.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("serve on SIGTERM: %v; stderr:\n%s", err, second.errb)
	}
	if r := uploadRoots(t, tmp); len(r) != 0 {
		t.Fatalf("uploads left after SIGTERM: %v", r)
	}

	third := startDashboard(t, env, "--db", "sqlite:"+db)
	if code := dashboardUpload(t, third.base, pw, file); code != http.StatusSeeOther {
		t.Fatalf("upload: %d", code)
	}
	if err := third.stop(t, os.Interrupt); err != nil {
		t.Fatalf("serve on Ctrl-C: %v", err)
	}
	if r := uploadRoots(t, tmp); len(r) != 0 {
		t.Fatalf("uploads left after Ctrl-C: %v", r)
	}
}

// TestDemoPrivateModes: under umask 0 the demo's data directory is 0700
// and its files (database and journals, key, admin hash, the uploads'
// directory and lock) private.
func TestDemoPrivateModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-data")
	old := syscall.Umask(0)
	startProcess(t, nil, urlAfter("Konduit demo dashboard: "), "demo", "--addr", "127.0.0.1:0", "--customers", "150", "--months", "3", "--dir", dir)
	syscall.Umask(old)
	seen := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"demo.db", "demo.db.key", "demo.db.admin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if r := uploadRoots(t, dir); len(r) != 1 {
		t.Errorf("the demo's upload directory: %v", r)
	}
	if seen < 6 {
		t.Fatalf("walked %d entries", seen)
	}
}
