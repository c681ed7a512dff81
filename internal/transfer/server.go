package transfer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/konduit/konduit/internal/atomicfile"
)

// ServerConfig describes a drop box.
type ServerConfig struct {
	// Root is the directory clients see as "/". They cannot leave it: paths
	// are cleaned against "/" and resolved through os.Root, which refuses
	// "..", absolute paths and symbolic links that point outside.
	Root string
	// HostKey identifies the server to clients.
	HostKey ssh.Signer
	// User is the one account name accepted.
	User string
	// AuthorizedKeys, when not empty, are the public keys that may log in.
	AuthorizedKeys []ssh.PublicKey
	// Password, when not empty, is accepted for User.
	Password []byte
	// UploadOnly makes a drop box: clients may list, create directories
	// and upload new files, and nothing else that reads or changes a file
	// that was there before: no read, remove, rename, attribute change,
	// overwrite, truncation, append or link. A session may rename a file
	// it created itself, once, to a name that does not exist, and remove
	// it before that: put's ".part" file, renamed into place when
	// complete, removed when the upload fails. Renamed, it is delivered
	// and fixed like the rest.
	UploadOnly bool
	// Logger gets one line per session and per refused request.
	Logger *slog.Logger
}

// Server is a running drop box.
type Server struct {
	cfg  ServerConfig
	ssh  *ssh.ServerConfig
	root *os.Root
	wg   sync.WaitGroup
}

// NewServer checks cfg and opens the root directory.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("sftp server: a host key is required")
	}
	if cfg.User == "" {
		return nil, errors.New("sftp server: a user name is required")
	}
	if len(cfg.AuthorizedKeys) == 0 && len(cfg.Password) == 0 {
		return nil, errors.New("sftp server: authorized keys or a password file are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	root, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("sftp server: open root: %w", err)
	}
	s := &Server{cfg: cfg, root: root}
	sc := &ssh.ServerConfig{MaxAuthTries: 3}
	if len(cfg.AuthorizedKeys) > 0 {
		sc.PublicKeyCallback = func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() != cfg.User {
				return nil, errors.New("unknown user")
			}
			for _, k := range cfg.AuthorizedKeys {
				if subtle.ConstantTimeCompare(k.Marshal(), key.Marshal()) == 1 {
					return &ssh.Permissions{Extensions: map[string]string{"key": ssh.FingerprintSHA256(key)}}, nil
				}
			}
			return nil, errors.New("key not authorized")
		}
	}
	if len(cfg.Password) > 0 {
		sc.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			ok := subtle.ConstantTimeCompare(pw, cfg.Password) == 1
			if c.User() != cfg.User || !ok {
				time.Sleep(500 * time.Millisecond) // slow down guessing
				return nil, errors.New("wrong password")
			}
			return &ssh.Permissions{}, nil
		}
	}
	sc.AddHostKey(cfg.HostKey)
	s.ssh = sc
	return s, nil
}

// Serve accepts connections on ln until ctx ends, then closes ln and waits
// for the sessions to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer s.root.Close()
	defer s.wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sftp server: accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleConn(ctx, conn)
		}()
	}
}

func (s *Server) handleConn(ctx context.Context, nc net.Conn) {
	log := s.cfg.Logger.With("remote", nc.RemoteAddr().String())
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	conn, chans, reqs, err := ssh.NewServerConn(nc, s.ssh)
	if err != nil {
		log.Info("sftp login refused", "err", err)
		nc.Close()
		return
	}
	nc.SetDeadline(time.Time{})
	log = log.With("user", conn.User())
	log.Info("sftp session opened")
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only sessions are served")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			sftpOK := false
			for req := range creqs {
				ok := !sftpOK && req.Type == "subsystem" && len(req.Payload) >= 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if ok {
					sftpOK = true
					go func() {
						h := &handlers{root: s.root, uploadOnly: s.cfg.UploadOnly, log: log, created: map[string]os.FileInfo{}}
						srv := sftp.NewRequestServer(ch, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
						if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
							log.Info("sftp session ended", "err", err)
						}
						srv.Close()
						ch.Close()
					}()
				} else if req.Type == "exec" || req.Type == "shell" {
					log.Info("sftp refused a shell or command")
				}
			}
		}()
	}
	log.Info("sftp session closed")
}

// handlers serve one session's SFTP requests from an os.Root.
type handlers struct {
	root       *os.Root
	uploadOnly bool
	log        *slog.Logger

	mu sync.Mutex
	// created holds, in an upload-only box, the files this session
	// created and has not renamed yet (by path inside the root), with
	// their identity: the only files it may rename, remove or set
	// attributes on.
	created map[string]os.FileInfo
}

