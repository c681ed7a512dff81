package main

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// serveProc is a running `konduit sftp serve`.
type serveProc struct {
	port, fingerprint string
	root              string
	stdout            *strings.Builder
}

var serveLine = regexp.MustCompile(`on 127\.0\.0\.1:(\d+) `)

// startServe runs `konduit sftp serve` on a free loopback port with a
// password login and returns once it listens. It is interrupted (SIGINT)
// at the end of the test and must exit 0.
func startServe(t *testing.T, dir string, extra ...string) *serveProc {
	t.Helper()
	p := &serveProc{root: filepath.Join(dir, "dropbox"), stdout: &strings.Builder{}}
	os.MkdirAll(p.root, 0o700)
	pwFile := filepath.Join(dir, "dropbox.pw")
	os.WriteFile(pwFile, []byte("s3cret drop box pw\n"), 0o600)
	args := append([]string{"sftp", "serve", "--root", p.root, "--user", "processor", "--password-file", pwFile,
		"--host-key", filepath.Join(dir, "host_key"), "--listen", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(konduitBin, args...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	ready := make(chan bool)
	go func() {
		found := false
		for sc.Scan() {
			line := sc.Text()
			p.stdout.WriteString(line + "\n")
			if m := serveLine.FindStringSubmatch(line); m != nil {
				p.port = m[1]
			}
			if f, ok := strings.CutPrefix(line, "host key fingerprint "); ok {
				p.fingerprint = f
				if !found {
					found = true
					ready <- true
				}
			}
		}
		if !found {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start in time")
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve exited with %v after SIGINT; stderr %s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("serve did not stop on SIGINT")
		}
		if strings.Contains(stderr.String(), "s3cret") {
			t.Error("serve logged its password")
		}
	})
	return p
}

func TestSFTPCLIPutGet(t *testing.T) {
	dir := t.TempDir()
	srv := startServe(t, dir)
	os.WriteFile(filepath.Join(dir, "clientpw"), []byte("s3cret drop box pw"), 0o600)
	conn := []string{"--host", "127.0.0.1", "--port", srv.port, "--user", "processor", "--host-key-fingerprint", srv.fingerprint, "--password-file", "clientpw"}
	payload := strings.Repeat("encrypted export bytes\n", 10000)
	os.WriteFile(filepath.Join(dir, "export.pgp"), []byte(payload), 0o644)

	r := runCLI(t, dir, nil, append(append([]string{"sftp", "put"}, conn...), "export.pgp", "/")...)
	if r.code != 0 || !strings.Contains(r.stdout, "verified: size and sha256") {
		t.Fatalf("put: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(srv.root, "export.pgp")); string(got) != payload {
		t.Fatal("uploaded file differs")
	}
	r = runCLI(t, dir, nil, append(append([]string{"sftp", "put"}, conn...), "export.pgp", "/export.pgp")...)
	if r.code != exitRemote || !strings.Contains(r.stderr, "--overwrite") {
		t.Fatalf("put over an existing file: %d %s", r.code, r.stderr)
	}
	sum := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindStringSubmatch(r.stdout + runCLI(t, dir, nil, append(append([]string{"sftp", "put", "--overwrite"}, conn...), "export.pgp", "/export.pgp")...).stdout)
	if sum == nil {
		t.Fatal("put printed no sha256")
	}
	r = runCLI(t, dir, nil, append(append([]string{"sftp", "get", "--sha256", sum[1]}, conn...), "/export.pgp", "back.pgp")...)
	if r.code != 0 {
		t.Fatalf("get: %d %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "back.pgp")); string(got) != payload {
		t.Fatal("downloaded file differs")
	}
	bad := strings.Repeat("0", 64)
	r = runCLI(t, dir, nil, append(append([]string{"sftp", "get", "--sha256", bad}, conn...), "/export.pgp", "bad.pgp")...)
	if r.code != exitRemote {
		t.Fatalf("get with a wrong checksum: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.pgp")); err == nil {
		t.Fatal("a download with a wrong checksum was kept")
	}

	// A wrong pinned fingerprint is refused before any login.
	wrong := append([]string{}, conn...)
	wrong[7] = "SHA256:" + strings.Repeat("B", 43)
	r = runCLI(t, dir, nil, append(append([]string{"sftp", "put"}, wrong...), "export.pgp", "/x.pgp")...)
	if r.code != exitRemote || !strings.Contains(r.stderr, "not trusted") {
		t.Fatalf("wrong fingerprint: %d %s", r.code, r.stderr)
	}
	// No host key check at all is a usage error.
	r = runCLI(t, dir, []string{"HOME=" + dir}, "sftp", "put", "--host", "127.0.0.1", "--port", srv.port, "--user", "processor", "--password-file", "clientpw", "export.pgp", "/y.pgp")
	if r.code != exitUsage || !strings.Contains(r.stderr, "host key") {
		t.Fatalf("no host key check: %d %s", r.code, r.stderr)
	}
	// A world-readable password file is refused.
	os.Chmod(filepath.Join(dir, "clientpw"), 0o644)
	r = runCLI(t, dir, nil, append(append([]string{"sftp", "put"}, conn...), "export.pgp", "/z.pgp")...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "chmod 600") {
		t.Fatalf("world-readable password file: %d %s", r.code, r.stderr)
	}
}

func TestSFTPCLIServeUploadOnlyWithKey(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	os.WriteFile(filepath.Join(dir, "id"), pem.EncodeToMemory(block), 0o600)
	os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
	srv := startServe(t, dir, "--upload-only", "--authorized-keys", filepath.Join(dir, "authorized_keys"))
	conn := []string{"--host", "127.0.0.1", "--port", srv.port, "--user", "processor", "--host-key-fingerprint", srv.fingerprint, "--identity", "id"}
	os.WriteFile(filepath.Join(dir, "f.pgp"), []byte("ciphertext"), 0o644)
	r := runCLI(t, dir, nil, append(append([]string{"sftp", "put"}, conn...), "f.pgp", "/f.pgp")...)
	if r.code != 0 || !strings.Contains(r.stdout, "verified: size\n") {
		t.Fatalf("put: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, append(append([]string{"sftp", "get"}, conn...), "/f.pgp", "g.pgp")...)
	if r.code != exitRemote {
		t.Fatalf("get from an upload-only box: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(srv.stdout.String(), "upload-only") {
		t.Fatalf("serve output: %s", srv.stdout.String())
	}
	// Not even the uploader can replace what it delivered.
	os.WriteFile(filepath.Join(dir, "f2.pgp"), []byte("replacement"), 0o644)
	r = runCLI(t, dir, nil, append(append([]string{"sftp", "put", "--overwrite"}, conn...), "f2.pgp", "/f.pgp")...)
	if r.code != exitRemote || !strings.Contains(r.stderr, "permission denied") {
		t.Fatalf("put --overwrite to an upload-only box: %d %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(srv.root, "f.pgp")); string(got) != "ciphertext" {
		t.Fatalf("the dropped file changed: %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(srv.root, ".*")); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// TestSFTPServeWritesPublicHostKey: serve writes FILE.pub (0644) beside
// its host key, the form ssh-keygen reads, and prints the known_hosts line
// a client needs: put with a known_hosts file holding just that line
// connects.
func TestSFTPServeWritesPublicHostKey(t *testing.T) {
	dir := t.TempDir()
	srv := startServe(t, dir)
	pubPath := filepath.Join(dir, "host_key.pub")
	st, err := os.Stat(pubPath)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("host_key.pub: %v %v", st, err)
	}
	b, _ := os.ReadFile(pubPath)
	key, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil || ssh.FingerprintSHA256(key) != srv.fingerprint {
		t.Fatalf("host_key.pub %q: %v", b, err)
	}
	if out, err := exec.Command("ssh-keygen", "-l", "-f", pubPath).CombinedOutput(); err != nil || !strings.Contains(string(out), srv.fingerprint) {
		t.Fatalf("ssh-keygen -l -f host_key.pub: %s %v", out, err)
	}
	var line string
	for _, l := range strings.Split(srv.stdout.String(), "\n") {
		if _, after, ok := strings.Cut(l, "known_hosts line (for clients that reach this address): "); ok {
			line = after
		}
	}
	if want := "[127.0.0.1]:" + srv.port + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))); line != want {
		t.Fatalf("known_hosts line %q, want %q", line, want)
	}
	os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(line+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "clientpw"), []byte("s3cret drop box pw\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "f.pgp"), []byte("ciphertext"), 0o644)
	r := runCLI(t, dir, nil, "sftp", "put", "--host", "127.0.0.1", "--port", srv.port, "--user", "processor", "--known-hosts", "known_hosts", "--password-file", "clientpw", "f.pgp", "/f.pgp")
	if r.code != 0 {
		t.Fatalf("put with the printed known_hosts line: %d %s", r.code, r.stderr)
	}
}
