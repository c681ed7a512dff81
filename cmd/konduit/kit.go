package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/kit"
)

func init() { register(newKitCmd) }

type kitOptions struct {
	publicKey, receiver, aoc, out          string
	host, user, path, fingerprint, hostKey string
	port                                   int
}

func newKitCmd(g *globalOptions) *cobra.Command {
	var o kitOptions
	cmd := &cobra.Command{
		Use:   "kit --public-key KEY --host H --user U --host-key-fingerprint SHA256:... --aoc FILE -o kit.zip",
		Short: "Build the zip a merchant sends its processor to request the card data export",
		Long: `kit builds step 1 of the legacy import process as one zip to attach to the
processor's ticket: the receiver's OpenPGP public key and its fingerprint,
the SFTP drop box (host, port, user, directory, host key fingerprint), the
Attestation of Compliance you supply, and a letter saying what to send,
encrypted to which key, uploaded where. The drop box password is never in
the kit: send it by another channel.

The host key fingerprint comes from --host-key-fingerprint or from the
server's public host key file (--host-key-file, e.g. the .pub beside the key
konduit sftp serve created, or /etc/ssh/ssh_host_ed25519_key.pub).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKit(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.publicKey, "public-key", "", "receiver's OpenPGP public key file (required)")
	f.StringVar(&o.receiver, "receiver", "", "who receives the export, for the letter")
	f.StringVar(&o.aoc, "aoc", "", "Attestation of Compliance file (required)")
	f.StringVarP(&o.out, "output", "o", "", "zip file to write (required)")
	f.StringVar(&o.host, "host", "", "drop box host (required)")
	f.IntVar(&o.port, "port", 22, "drop box port")
	f.StringVar(&o.user, "user", "", "drop box user (required)")
	f.StringVar(&o.path, "path", "/", "drop box directory to upload into")
	f.StringVar(&o.fingerprint, "host-key-fingerprint", "", "drop box host key fingerprint, SHA256:...")
	f.StringVar(&o.hostKey, "host-key-file", "", "drop box public host key (OpenSSH .pub or private key) to take the fingerprint from")
	return cmd
}

func runKit(ctx context.Context, g *globalOptions, o kitOptions) error {
	if o.publicKey == "" || o.aoc == "" || o.out == "" || o.host == "" || o.user == "" {
		return usageErrorf("kit: --public-key, --aoc, -o, --host and --user are required")
	}
	fp := o.fingerprint
	if fp == "" && o.hostKey != "" {
		var err error
		if fp, err = hostKeyFingerprint(o.hostKey); err != nil {
			return err
		}
	}
	if fp == "" {
		return usageErrorf("kit: give --host-key-fingerprint or --host-key-file: the processor must be able to check the drop box")
	}
	pub, err := os.ReadFile(o.publicKey)
	if err != nil {
		return fmt.Errorf("kit: read public key: %w", err)
	}
	aoc, err := os.Open(o.aoc)
	if err != nil {
		return fmt.Errorf("kit: open attestation of compliance: %w", err)
	}
	defer aoc.Close()
	req := kit.Request{
		Receiver: o.receiver, PublicKey: pub, AOCName: filepath.Base(o.aoc), AOC: aoc, Date: time.Now().UTC(),
		DropBox: kit.DropBox{Host: o.host, Port: o.port, User: o.user, Path: o.path, HostKeyFingerprint: fp},
	}
	err = atomicfile.Write(ctx, o.out, atomicfile.Options{Perm: 0o644, Inputs: []string{o.publicKey, o.aoc}}, func(w io.Writer) error {
		return kit.Write(ctx, w, req)
	})
	if err != nil {
		return usageErrorf("%v", err)
	}
	fmt.Fprintf(g.stdout, "wrote %s: letter, public key, drop box %s@%s:%d%s (host key %s), attestation %s\nsend the drop box password separately\n",
		o.out, o.user, o.host, o.port, o.path, fp, filepath.Base(o.aoc))
	return nil
}

// hostKeyFingerprint reads an OpenSSH public key (or private key) file and
// returns its SHA256 fingerprint.
func hostKeyFingerprint(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read host key: %w", err)
	}
	if pk, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
		return ssh.FingerprintSHA256(pk), nil
	}
	if s, err := ssh.ParsePrivateKey(b); err == nil {
		return ssh.FingerprintSHA256(s.PublicKey()), nil
	}
	return "", usageErrorf("%s is not an OpenSSH host key", path)
}
