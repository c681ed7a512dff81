package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/pgp"
)

// envPGPPassphrase holds a private key's passphrase for non-interactive use.
const envPGPPassphrase = "KONDUIT_PGP_PASSPHRASE"

func init() { register(newPGPCmd) }

func newPGPCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pgp",
		Short: "Generate OpenPGP keys, encrypt and decrypt files (GnuPG 2.2 compatible)",
		Long: `pgp generates keys and encrypts and decrypts files the way partners running
GnuPG 2.2 expect: v4 keys (RSA-4096 or Curve25519), AES-256 with integrity
protection (SEIPD v1), armored or binary. Files stream; size does not matter.

A private key's passphrase comes from $` + envPGPPassphrase + ` or, when stdin is a
terminal, a prompt. It is never a flag.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPGPKeygenCmd(g), newPGPEncryptCmd(g), newPGPDecryptCmd(g), newPGPInspectCmd(g))
	return cmd
}

type pgpKeygenOptions struct {
	name, email, algo, out string
	binary, noPassphrase   bool
}

func newPGPKeygenCmd(g *globalOptions) *cobra.Command {
	var o pgpKeygenOptions
	cmd := &cobra.Command{
		Use:   "keygen --name NAME --email EMAIL -o PREFIX",
		Short: "Generate a key pair: PREFIX.pub.asc (share it) and PREFIX.sec.asc (0600)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPGPKeygen(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "user id name")
	f.StringVar(&o.email, "email", "", "user id email")
	f.StringVar(&o.algo, "algo", "rsa4096", "key algorithm: rsa4096 or curve25519")
	f.StringVarP(&o.out, "output", "o", "", "path prefix of the key files (required)")
	f.BoolVar(&o.binary, "binary", false, "write binary keys (.pub.gpg, .sec.gpg) instead of armored")
	f.BoolVar(&o.noPassphrase, "no-passphrase", false, "leave the private key unprotected (not recommended)")
	return cmd
}

func runPGPKeygen(ctx context.Context, g *globalOptions, o pgpKeygenOptions) error {
	if o.out == "" {
		return usageErrorf("pgp keygen: -o PREFIX is required")
	}
	if o.name == "" && o.email == "" {
		return usageErrorf("pgp keygen: --name or --email is required")
	}
	if err := pgp.CheckUserID(o.name, o.email); err != nil {
		return usageErrorf("pgp keygen: %v", err)
	}
	alg, err := pgp.ParseAlgorithm(o.algo)
	if err != nil {
		return usageErrorf("pgp keygen: %v", err)
	}
	var pass []byte
	if !o.noPassphrase {
		if pass, err = readSecret(g, envPGPPassphrase, "Passphrase for the new key: ", true); err != nil {
			return err
		}
	}
	key, err := pgp.Generate(pgp.GenerateOptions{Name: o.name, Email: o.email, Algorithm: alg, Passphrase: pass})
	if err != nil {
		return err
	}
	ext := ".asc"
	if o.binary {
		ext = ".gpg"
	}
	pubPath, secPath := o.out+".pub"+ext, o.out+".sec"+ext
	for _, p := range []string{pubPath, secPath} {
		if _, err := os.Stat(p); err == nil {
			return withHint(fmt.Errorf("pgp keygen: %s already exists", p), "choose another -o prefix; keygen never overwrites a key")
		}
	}
	if err := atomicfile.Write(ctx, secPath, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		return key.WritePrivate(w, !o.binary)
	}); err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if err := atomicfile.Write(ctx, pubPath, atomicfile.Options{Perm: 0o644}, func(w io.Writer) error {
		return key.WritePublic(w, !o.binary)
	}); err != nil {
		os.Remove(secPath)
		return fmt.Errorf("write public key: %w", err)
	}
	fmt.Fprintf(g.stdout, "public key:  %s\nprivate key: %s (mode 0600)\nfingerprint: %s\n", pubPath, secPath, pgp.FormatFingerprint(key.Fingerprint()))
	return nil
}

type pgpEncryptOptions struct {
	recipients []string
	out        string
	armor      bool
	noCompress bool
}

func newPGPEncryptCmd(g *globalOptions) *cobra.Command {
	var o pgpEncryptOptions
	cmd := &cobra.Command{
		Use:   "encrypt -r KEYFILE [-o OUT] [IN]",
		Short: "Encrypt a file (or stdin) to one or more public keys",
		Long: `encrypt streams IN (or stdin when IN is absent or "-") to OUT, encrypted to