// owns reports whether p (inside the root) is still the regular file this
// session created there.
func (h *handlers) owns(p string) bool {
	h.mu.Lock()
	info, ok := h.created[p]
	h.mu.Unlock()
	if !ok {
		return false
	}
	st, err := h.root.Lstat(p)
	return err == nil && st.Mode().IsRegular() && os.SameFile(info, st)
}

// rel maps a request path (cleaned, absolute, "/" is the root) to a path
// inside the root. os.Root then refuses anything that would escape.
func rel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

func (h *handlers) deny(r *sftp.Request) error {
	h.log.Info("sftp request refused", "method", r.Method, "path", r.Filepath)
	return sftp.ErrSSHFxPermissionDenied
}

// fsErr turns an os error into an SFTP status without leaking host paths.
func fsErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return sftp.ErrSSHFxNoSuchFile
	case errors.Is(err, fs.ErrPermission):
		return sftp.ErrSSHFxPermissionDenied
	case strings.Contains(err.Error(), "escapes") || strings.Contains(err.Error(), "path escapes"):
		return sftp.ErrSSHFxPermissionDenied
	}
	return sftp.ErrSSHFxFailure
}

func (h *handlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	if h.uploadOnly {
		return nil, h.deny(r)
	}
	f, err := h.root.Open(rel(r.Filepath))
	if err != nil {
		return nil, fsErr(err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, sftp.ErrSSHFxFailure
	}
	return f, nil
}

func (h *handlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	fl := r.Pflags()
	mode := os.O_WRONLY
	if fl.Creat {
		mode |= os.O_CREATE
	}
	if fl.Trunc {
		mode |= os.O_TRUNC
	}
	if fl.Excl || h.uploadOnly {
		// A drop box never replaces what was dropped.
		mode |= os.O_EXCL | os.O_CREATE
		mode &^= os.O_TRUNC
	}
	if fl.Append {
		mode |= os.O_APPEND
	}
	p := rel(r.Filepath)
	f, err := h.root.OpenFile(p, mode, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, h.deny(r)
		}
		return nil, fsErr(err)
	}
	if h.uploadOnly {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fsErr(err)
		}
		h.mu.Lock()
		h.created[p] = st
		h.mu.Unlock()
	}
	return f, nil
}

