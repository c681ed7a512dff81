package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/crypto/ssh"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/transfer"
)

// Secrets for SFTP logins come from the environment or 0600 files.
const (
	envSFTPPassword      = "KONDUIT_SFTP_PASSWORD"
	envSSHKeyPassphrase  = "KONDUIT_SSH_KEY_PASSPHRASE"
	defaultServeListen   = "127.0.0.1:2022"
	defaultKnownHostsRel = ".ssh/known_hosts"
)

func init() { register(newSFTPCmd) }

func newSFTPCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sftp",
		Short: "Upload and download over SFTP with host keys checked, or serve a drop box",
		Long: `sftp put and get move files over SFTP. The server's host key is always
checked: against known_hosts (default ~/.ssh/known_hosts) or a pinned
--host-key-fingerprint SHA256:...; there is no option to skip the check.
put uploads under a temporary name, renames when complete, then verifies the
size and, where the server allows reading it back, the SHA-256.

Log in with --identity KEYFILE (passphrase in $` + envSSHKeyPassphrase + `) or a
password from --password-file (mode 0600) or $` + envSFTPPassword + `.

sftp serve runs a drop box for processor exports.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSFTPPutCmd(g), newSFTPGetCmd(g), newSFTPServeCmd(g))
	return cmd
}

// sftpConnOptions are the flags that say where to connect and how.
type sftpConnOptions struct {
	host, user, knownHosts, fingerprint, identity, passwordFile string
	port                                                        int
}

func (o *sftpConnOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.host, "host", "", "SFTP server host (required)")
	f.IntVar(&o.port, "port", 22, "SFTP server port")
	f.StringVar(&o.user, "user", "", "login user (required)")
	f.StringVar(&o.knownHosts, "known-hosts", "", "known_hosts file (default ~/"+defaultKnownHostsRel+")")
	f.StringVar(&o.fingerprint, "host-key-fingerprint", "", "pin the server's host key: SHA256:... as ssh-keygen -lf prints it")
	f.StringVar(&o.identity, "identity", "", "private key file for public key login")
	f.StringVar(&o.passwordFile, "password-file", "", "file (mode 0600) holding the login password")
}

func (o *sftpConnOptions) config() (transfer.ClientConfig, error) {
	cfg := transfer.ClientConfig{Host: o.host, Port: o.port, User: o.user, Fingerprint: o.fingerprint, KnownHosts: o.knownHosts}
	if o.host == "" || o.user == "" {
		return cfg, usageErrorf("sftp: --host and --user are required")
	}
	if cfg.Fingerprint == "" && cfg.KnownHosts == "" {
		home, err := os.UserHomeDir()
		if err == nil {
			cfg.KnownHosts = filepath.Join(home, defaultKnownHostsRel)
		}
		if _, err := os.Stat(cfg.KnownHosts); err != nil {
			return cfg, withHint(errors.New("sftp: no host key to check against: no known_hosts file and no --host-key-fingerprint"),
				"ask the server's owner for its host key fingerprint and pass --host-key-fingerprint SHA256:...")
		}
	}
	if o.identity != "" {
		s, err := transfer.ReadPrivateKey(o.identity, []byte(os.Getenv(envSSHKeyPassphrase)))
		if err != nil {
			return cfg, withHint(err, "set $"+envSSHKeyPassphrase+" for a passphrase-protected key")
		}
		cfg.Signer = s
	}
	switch {
	case o.passwordFile != "":
		pw, err := transfer.ReadSecretFile(o.passwordFile)
		if err != nil {
			return cfg, err
		}
		cfg.Password = pw
	case os.Getenv(envSFTPPassword) != "":
		cfg.Password = []byte(os.Getenv(envSFTPPassword))
	}
	if cfg.Signer == nil && len(cfg.Password) == 0 {
		return cfg, usageErrorf("sftp: no login: give --identity, --password-file or $%s", envSFTPPassword)
	}
	return cfg, nil
}

type sftpPutOptions struct {
	conn      sftpConnOptions
	overwrite bool
}

func newSFTPPutCmd(g *globalOptions) *cobra.Command {
	var o sftpPutOptions
	cmd := &cobra.Command{
		Use:   "put --host H --user U LOCAL REMOTE",
		Short: "Upload a file: temporary name, rename when complete, verify",
		Long: `put uploads LOCAL to REMOTE (a path ending in / keeps LOCAL's name). It refuses
to replace an existing remote file unless --overwrite.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSFTPPut(cmd.Context(), g, o, args[0], args[1])
		},
	}
	o.conn.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.overwrite, "overwrite", false, "replace an existing remote file")
	return cmd
}

func runSFTPPut(ctx context.Context, g *globalOptions, o sftpPutOptions, local, remote string) error {
	cfg, err := o.conn.config()
	if err != nil {
		return err
	}
	if strings.HasSuffix(remote, "/") {
		remote = path.Join(remote, filepath.Base(local))
	}
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("sftp put: %w", err)
	}
	defer f.Close()
	c, err := transfer.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Put(ctx, remote, transfer.PutOptions{Overwrite: o.overwrite}, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		if err != nil {
			return fmt.Errorf("read %s: %w", local, err)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, transfer.ErrExists) {
			return withHint(err, "pass --overwrite to replace it")
		}
		return err
	}
	fmt.Fprintf(g.stdout, "uploaded %s to %s:%s\n  %d bytes, sha256 %s\n  verified: %s\n", local, cfg.Host, res.Path, res.Size, res.SHA256, res.Verified)
	return nil
}

type sftpGetOptions struct {
	conn   sftpConnOptions
	sha256 string
}