every -r key. OUT defaults to IN.pgp (IN.asc with --armor); "-" is stdout.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := "-"
			if len(args) == 1 {
				in = args[0]
			}
			return runPGPEncrypt(cmd.Context(), g, o, in)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.recipients, "recipient", "r", nil, "recipient public key file (repeatable)")
	f.StringVarP(&o.out, "output", "o", "", "output file; - for stdout")
	f.BoolVarP(&o.armor, "armor", "a", false, "ASCII-armored output")
	f.BoolVar(&o.noCompress, "no-compress", false, "do not compress before encrypting")
	return cmd
}

func runPGPEncrypt(ctx context.Context, g *globalOptions, o pgpEncryptOptions, in string) error {
	if len(o.recipients) == 0 {
		return usageErrorf("pgp encrypt: at least one -r KEYFILE is required")
	}
	var keys []*pgp.Key
	for _, p := range o.recipients {
		k, err := readKeyFile(p)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	out := o.out
	if out == "" {
		if in == "-" {
			out = "-"
		} else if o.armor {
			out = in + ".asc"
		} else {
			out = in + ".pgp"
		}
	}
	opts := pgp.EncryptOptions{Armor: o.armor, NoCompress: o.noCompress}
	if in != "-" {
		opts.FileName = filepath.Base(in)
	}
	var n int64
	err := withInput(in, g, func(r io.Reader) error {
		return writeOutput(ctx, g, out, in, 0o644, func(w io.Writer) error {
			var err error
			n, err = pgp.Encrypt(ctx, w, r, keys, opts)
			return err
		})
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		fmt.Fprintf(g.stderr, "encrypted to %s\n", pgp.FormatFingerprint(k.Fingerprint()))
	}
	if out != "-" {
		fmt.Fprintf(g.stdout, "%s: %d bytes encrypted\n", out, n)
	}
	return nil
}

type pgpDecryptOptions struct {
	key, out string
	maxSize  int64
}

func newPGPDecryptCmd(g *globalOptions) *cobra.Command {
	var o pgpDecryptOptions
	cmd := &cobra.Command{
		Use:   "decrypt -k SECRETKEY [-o OUT] [IN]",
		Short: "Decrypt a file (or stdin); integrity protection is required",
		Long: `decrypt streams IN (or stdin) to OUT (default: IN without .pgp, .gpg or .asc;
"-" is stdout). Messages without integrity protection are refused. The
plaintext is capped (--max-size, default 64 times the input size and at
least 1 GiB) so a compression bomb fails fast. An armored file whose
armor headers pass 8 KiB is refused before it is parsed. A file output
appears only once the whole message has decrypted and its integrity check
passed; on stdout, discard the output when the exit status is not 0.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := "-"
			if len(args) == 1 {
				in = args[0]
			}
			return runPGPDecrypt(cmd.Context(), g, o, in)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.key, "key", "k", "", "private key file (required)")
	f.StringVarP(&o.out, "output", "o", "", "output file; - for stdout")
	f.Int64Var(&o.maxSize, "max-size", 0, "largest plaintext accepted, in bytes (0: automatic)")
	return cmd
}

func runPGPDecrypt(ctx context.Context, g *globalOptions, o pgpDecryptOptions, in string) error {
	if o.key == "" {
		return usageErrorf("pgp decrypt: -k SECRETKEY is required")
	}
	key, err := loadPrivateKey(g, o.key)
	if err != nil {
		return err
	}
	out := o.out
	if out == "" {
		out = "-"
		for _, ext := range []string{".pgp", ".gpg", ".asc"} {
			if in != "-" && strings.HasSuffix(in, ext) {
				out = strings.TrimSuffix(in, ext)
			}
		}
		if in != "-" && out == "-" {
			return usageErrorf("pgp decrypt: %s has no .pgp, .gpg or .asc extension; name the output with -o", in)
		}
	}
	limit := o.maxSize
	if limit <= 0 && in != "-" {
		if st, err := os.Stat(in); err == nil {
			limit = max(st.Size()*pgp.DefaultMaxRatio, pgp.DefaultMinCap)
		}
	}
	var res pgp.DecryptResult
	err = withInput(in, g, func(r io.Reader) error {
		return writeOutput(ctx, g, out, in, 0o600, func(w io.Writer) error {
			var err error
			res, err = pgp.Decrypt(ctx, w, r, key, pgp.DecryptOptions{MaxSize: limit})
			return err
		})
	})
	if err != nil {
		if errors.Is(err, pgp.ErrTooLarge) {
			return withHint(err, "if the file is genuinely this large, raise --max-size")
		}
		if errors.Is(err, pgp.ErrArmorHeader) {
			return withHint(err, "no OpenPGP tool writes such armor headers: ask the sender to encrypt the file again (gpg --encrypt, armored or not)")
		}
		return err
	}
	if out != "-" {
		fmt.Fprintf(g.stdout, "%s: %d bytes decrypted, integrity verified\n", out, res.Bytes)
	}
	return nil
}

func newPGPInspectCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect KEYFILE...",
		Short: "Show a key's fingerprints, algorithms, user ids and usage",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, p := range args {
				k, err := readKeyFile(p)
				if err != nil {
					return err
				}
				printKeyInfo(g.stdout, p, k)
			}
			return nil
		},
	}
}

func printKeyInfo(w io.Writer, path string, k *pgp.Key) {
	info := k.Info()
	kind := "public key"
	if info.Private {
		kind = "private key"
		if info.Locked {
			kind += " (passphrase protected)"
		} else {
			kind += " (NOT passphrase protected)"
		}
	}
	fmt.Fprintf(w, "%s: %s, OpenPGP v%d\n", path, kind, info.Version)
	for _, u := range info.UserIDs {
		fmt.Fprintf(w, "  uid          %s\n", u)
	}
	line := func(label string, s pgp.SubkeyInfo) {
		bits := ""
		if s.Bits > 0 && s.Algorithm == "rsa" {
			bits = fmt.Sprint(s.Bits)
		}
		fmt.Fprintf(w, "  %-12s %s%s %s [%s] created %s\n", label, s.Algorithm, bits, s.KeyID, s.Usage, s.Created.Format("2006-01-02"))
		fmt.Fprintf(w, "  %-12s %s\n", "", pgp.FormatFingerprint(s.Fingerprint))
	}
	line("primary", info.Primary)
	for _, s := range info.Subkeys {
		line("subkey", s)
	}
}

// readKeyFile reads one OpenPGP key from a file.
func readKeyFile(path string) (*pgp.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open key: %w", err)
	}
	defer f.Close()
	k, err := pgp.ReadKey(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// loadPrivateKey reads a private key and unlocks it with the passphrase
// from the environment or a prompt.
func loadPrivateKey(g *globalOptions, path string) (*pgp.Key, error) {
	k, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	if !k.IsPrivate() {
		return nil, usageErrorf("%s is a public key; decrypting needs the private key", path)
	}
	if !k.IsLocked() {
		return k, nil
	}
	pass, err := readSecret(g, envPGPPassphrase, "Passphrase for "+path+": ", false)
	if err != nil {
		return nil, err
	}
	u, err := k.Unlock(pass)
	if err != nil {
		return nil, withHint(err, "check $"+envPGPPassphrase)
	}
	return u, nil
}

// readSecret returns a secret from the environment variable env or, when
// stdin is a terminal, a prompt on stderr (asked twice when confirm).
func readSecret(g *globalOptions, env, prompt string, confirm bool) ([]byte, error) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		return []byte(v), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, withHint(fmt.Errorf("no passphrase: $%s is not set and stdin is not a terminal", env), "set $"+env+" or run in a terminal")
	}
	fmt.Fprint(g.stderr, prompt)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(g.stderr)
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	if confirm {
		fmt.Fprint(g.stderr, "Repeat: ")
		p2, err := term.ReadPassword(fd)
		fmt.Fprintln(g.stderr)
		if err != nil {
			return nil, fmt.Errorf("read passphrase: %w", err)
		}
		if string(p) != string(p2) {
			return nil, usageErrorf("the passphrases differ")
		}
	}
	if len(p) == 0 {
		return nil, usageErrorf("empty passphrase (use --no-passphrase to mean it)")
	}
	return p, nil
}

// withInput opens path ("-" is stdin) and passes it to fn.
func withInput(path string, g *globalOptions, fn func(io.Reader) error) error {
	if path == "-" {
		return fn(os.Stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	defer f.Close()
	return fn(f)
}

// writeOutput writes to path via atomicfile, or to stdout for "-".
func writeOutput(ctx context.Context, g *globalOptions, path, input string, perm os.FileMode, fill func(io.Writer) error) error {
	if path == "-" {
		return fill(g.stdout)
	}
	var inputs []string
	if input != "-" {
		inputs = []string{input}
	}
	return atomicfile.Write(ctx, path, atomicfile.Options{Perm: perm, Inputs: inputs}, fill)
}
