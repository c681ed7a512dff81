// Package transfer moves files over SFTP the careful way, and serves a drop
// box for them.
//
// The client (Dial, Put, Get) always checks the server's host key, against
// an OpenSSH known_hosts file or a pinned SHA256 fingerprint; there is no
// way to skip the check. Put uploads under a temporary name beside the
// target, renames it into place only when the upload is complete, then
// checks the remote size and, where the server lets it read the file back,
// the SHA-256 checksum. A dropped connection or a killed process leaves at
// most a ".NAME.part-*" file, never a partial file under the final name.
//
// The server (NewServer, Serve) is a drop box: loopback by default, a root
// directory clients cannot leave, public key or password logins from files,
// and an upload-only mode.
package transfer

import (
	"github.com/konduit/konduit/internal/failpoint"

	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/exitcode"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ClientConfig says where to connect and how to check and log in.
type ClientConfig struct {
	Host string
	Port int
	User string
	// KnownHosts is an OpenSSH known_hosts file. Fingerprint, when set, pins
	// the host key's "SHA256:..." fingerprint instead. One is required.
	KnownHosts  string
	Fingerprint string
	// Signer logs in with a private key; Password with a password.
	Signer   ssh.Signer
	Password []byte
	Timeout  time.Duration
}

// RemoteError is the server refusing or failing; the CLI exits 3.
type RemoteError struct{ Err error }

func (e *RemoteError) Error() string { return e.Err.Error() }
func (e *RemoteError) Unwrap() error { return e.Err }

// ExitCode is 3: the remote service refused or failed.
func (e *RemoteError) ExitCode() int { return exitcode.Remote }

// ErrHostKey is a host key that does not match what the user trusts.
var ErrHostKey = errors.New("host key mismatch")

// HostKeyError names the key that was offered.
type HostKeyError struct {
	Host, Fingerprint string
	Err               error
}

func (e *HostKeyError) Error() string {
	return fmt.Sprintf("host key of %s (%s) is not trusted: %v", e.Host, e.Fingerprint, e.Err)
}
func (e *HostKeyError) Unwrap() error { return ErrHostKey }

// ExitCode is 3: the remote end is not who it should be.
func (e *HostKeyError) ExitCode() int { return exitcode.Remote }

// Hint says how to trust a host deliberately.
func (e *HostKeyError) Hint() string {
	return "check the fingerprint with the server's owner, then pass it with --host-key-fingerprint or add it to known_hosts"
}

func hostKeyCallback(cfg ClientConfig) (ssh.HostKeyCallback, error) {
	if cfg.Fingerprint != "" {
		want := strings.TrimSpace(cfg.Fingerprint)
		if !strings.HasPrefix(want, "SHA256:") {
			return nil, errors.New("host key fingerprint must look like SHA256:base64 (ssh-keygen -lf key.pub)")
		}
		return func(host string, _ net.Addr, key ssh.PublicKey) error {
			got := ssh.FingerprintSHA256(key)
			if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				return &HostKeyError{Host: host, Fingerprint: got, Err: errors.New("fingerprint differs from the pinned one")}
			}
			return nil
		}, nil
	}
	if cfg.KnownHosts == "" {
		return nil, errors.New("no host key check: give a known_hosts file or a pinned fingerprint")
	}
	cb, err := knownhosts.New(cfg.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts: %w", err)
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		if err := cb(host, remote, key); err != nil {
			return &HostKeyError{Host: host, Fingerprint: ssh.FingerprintSHA256(key), Err: err}
		}
		return nil
	}, nil
}

// Client is an SFTP session.
type Client struct {
	ssh  *ssh.Client
	sftp *sftp.Client
}

// Dial connects, checks the host key and logs in.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	cb, err := hostKeyCallback(cfg)
	if err != nil {
		return nil, err
	}
	var auth []ssh.AuthMethod
	if cfg.Signer != nil {
		auth = append(auth, ssh.PublicKeys(cfg.Signer))
	}
	if len(cfg.Password) > 0 {
		pw := string(cfg.Password)
		auth = append(auth, ssh.Password(pw))
	}
	if len(auth) == 0 {
		return nil, errors.New("sftp: no login method: give a private key or a password")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	port := cfg.Port
	if port == 0 {
		port = 22
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &RemoteError{fmt.Errorf("sftp: connect %s: %w", addr, err)}
	}
	nc.SetDeadline(time.Now().Add(timeout))
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{
		User: cfg.User, Auth: auth, HostKeyCallback: cb, Timeout: timeout,
	})
	if err != nil {
		nc.Close()
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, hk
		}
		return nil, &RemoteError{fmt.Errorf("sftp: ssh handshake with %s: %w", addr, err)}
	}
	nc.SetDeadline(time.Time{})
	sc := ssh.NewClient(conn, chans, reqs)
	c, err := sftp.NewClient(sc)
	if err != nil {
		sc.Close()
		return nil, &RemoteError{fmt.Errorf("sftp: start sftp subsystem: %w", err)}
	}
	return &Client{ssh: sc, sftp: c}, nil
}

// Close ends the session.
// RealPath is the absolute path the server gives a path (a relative one
// is under the login's home directory).
func (c *Client) RealPath(ctx context.Context, p string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	abs, err := c.sftp.RealPath(p)
	if err != nil {
		return "", &RemoteError{fmt.Errorf("resolve %s: %w", p, err)}
	}
	return abs, nil
}

