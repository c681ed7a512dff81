package transfer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

type fixture struct {
	addr       *net.TCPAddr
	root       string
	hostKey    ssh.Signer
	clientKey  ssh.Signer
	clientPEM  string // path of the client's private key (OpenSSH format)
	knownHosts string
	password   []byte
}

func newSigner(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := ssh.MarshalPrivateKey(priv, "test")
	return s, pem.EncodeToMemory(block)
}

// startServer runs a drop box on 127.0.0.1 until the test ends.
func startServer(t *testing.T, uploadOnly bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	fx := &fixture{root: filepath.Join(dir, "root"), password: []byte("drop box password")}
	os.Mkdir(fx.root, 0o700)
	fx.hostKey, _ = newSigner(t)
	var pemBytes []byte
	fx.clientKey, pemBytes = newSigner(t)
	fx.clientPEM = filepath.Join(dir, "id_ed25519")
	os.WriteFile(fx.clientPEM, pemBytes, 0o600)
	srv, err := NewServer(ServerConfig{
		Root: fx.root, HostKey: fx.hostKey, User: "drop",
		AuthorizedKeys: []ssh.PublicKey{fx.clientKey.PublicKey()}, Password: fx.password,
		UploadOnly: uploadOnly, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fx.addr = ln.Addr().(*net.TCPAddr)
	fx.knownHosts = filepath.Join(dir, "known_hosts")
	os.WriteFile(fx.knownHosts, []byte(knownHostsLine(fx.addr, fx.hostKey.PublicKey())), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return fx
}

func knownHostsLine(addr *net.TCPAddr, key ssh.PublicKey) string {
	return fmt.Sprintf("[127.0.0.1]:%d %s", addr.Port, ssh.MarshalAuthorizedKey(key))
}

func (fx *fixture) config() ClientConfig {
	return ClientConfig{Host: "127.0.0.1", Port: fx.addr.Port, User: "drop", KnownHosts: fx.knownHosts, Signer: fx.clientKey}
}

func putBytes(ctx context.Context, c *Client, p string, b []byte, opts PutOptions) (Result, error) {
	return c.Put(ctx, p, opts, func(w io.Writer) error { _, err := w.Write(b); return err })
}

func TestPutGetOwnServer(t *testing.T) {
	fx := startServer(t, false)
	ctx := context.Background()
	c, err := Dial(ctx, fx.config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 100000)
	res, err := putBytes(ctx, c, "/export.pgp", data, PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(len(data)) || res.Verified != "size and sha256" {
		t.Fatalf("result %+v", res)
	}
	got, _ := os.ReadFile(filepath.Join(fx.root, "export.pgp"))
	if !bytes.Equal(got, data) {
		t.Fatal("file on the server differs")
	}
	if _, err := putBytes(ctx, c, "/export.pgp", data, PutOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second put: %v, want ErrExists", err)
	}
	if _, err := putBytes(ctx, c, "/export.pgp", []byte("new"), PutOptions{Overwrite: true}); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	var buf bytes.Buffer
	gr, err := c.Get(ctx, "/export.pgp", &buf)
	if err != nil || buf.String() != "new" || gr.Size != 3 {
		t.Fatalf("get: %v %q", err, buf.String())
	}
	// A failing producer leaves nothing under the final name, nor a part file.
	_, err = c.Put(ctx, "/half.pgp", PutOptions{}, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("producer failed")
	})
	if err == nil {
		t.Fatal("put with a failing producer succeeded")
	}
	entries, _ := os.ReadDir(fx.root)
	for _, e := range entries {
		if e.Name() != "export.pgp" {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

func TestPasswordLoginAndPinnedFingerprint(t *testing.T) {
	fx := startServer(t, false)
	ctx := context.Background()
	cfg := ClientConfig{Host: "127.0.0.1", Port: fx.addr.Port, User: "drop", Password: fx.password,
		Fingerprint: ssh.FingerprintSHA256(fx.hostKey.PublicKey())}
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	other, _ := newSigner(t)
	cfg.Fingerprint = ssh.FingerprintSHA256(other.PublicKey())
	var hk *HostKeyError
	if _, err := Dial(ctx, cfg); !errors.As(err, &hk) {
		t.Fatalf("wrong pinned fingerprint: %v, want HostKeyError", err)
	}
	cfg.Fingerprint = ""
	if _, err := Dial(ctx, cfg); err == nil || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("no host key check: %v", err)
	}
	cfg.Fingerprint = ssh.FingerprintSHA256(fx.hostKey.PublicKey())
	cfg.Password = []byte("wrong")
	if _, err := Dial(ctx, cfg); err == nil {
		t.Fatal("a wrong password logged in")
	}
	// known_hosts naming another key for this host is a mismatch too.
	kh := filepath.Join(t.TempDir(), "kh")
	os.WriteFile(kh, []byte(knownHostsLine(fx.addr, other.PublicKey())), 0o600)
	cfg = fx.config()
	cfg.KnownHosts = kh
	if _, err := Dial(ctx, cfg); !errors.As(err, &hk) {
		t.Fatalf("known_hosts mismatch: %v", err)
	}
}

func TestUploadOnly(t *testing.T) {
	fx := startServer(t, true)
	ctx := context.Background()
	c, err := Dial(ctx, fx.config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := putBytes(ctx, c, "/in.pgp", []byte("ciphertext"), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verified != "size" {
		t.Fatalf("verified %q, want size only on an upload-only box", res.Verified)
	}
	if _, err := c.Get(ctx, "/in.pgp", io.Discard); err == nil {
		t.Fatal("read from an upload-only box")
	}
	if _, err := putBytes(ctx, c, "/in.pgp", []byte("x"), PutOptions{Overwrite: true}); err == nil {
		t.Fatal("overwrote a file in an upload-only box")
	}
	if err := c.sftp.Remove("/in.pgp"); err == nil {
		t.Fatal("removed a file from an upload-only box")
	}
	if got, _ := os.ReadFile(filepath.Join(fx.root, "in.pgp")); string(got) != "ciphertext" {
		t.Fatalf("the dropped file changed: %q", got)
	}
}

func TestRootCannotBeLeft(t *testing.T) {
	fx := startServer(t, false)
	outside := filepath.Join(filepath.Dir(fx.root), "outside.txt")
	os.WriteFile(outside, []byte("secret outside"), 0o600)
	os.Symlink(outside, filepath.Join(fx.root, "link"))
	os.Symlink("..", filepath.Join(fx.root, "up"))
	ctx := context.Background()
	c, err := Dial(ctx, fx.config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range []string{"../outside.txt", "/../outside.txt", "a/../../outside.txt", "/link", "up/outside.txt", outside} {
		var buf bytes.Buffer
		if _, err := c.Get(ctx, p, &buf); err == nil || strings.Contains(buf.String(), "secret") {
			t.Errorf("read %q outside the root", p)
		}
	}
	for _, p := range []string{"../escape.txt", "up/escape.txt", "/link"} {
		putBytes(ctx, c, p, []byte("x"), PutOptions{Overwrite: true})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(fx.root), "escape.txt")); err == nil {
		t.Fatal("a write escaped the root")
	}
	if got, _ := os.ReadFile(outside); string(got) != "secret outside" {
		t.Fatal("a file outside the root changed")
	}
	if err := c.sftp.Symlink("/etc/passwd", "/pw"); err == nil {
		t.Fatal("created a symlink")
	}
	// "../x" is cleaned against the root: it lands inside.
	if _, err := putBytes(ctx, c, "../inside.txt", []byte("ok"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(fx.root, "inside.txt")); err != nil {
		t.Fatal("cleaned path did not land in the root")
	}
}

func TestCancelledPutLeavesNoFinalFile(t *testing.T) {
	fx := startServer(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Dial(ctx, fx.config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Put(ctx, "/big.pgp", PutOptions{}, func(w io.Writer) error {
		w.Write(make([]byte, 1<<20))
		cancel()
		_, err := w.Write(make([]byte, 1<<20))
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(fx.root, "big.pgp")); err == nil {
		t.Fatal("a cancelled upload appeared under its final name")
	}
}

// requireTool finds an OpenSSH binary: a failure in CI, a skip elsewhere.
func requireTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		if _, err := os.Stat(n); err == nil {
			return n
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI (apt-get install -y openssh-client openssh-server)", names[0])
	}
	t.Skipf("%s not installed", names[0])
	return ""
}

func TestOpenSSHClientAgainstServe(t *testing.T) {
	sftpBin := requireTool(t, "sftp")
	fx := startServer(t, false)
	dir := t.TempDir()
	payload := bytes.Repeat([]byte("openssh interop\n"), 5000)
	os.WriteFile(filepath.Join(dir, "up.bin"), payload, 0o600)
	batch := filepath.Join(dir, "batch")
	os.WriteFile(batch, []byte(strings.Join([]string{
		"mkdir incoming",
		"put up.bin incoming/up.bin",
		"ls -l incoming",
		"get incoming/up.bin down.bin",
		"rename incoming/up.bin incoming/final.bin",
		"-get ../../../../etc/hostname escaped1",
		"-get /etc/hostname escaped2",
		"-symlink /etc/hostname incoming/link",
		"",
	}, "\n")), 0o600)
	cmd := exec.Command(sftpBin, "-b", batch, "-P", fmt.Sprint(fx.addr.Port), "-i", fx.clientPEM,
		"-o", "UserKnownHostsFile="+fx.knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "drop@127.0.0.1")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssh sftp: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(filepath.Join(fx.root, "incoming", "final.bin"))
	down, _ := os.ReadFile(filepath.Join(dir, "down.bin"))
	if !bytes.Equal(got, payload) || !bytes.Equal(down, payload) {
		t.Fatalf("openssh put/get did not round-trip\n%s", out)
	}
	for _, f := range []string{"escaped1", "escaped2"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s: a file from outside the root was downloaded", f)
		}
	}
	if _, err := os.Lstat(filepath.Join(fx.root, "incoming", "link")); err == nil {
		t.Error("openssh created a symlink in the root")
	}
	// A host key the client does not know is refused by OpenSSH too.
	os.WriteFile(fx.knownHosts, nil, 0o600)
	cmd = exec.Command(sftpBin, "-b", batch, "-P", fmt.Sprint(fx.addr.Port), "-i", fx.clientPEM,
		"-o", "UserKnownHostsFile="+fx.knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "drop@127.0.0.1")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("openssh accepted an unknown host key\n%s", out)
	}
}

func TestReadAuthorizedKeys(t *testing.T) {
	a, _ := newSigner(t)
	b, _ := newSigner(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "ak")
	content := "# drop box keys\n\n" + string(ssh.MarshalAuthorizedKey(a.PublicKey())) +
		`no-pty,command="/bin/false" ` + string(ssh.MarshalAuthorizedKey(b.PublicKey())) + "# trailing comment\n"
	os.WriteFile(p, []byte(content), 0o600)
	keys, err := ReadAuthorizedKeys(p)
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %d, err %v", len(keys), err)
	}
	os.WriteFile(p, []byte("# nothing\n"), 0o600)
	if _, err := ReadAuthorizedKeys(p); err == nil {
		t.Fatal("a file without keys was accepted")
	}
	os.WriteFile(p, []byte("ssh-ed25519 not-base64\n"), 0o600)
	if _, err := ReadAuthorizedKeys(p); err == nil {
		t.Fatal("a damaged key was accepted")
	}
}

// FuzzParseAuthorizedKeys: any content either fails or yields keys that
// marshal back to parseable authorized_keys lines.
func FuzzParseAuthorizedKeys(f *testing.F) {
	f.Add([]byte("# c\n\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGc1S1jVjEM5TQh8m3o9m0qz0pZ6l2Ff0vN5b2Tq3Xx2 a@b\n"))
	f.Add([]byte("no-pty ssh-rsa AAAA\n"))
	f.Add([]byte("\n#\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseAuthorizedKeys(data)
		if err != nil {
			return
		}
		if len(keys) == 0 {
			t.Fatal("no error and no key")
		}
		for _, k := range keys {
			if _, _, _, _, err := ssh.ParseAuthorizedKey(ssh.MarshalAuthorizedKey(k)); err != nil {
				t.Fatalf("a parsed key does not marshal back: %v", err)
			}
		}
	})
}