func newSFTPGetCmd(g *globalOptions) *cobra.Command {
	var o sftpGetOptions
	cmd := &cobra.Command{
		Use:   "get --host H --user U REMOTE LOCAL",
		Short: "Download a file; LOCAL appears only when complete (mode 0600)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSFTPGet(cmd.Context(), g, o, args[0], args[1])
		},
	}
	o.conn.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.sha256, "sha256", "", "expected SHA-256 (hex) of the file, e.g. from a manifest")
	return cmd
}

func runSFTPGet(ctx context.Context, g *globalOptions, o sftpGetOptions, remote, local string) error {
	cfg, err := o.conn.config()
	if err != nil {
		return err
	}
	want := strings.ToLower(strings.TrimSpace(o.sha256))
	if want != "" {
		if b, err := hex.DecodeString(want); err != nil || len(b) != 32 {
			return usageErrorf("sftp get: --sha256 wants 64 hex digits")
		}
	}
	if fi, err := os.Stat(local); err == nil && fi.IsDir() {
		local = filepath.Join(local, path.Base(remote))
	}
	c, err := transfer.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	var res transfer.Result
	err = atomicfile.Write(ctx, local, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		var err error
		if res, err = c.Get(ctx, remote, w); err != nil {
			return err
		}
		if want != "" && res.SHA256 != want {
			return &transfer.RemoteError{Err: fmt.Errorf("sftp get %s: sha256 %s, expected %s", remote, res.SHA256, want)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	verified := "size"
	if want != "" {
		verified = "size and sha256"
	}
	fmt.Fprintf(g.stdout, "downloaded %s:%s to %s\n  %d bytes, sha256 %s\n  verified: %s\n", cfg.Host, remote, local, res.Size, res.SHA256, verified)
	return nil
}

type sftpServeOptions struct {
	root, listen, user, authorizedKeys, passwordFile, hostKey string
	uploadOnly                                                bool
}

func newSFTPServeCmd(g *globalOptions) *cobra.Command {
	var o sftpServeOptions
	cmd := &cobra.Command{
		Use:   "serve --root DIR --user NAME --host-key FILE (--authorized-keys FILE | --password-file FILE)",
		Short: "Serve a drop box over SFTP (127.0.0.1 by default)",
		Long: `serve runs an SFTP drop box until interrupted. Clients see --root as "/" and
cannot leave it: "..", absolute paths and symbolic links pointing outside are
refused. Logins: the public keys in --authorized-keys (OpenSSH format) and/or
the password in --password-file (mode 0600) for --user. --host-key is an
OpenSSH private key, created (Ed25519) when the file does not exist; its
public key is written beside it (FILE.pub, 0644), and its known_hosts line
and fingerprint are printed for you to give to clients. --upload-only makes a
drop box: clients may list, create directories and upload new files, and
cannot read, rename, delete, overwrite, truncate, append to, link or change
the attributes of any file that was there before their session. Within a
session, a client may rename a file it uploaded, once, to a free name, and
delete it before that (what put does with its ".part" file); a rename never
replaces a file. Shells and commands are refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSFTPServe(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.root, "root", "", "directory clients see as / (required)")
	f.StringVar(&o.listen, "listen", defaultServeListen, "address to listen on")
	f.StringVar(&o.user, "user", "", "login user name (required)")
	f.StringVar(&o.authorizedKeys, "authorized-keys", "", "OpenSSH authorized_keys file")
	f.StringVar(&o.passwordFile, "password-file", "", "file (mode 0600) holding the login password")
	f.StringVar(&o.hostKey, "host-key", "", "host private key file, created when missing (required)")
	f.BoolVar(&o.uploadOnly, "upload-only", false, "clients may only list, make directories and upload new files")
	return cmd
}

func runSFTPServe(ctx context.Context, g *globalOptions, o sftpServeOptions) error {
	if o.root == "" || o.user == "" || o.hostKey == "" {
		return usageErrorf("sftp serve: --root, --user and --host-key are required")
	}
	if o.authorizedKeys == "" && o.passwordFile == "" {
		return usageErrorf("sftp serve: give --authorized-keys and/or --password-file")
	}
	cfg := transfer.ServerConfig{Root: o.root, User: o.user, UploadOnly: o.uploadOnly}
	var err error
	if o.authorizedKeys != "" {
		if cfg.AuthorizedKeys, err = transfer.ReadAuthorizedKeys(o.authorizedKeys); err != nil {
			return err
		}
	}
	if o.passwordFile != "" {
		if cfg.Password, err = transfer.ReadSecretFile(o.passwordFile); err != nil {
			return err
		}
	}
	hk, created, err := transfer.LoadOrCreateHostKey(ctx, o.hostKey)
	if err != nil {
		return err
	}
	cfg.HostKey = hk
	srv, err := transfer.NewServer(cfg)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		return fmt.Errorf("sftp serve: listen: %w", err)
	}
	if created {
		fmt.Fprintf(g.stdout, "created host key %s\n", o.hostKey)
	}
	mode := "read-write"
	if o.uploadOnly {
		mode = "upload-only"
	}
	fmt.Fprintf(g.stdout, "serving %s (%s) on %s for user %s\n", o.root, mode, ln.Addr(), o.user)
	fmt.Fprintf(g.stdout, "host public key %s\nknown_hosts line (for clients that reach this address): %s\n", transfer.HostPublicKeyPath(o.hostKey), transfer.KnownHostsLine(ln.Addr().String(), hk.PublicKey()))
	fmt.Fprintf(g.stdout, "host key fingerprint %s\n", ssh.FingerprintSHA256(hk.PublicKey()))
	return srv.Serve(ctx, ln)
}