func (c *Client) Close() error {
	c.sftp.Close()
	return c.ssh.Close()
}

// Result describes a transferred file.
type Result struct {
	Path   string
	Size   int64
	SHA256 string
	// Verified is "size and sha256" when the file was read back, "size"
	// when the server does not allow reading it (an upload-only drop box).
	Verified string
}

// PutOptions tune Put.
type PutOptions struct {
	// Overwrite replaces an existing remote file; by default Put refuses.
	Overwrite bool
}

// ErrExists is a remote file Put would replace.
var ErrExists = errors.New("remote file already exists")

// Put streams what fill writes to remotePath: to a temporary name first,
// renamed when complete, then verified.
func (c *Client) Put(ctx context.Context, remotePath string, opts PutOptions, fill func(w io.Writer) error) (Result, error) {
	res := Result{Path: remotePath}
	stop := context.AfterFunc(ctx, func() { c.ssh.Close() })
	defer stop()
	if _, err := c.sftp.Lstat(remotePath); err == nil && !opts.Overwrite {
		return res, &RemoteError{fmt.Errorf("put %s: %w", remotePath, ErrExists)}
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	dir, base := path.Split(remotePath)
	tmp := path.Join(dir, "."+base+".part-"+hex.EncodeToString(rnd[:]))
	f, err := c.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return res, c.remoteErr(ctx, "put: create "+tmp, err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	ferr := fill(cw)
	cerr := f.Close()
	if ferr != nil || cerr != nil || ctx.Err() != nil {
		c.sftp.Remove(tmp) // best effort; the connection may be gone
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if ferr != nil {
			return res, ferr
		}
		return res, c.remoteErr(ctx, "put: finish "+tmp, cerr)
	}
	res.Size, res.SHA256 = cw.n, hex.EncodeToString(h.Sum(nil))
	failpoint.Hit("transfer.written")
	if opts.Overwrite {
		if _, ok := c.sftp.HasExtension("posix-rename@openssh.com"); ok {
			err = c.sftp.PosixRename(tmp, remotePath)
		} else {
			c.sftp.Remove(remotePath)
			err = c.sftp.Rename(tmp, remotePath)
		}
	} else {
		err = c.sftp.Rename(tmp, remotePath)
	}
	if err != nil {
		c.sftp.Remove(tmp)
		return res, c.remoteErr(ctx, "put: rename into place", err)
	}
	if err := c.verify(ctx, &res); err != nil {
		return res, err
	}
	return res, nil
}

// verify compares the remote file's size and, when readable, checksum.
func (c *Client) verify(ctx context.Context, res *Result) error {
	st, err := c.sftp.Stat(res.Path)
	if err != nil {
		return c.remoteErr(ctx, "verify: stat "+res.Path, err)
	}
	if st.Size() != res.Size {
		return &RemoteError{fmt.Errorf("verify %s: remote size %d, sent %d", res.Path, st.Size(), res.Size)}
	}
	res.Verified = "size"
	f, err := c.sftp.Open(res.Path)
	if err != nil {
		if isPermission(err) {
			return nil // an upload-only drop box: size is all it shows
		}
		return c.remoteErr(ctx, "verify: read back "+res.Path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := f.WriteTo(h); err != nil {
		if isPermission(err) {
			return nil
		}
		return c.remoteErr(ctx, "verify: read back "+res.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != res.SHA256 {
		return &RemoteError{fmt.Errorf("verify %s: remote sha256 %s differs from the one sent", res.Path, got)}
	}
	res.Verified = "size and sha256"
	return nil
}

func isPermission(err error) bool {
	var se *sftp.StatusError
	return errors.Is(err, os.ErrPermission) || errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxPermissionDenied
}

// Get streams remotePath to w and checks that the byte count matches the
// remote size. The result's SHA256 is of what was received.
func (c *Client) Get(ctx context.Context, remotePath string, w io.Writer) (Result, error) {
	res := Result{Path: remotePath}
	stop := context.AfterFunc(ctx, func() { c.ssh.Close() })
	defer stop()
	f, err := c.sftp.Open(remotePath)
	if err != nil {
		return res, c.remoteErr(ctx, "get "+remotePath, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, c.remoteErr(ctx, "get: stat "+remotePath, err)
	}
	h := sha256.New()
	n, err := f.WriteTo(io.MultiWriter(w, h))
	if err != nil {
		return res, c.remoteErr(ctx, "get "+remotePath, err)
	}
	res.Size, res.SHA256, res.Verified = n, hex.EncodeToString(h.Sum(nil)), "size"
	if n != st.Size() {
		return res, &RemoteError{fmt.Errorf("get %s: received %d bytes, remote size %d", remotePath, n, st.Size())}
	}
	return res, nil
}

func (c *Client) remoteErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &RemoteError{fmt.Errorf("%s: %w", what, err)}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadPrivateKey reads an OpenSSH private key, unlocking it with
// passphrase when it is encrypted.
func ReadPrivateKey(path string, passphrase []byte) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("read private key %s: it is passphrase protected: %w", path, err)
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(b, passphrase)
	}
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	return s, nil
}
