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
	"syscall"
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

// dropFixture puts what an operator left in an upload-only box before a
// client logs in: a file, a directory, and the file's state to compare.
type dropFixture struct {
	root    string
	content []byte
	mode    os.FileMode
	mtime   time.Time
}

func preexisting(t *testing.T, root string) dropFixture {
	t.Helper()
	d := dropFixture{root: root, content: []byte("dropped yesterday"), mode: 0o640, mtime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	p := filepath.Join(root, "existing.pgp")
	if err := os.WriteFile(p, d.content, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, d.mode)
	os.Chtimes(p, d.mtime, d.mtime)
	os.Mkdir(filepath.Join(root, "olddir"), 0o700)
	return d
}

// unchanged fails the test unless existing.pgp and olddir are exactly as
// they were left, and no name outside want appeared.
func (d dropFixture) unchanged(t *testing.T, want ...string) {
	t.Helper()
	p := filepath.Join(d.root, "existing.pgp")
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatalf("existing.pgp is gone: %v", err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, d.content) || st.Mode() != d.mode || !st.ModTime().Equal(d.mtime) {
		t.Errorf("existing.pgp changed: %q mode %v mtime %v", got, st.Mode(), st.ModTime())
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink != 1 {
		t.Errorf("existing.pgp has %d links", sys.Nlink)
	}
	if st, err := os.Lstat(filepath.Join(d.root, "olddir")); err != nil || !st.IsDir() {
		t.Errorf("olddir is gone: %v", err)
	}
	entries, _ := os.ReadDir(d.root)
	allowed := map[string]bool{"existing.pgp": true, "olddir": true}
	for _, w := range want {
		allowed[w] = true
	}
	for _, e := range entries {
		if !allowed[e.Name()] {
			t.Errorf("unexpected %s in the drop box", e.Name())
		}
	}
}

// TestUploadOnlyProtectsExistingFiles: in an upload-only box nothing that
// was there before the session can be read, renamed, removed, replaced,
// truncated, appended to, linked or have its attributes changed; a
// session's own upload can be renamed once (never over a name), and
// removed before that.
func TestUploadOnlyProtectsExistingFiles(t *testing.T) {
	fx := startServer(t, true)
	d := preexisting(t, fx.root)
	ctx := context.Background()
	c, err := Dial(ctx, fx.config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := c.sftp
	refused := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: allowed", what)
		}
	}
	refused("rename", s.Rename("/existing.pgp", "/moved.pgp"))
	refused("posix-rename", s.PosixRename("/existing.pgp", "/moved.pgp"))
	refused("rename a directory", s.Rename("/olddir", "/newdir"))
	refused("remove", s.Remove("/existing.pgp"))
	refused("rmdir", s.RemoveDirectory("/olddir"))
	refused("chmod", s.Chmod("/existing.pgp", 0o666))
	refused("chtimes", s.Chtimes("/existing.pgp", time.Now(), time.Now()))
	refused("truncate", s.Truncate("/existing.pgp", 0))
	refused("chmod a directory", s.Chmod("/olddir", 0o777))
	refused("symlink", s.Symlink("/existing.pgp", "/soft.pgp"))
	refused("hard link", s.Link("/existing.pgp", "/hard.pgp"))
	_, err = s.ReadLink("/existing.pgp")
	refused("readlink", err)
	for name, flags := range map[string]int{
		"open for write":         os.O_WRONLY,
		"open for read-write":    os.O_RDWR,
		"open to truncate":       os.O_WRONLY | os.O_TRUNC,
		"create-truncate":        os.O_WRONLY | os.O_CREATE | os.O_TRUNC,
		"open to append":         os.O_WRONLY | os.O_APPEND,
		"open to read":           os.O_RDONLY,
		"open a directory (rw)":  os.O_RDWR | os.O_CREATE,
		"create-exclusive (dup)": os.O_WRONLY | os.O_CREATE | os.O_EXCL,
	} {
		target := "/existing.pgp"
		if strings.Contains(name, "directory") {
			target = "/olddir"
		}
		f, err := s.OpenFile(target, flags)
		if err == nil {
			// pkg/sftp opens lazily in places: a write or read must fail too.
			_, werr := f.Write([]byte("X"))
			_, rerr := f.Read(make([]byte, 8))
			f.Close()
			if werr == nil || rerr == nil {
				t.Errorf("%s: allowed (write %v, read %v)", name, werr, rerr)
			}
		}
	}
	// Our client's put over an existing name, with and without --overwrite.
	if _, err := putBytes(ctx, c, "/existing.pgp", []byte("x"), PutOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("put over an existing file: %v, want ErrExists", err)
	}
	refused("put --overwrite", func() error {
		_, err := putBytes(ctx, c, "/existing.pgp", []byte("x"), PutOptions{Overwrite: true})
		return err
	}())

	// The session's own uploads. put: a .part file renamed into place,
	// after which it is delivered, fixed for its uploader too.
	if _, err := putBytes(ctx, c, "/mine.pgp", []byte("new upload"), PutOptions{}); err != nil {
		t.Fatalf("put a new file: %v", err)
	}
	refused("rename a delivered upload", s.Rename("/mine.pgp", "/mine2.pgp"))
	refused("remove a delivered upload", s.Remove("/mine.pgp"))
	refused("chmod a delivered upload", s.Chmod("/mine.pgp", 0o644))
	// By hand: attributes accepted (and ignored) on a new file, a rename
	// over an existing name refused, one rename to a free name allowed.
	f, err := s.OpenFile("/raw.part", os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("raw upload"))
	if err := f.Chmod(0o644); err != nil {
		t.Errorf("fsetstat on the session's new file: %v", err)
	}
	f.Close()
	if err := s.Chtimes("/raw.part", time.Now(), time.Now()); err != nil {
		t.Errorf("setstat on the session's new file: %v", err)
	}
	refused("rename own upload over an existing file", s.Rename("/raw.part", "/existing.pgp"))
	refused("posix-rename own upload over an existing file", s.PosixRename("/raw.part", "/existing.pgp"))
	refused("posix-rename own upload over a delivered one", s.PosixRename("/raw.part", "/mine.pgp"))
	if err := s.PosixRename("/raw.part", "/raw.pgp"); err != nil {
		t.Errorf("rename the session's own upload: %v", err)
	}
	refused("rename it again", s.Rename("/raw.pgp", "/raw2.pgp"))
	refused("remove it after the rename", s.Remove("/raw.pgp"))
	// A failed upload's file can be removed before it is renamed.
	f, err = s.OpenFile("/scratch.part", os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("oops"))
	f.Close()
	if err := s.Remove("/scratch.part"); err != nil {
		t.Errorf("remove the session's own upload: %v", err)
	}
	check := func() {
		t.Helper()
		d.unchanged(t, "mine.pgp", "raw.pgp")
		for name, want := range map[string]string{"mine.pgp": "new upload", "raw.pgp": "raw upload"} {
			if got, _ := os.ReadFile(filepath.Join(fx.root, name)); string(got) != want {
				t.Errorf("%s holds %q, want %q", name, got, want)
			}
		}
	}
	check()

	// Another session sees the first one's uploads as existing files.
	c2, err := Dial(ctx, fx.config())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	refused("another session renames an upload", c2.sftp.Rename("/mine.pgp", "/taken.pgp"))
	refused("another session removes an upload", c2.sftp.Remove("/raw.pgp"))
	refused("another session sets attributes", c2.sftp.Chmod("/mine.pgp", 0o644))
	if _, err := putBytes(ctx, c2, "/mine.pgp", []byte("x"), PutOptions{Overwrite: true}); err == nil {
		t.Error("another session replaced an upload")
	}
	check()
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

// TestOpenSSHClientAgainstUploadOnly: OpenSSH's sftp can upload new files
// to an upload-only box (with -p too), rename its own upload once and
// delete it before that, but every command that would read or change what
// was there before fails.
func TestOpenSSHClientAgainstUploadOnly(t *testing.T) {
	sftpBin := requireTool(t, "sftp")
	fx := startServer(t, true)
	d := preexisting(t, fx.root)
	dir := t.TempDir()
	payload := bytes.Repeat([]byte("openssh upload-only\n"), 5000)
	os.WriteFile(filepath.Join(dir, "up.bin"), payload, 0o600)
	sftp := func(t *testing.T, lines ...string) string {
		t.Helper()
		batch := filepath.Join(dir, "batch")
		os.WriteFile(batch, []byte(strings.Join(append(lines, ""), "\n")), 0o600)
		cmd := exec.Command(sftpBin, "-b", batch, "-P", fmt.Sprint(fx.addr.Port), "-i", fx.clientPEM,
			"-o", "UserKnownHostsFile="+fx.knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
			"-o", "IdentitiesOnly=yes", "drop@127.0.0.1")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openssh sftp: %v\n%s", err, out)
		}
		return string(out)
	}
	// Each refused command is on its own "-" line (carry on after an
	// error); the allowed ones would stop the batch if they failed.
	refused := []string{
		"-put up.bin existing.pgp",
		"-reput up.bin existing.pgp",
		"-rename existing.pgp moved.pgp",
		"-rename olddir newdir",
		"-rm existing.pgp",
		"-rmdir olddir",
		"-chmod 666 existing.pgp",
		"-chmod 777 olddir",
		"-ln existing.pgp hard.pgp",
		"-ln -s existing.pgp soft.pgp",
		"-get existing.pgp stolen.pgp",
	}
	out := sftp(t, append(refused,
		"put up.bin new.bin",
		"put -p up.bin kept.bin",
		"rename new.bin renamed.bin",
		"-rename renamed.bin again.bin",
		"-rm renamed.bin",
		"-put up.bin renamed.bin",
		"put up.bin scratch.bin", // the session's own, not renamed: it may delete it
		"rm scratch.bin",
		"ls -l",
	)...)
	d.unchanged(t, "renamed.bin", "kept.bin")
	for _, name := range []string{"renamed.bin", "kept.bin"} {
		if got, _ := os.ReadFile(filepath.Join(fx.root, name)); !bytes.Equal(got, payload) {
			t.Errorf("%s: %d bytes, want the %d uploaded", name, len(got), len(payload))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "stolen.pgp")); err == nil {
		t.Error("a file was downloaded from an upload-only box")
	}
	// A second session cannot touch the first one's uploads.
	sftp(t, "-rename renamed.bin taken.bin", "-rm kept.bin", "-chmod 600 kept.bin", "-put up.bin kept.bin")
	d.unchanged(t, "renamed.bin", "kept.bin")
	if t.Failed() {
		t.Logf("sftp output:\n%s", out)
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
	f.Add([]byte{})
	f.Add([]byte("\xff\xfe ssh-ed25519 \xc3\n# \xff\n"))
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