func (h *handlers) Filecmd(r *sftp.Request) error {
	switch r.Method {
	case "Setstat":
		// Attributes are never applied (files keep mode 0600); an
		// upload-only box says no outright unless the file is the
		// session's own upload.
		if h.uploadOnly && !h.owns(rel(r.Filepath)) {
			return h.deny(r)
		}
		return nil
	case "Mkdir":
		return fsErr(h.root.Mkdir(rel(r.Filepath), 0o700))
	case "Rename":
		if h.uploadOnly {
			return h.renameOwn(r)
		}
		// SFTP v3 rename never replaces an existing file.
		if _, err := h.root.Lstat(rel(r.Target)); err == nil {
			return sftp.ErrSSHFxFailure
		}
		return fsErr(h.root.Rename(rel(r.Filepath), rel(r.Target)))
	case "Remove":
		if h.uploadOnly {
			p := rel(r.Filepath)
			if !h.owns(p) {
				return h.deny(r)
			}
			h.mu.Lock()
			delete(h.created, p)
			h.mu.Unlock()
		}
		return fsErr(h.root.Remove(rel(r.Filepath)))
	case "Rmdir":
		if h.uploadOnly {
			return h.deny(r)
		}
		return fsErr(h.root.Remove(rel(r.Filepath)))
	case "Symlink", "Link":
		return h.deny(r)
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename replaces the target; an upload-only box never does.
func (h *handlers) PosixRename(r *sftp.Request) error {
	if h.uploadOnly {
		return h.renameOwn(r)
	}
	return fsErr(h.root.Rename(rel(r.Filepath), rel(r.Target)))
}

// renameOwn is rename in an upload-only box: the source must be a file
// this session uploaded, and the target must not exist. The new name is
// made with link(2), which fails rather than replace anything (a check
// then a rename would race with another session), and the old one removed.
func (h *handlers) renameOwn(r *sftp.Request) error {
	from, to := rel(r.Filepath), rel(r.Target)
	if !h.owns(from) {
		return h.deny(r)
	}
	err := h.root.Link(from, to)
	switch {
	case errors.Is(err, fs.ErrExist):
		return h.deny(r)
	case err != nil:
		// A file system without hard links: check, then rename.
		if _, lerr := h.root.Lstat(to); lerr == nil || !errors.Is(lerr, fs.ErrNotExist) {
			return h.deny(r)
		}
		if err := h.root.Rename(from, to); err != nil {
			return fsErr(err)
		}
	default:
		if err := h.root.Remove(from); err != nil {
			h.log.Info("sftp rename left the old name", "path", r.Filepath, "err", err)
		}
	}
	// Renamed into place, the upload is delivered: from now on it is as
	// fixed as any file that was there before.
	h.mu.Lock()
	delete(h.created, from)
	h.mu.Unlock()
	return nil
}

func (h *handlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "List":
		d, err := h.root.Open(rel(r.Filepath))
		if err != nil {
			return nil, fsErr(err)
		}
		defer d.Close()
		infos, err := d.Readdir(-1)
		if err != nil {
			return nil, fsErr(err)
		}
		return lister(infos), nil
	case "Stat":
		st, err := h.root.Stat(rel(r.Filepath))
		if err != nil {
			return nil, fsErr(err)
		}
		return lister{st}, nil
	case "Readlink":
		return nil, h.deny(r)
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

func (h *handlers) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	st, err := h.root.Lstat(rel(r.Filepath))
	if err != nil {
		return nil, fsErr(err)
	}
	return lister{st}, nil
}

type lister []os.FileInfo

func (l lister) ListAt(dst []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// LoadOrCreateHostKey reads an OpenSSH private key from path, or creates
// an Ed25519 key there (mode 0600) when the file does not exist. Either way
// it writes the public key beside it, path+".pub" (mode 0644, OpenSSH's
// "type base64 comment" form, as ssh-keygen writes it: a host name in front
// makes it a known_hosts line), when that file is missing or holds another
// key.
func LoadOrCreateHostKey(ctx context.Context, path string) (ssh.Signer, bool, error) {
	s, created, err := loadOrCreateHostKey(ctx, path)
	if err != nil {
		return nil, false, err
	}
	pub := ssh.MarshalAuthorizedKey(s.PublicKey())
	pub = append(bytes.TrimSuffix(pub, []byte("\n")), " konduit sftp serve\n"...)
	if old, err := os.ReadFile(HostPublicKeyPath(path)); err == nil {
		if k, _, _, _, err := ssh.ParseAuthorizedKey(old); err == nil && bytes.Equal(k.Marshal(), s.PublicKey().Marshal()) {
			return s, created, nil
		}
	}
	if err := atomicfile.Write(ctx, HostPublicKeyPath(path), atomicfile.Options{Perm: 0o644}, func(w io.Writer) error {
		_, err := w.Write(pub)
		return err
	}); err != nil {
		return nil, false, fmt.Errorf("write host public key: %w", err)
	}
	return s, created, nil
}

// HostPublicKeyPath is where LoadOrCreateHostKey writes the public key of
// the host key at path.
func HostPublicKeyPath(path string) string { return path + ".pub" }

// KnownHostsLine is the known_hosts line a client needs to trust key at
// addr ("127.0.0.1:2222" reads "[127.0.0.1]:2222"; port 22 is left out).
func KnownHostsLine(addr string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key)
}

func loadOrCreateHostKey(ctx context.Context, path string) (ssh.Signer, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("read host key %s: %w", path, err)
		}
		return s, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "konduit sftp serve")
	if err != nil {
		return nil, false, fmt.Errorf("encode host key: %w", err)
	}
	if err := atomicfile.Write(ctx, path, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		return pem.Encode(w, block)
	}); err != nil {
		return nil, false, fmt.Errorf("write host key: %w", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	return s, true, err
}

// ReadAuthorizedKeys parses an OpenSSH authorized_keys file.
func ReadAuthorizedKeys(path string) ([]ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read authorized keys: %w", err)
	}
	keys, err := parseAuthorizedKeys(b)
	if err != nil {
		return nil, fmt.Errorf("authorized keys %s: %w", path, err)
	}
	return keys, nil
}

// parseAuthorizedKeys parses OpenSSH authorized_keys content; blank lines
// and comments are skipped, options are accepted and ignored.
func parseAuthorizedKeys(b []byte) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for i, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no key")
	}
	return keys, nil
}

// ReadSecretFile reads a password from a file only its owner can read; one
// trailing newline is dropped.
func ReadSecretFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("read password file: %s has mode %o; it must not be readable by group or others (chmod 600)", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("read password file: %s is empty", path)
	}
	return b, nil
}
