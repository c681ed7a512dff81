package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshdFixture runs OpenSSH's sshd with sftp-server on 127.0.0.1 and a free
// port, with a temporary host key and authorized_keys, until the test ends.
type sshdFixture struct {
	port       int
	user       string
	home       string // where relative sftp paths land
	knownHosts string
	hostKey    ssh.PublicKey
	clientKey  ssh.Signer
}

func startSSHD(t *testing.T) *sshdFixture {
	t.Helper()
	sshd := requireTool(t, "/usr/sbin/sshd", "sshd")
	sftpServer := requireTool(t, "/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server")
	keygen := requireTool(t, "ssh-keygen")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the sshd fixture needs root (privilege separation)")
		}
		t.Skip("the sshd fixture needs root")
	}
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	hostKeyPath := filepath.Join(dir, "host_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", hostKeyPath).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	hostPub, _ := os.ReadFile(hostKeyPath + ".pub")
	hk, _, _, _, err := ssh.ParseAuthorizedKey(hostPub)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := newSigner(t)
	authKeys := filepath.Join(dir, "authorized_keys")
	os.WriteFile(authKeys, ssh.MarshalAuthorizedKey(client.PublicKey()), 0o600)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o755)
	conf := filepath.Join(dir, "sshd_config")
	os.WriteFile(conf, []byte(strings.Join([]string{
		fmt.Sprintf("Port %d", port),
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKeyPath,
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + authKeys,
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"PermitRootLogin prohibit-password",
		"AllowUsers " + u.Username,
		"ChrootDirectory none",
		"Subsystem sftp " + sftpServer + " -d " + home,
		"",
	}, "\n")), 0o600)
	cmd := exec.Command(sshd, "-D", "-e", "-f", conf)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("sshd did not start: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	kh := filepath.Join(dir, "known_hosts")
	os.WriteFile(kh, []byte(fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPub)), 0o600)
	return &sshdFixture{port: port, user: u.Username, home: home, knownHosts: kh, hostKey: hk, clientKey: client}
}

func TestPutGetAgainstOpenSSH(t *testing.T) {
	fx := startSSHD(t)
	ctx := context.Background()
	cfg := ClientConfig{Host: "127.0.0.1", Port: fx.port, User: fx.user, KnownHosts: fx.knownHosts, Signer: fx.clientKey}
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	remote := filepath.Join(fx.home, "export.csv.pgp")
	data := bytes.Repeat([]byte("sshd interop "), 200000)
	res, err := putBytes(ctx, c, remote, data, PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verified != "size and sha256" || res.Size != int64(len(data)) {
		t.Fatalf("result %+v", res)
	}
	if got, _ := os.ReadFile(remote); !bytes.Equal(got, data) {
		t.Fatal("sshd holds a different file")
	}
	if _, err := putBytes(ctx, c, remote, data, PutOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second put: %v", err)
	}
	if _, err := putBytes(ctx, c, remote, []byte("v2"), PutOptions{Overwrite: true}); err != nil {
		t.Fatalf("overwrite via posix-rename: %v", err)
	}
	var buf bytes.Buffer
	if _, err := c.Get(ctx, remote, &buf); err != nil || buf.String() != "v2" {
		t.Fatalf("get: %v %q", err, buf.String())
	}
	entries, _ := os.ReadDir(fx.home)
	if len(entries) != 1 {
		t.Fatalf("left behind in the remote directory: %v", entries)
	}

	// Pinning the right fingerprint works; a wrong one is refused.
	cfg.KnownHosts, cfg.Fingerprint = "", ssh.FingerprintSHA256(fx.hostKey)
	c2, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	cfg.Fingerprint = "SHA256:" + strings.Repeat("A", 43)
	var hk *HostKeyError
	if _, err := Dial(ctx, cfg); !errors.As(err, &hk) {
		t.Fatalf("wrong fingerprint: %v", err)
	}
}
