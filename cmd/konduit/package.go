package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/pgp"
	"github.com/konduit/konduit/internal/shipment"
	"github.com/konduit/konduit/internal/transfer"
	"github.com/konduit/konduit/internal/vault"
)

func init() { register(newPackageCmd) }

type packageOptions struct {
	vault, keyFile string
	recipients     []string
	armor          bool
	outDir         string
	remoteDir      string
	overwrite      bool
	noValidate     bool
	asOf           string
	timezone       string
	conn           sftpConnOptions
}

func newPackageCmd(g *globalOptions) *cobra.Command {
	var o packageOptions
	cmd := &cobra.Command{
		Use:   "package --vault PATH -r KEY (-o DIR | --host H --user U --remote-dir DIR) IN...",
		Short: "Detokenize, validate, encrypt and deliver import files, with a manifest",
		Long: `package is the last step as one streaming pipeline: each tokenized file IN is
detokenized with the vault, validated against the import rules, encrypted to
every -r key and delivered, to a directory (-o) or over SFTP (--host ...
--remote-dir). No plaintext card number is written to disk: rows go from the
vault to the encryption in memory. If validation finds errors nothing is
sent. manifest.json (row counts, SHA-256 of the plaintext and of the
encrypted file, recipient fingerprints) is delivered last.

The vault key comes from $` + envVaultKey + ` or --vault-key-file. The SFTP
flags are those of konduit sftp put.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPackage(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.vault, "vault", "", "vault file (required)")
	f.StringVar(&o.keyFile, "vault-key-file", "", "file holding the vault key (mode 0600); default $"+envVaultKey)
	f.StringArrayVarP(&o.recipients, "recipient", "r", nil, "recipient OpenPGP public key file (repeatable, required)")
	f.BoolVarP(&o.armor, "armor", "a", false, "ASCII-armored output (.asc)")
	f.StringVarP(&o.outDir, "output", "o", "", "deliver into this local directory")
	f.StringVar(&o.remoteDir, "remote-dir", "", "deliver into this directory on the SFTP server")
	f.BoolVar(&o.overwrite, "overwrite", false, "replace existing remote files")
	f.BoolVar(&o.noValidate, "no-validate", false, "skip the import rules (not recommended)")
	f.StringVar(&o.asOf, "as-of", "", "reference date YYYY-MM-DD for the date rules (default: today in --timezone)")
	f.StringVar(&o.timezone, "timezone", "", "the account's time zone (IANA name) that decides today for the date rules (default UTC)")
	o.conn.addFlags(f)
	return cmd
}

func runPackage(ctx context.Context, g *globalOptions, o packageOptions, inputs []string) error {
	switch {
	case len(inputs) == 0:
		return usageErrorf("package: name at least one tokenized input file")
	case o.vault == "":
		return usageErrorf("package: --vault PATH is required")
	case len(o.recipients) == 0:
		return usageErrorf("package: at least one -r KEYFILE is required")
	case (o.outDir == "") == (o.remoteDir == ""):
		return usageErrorf("package: give exactly one of -o DIR and --remote-dir DIR")
	}
	asOf, asOfWhy, err := packageAsOf(o, time.Now())
	if err != nil {
		return err
	}
	var keys []*pgp.Key
	for _, p := range o.recipients {
		k, err := readKeyFile(p)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	vk, err := loadVaultKey(o.keyFile)
	if err != nil {
		return err
	}
	v, err := vault.OpenContext(ctx, o.vault, vault.Options{Key: vk})
	if err != nil {
		if errors.Is(err, vault.ErrWrongKey) {
			return withHint(err, "use the key this vault was created with")
		}
		return err
	}
	defer v.Close()

	var sink shipment.Sink
	if o.outDir != "" {
		if err := os.MkdirAll(o.outDir, 0o700); err != nil {
			return fmt.Errorf("package: create output directory: %w", err)
		}
		sink = shipment.DirSink{Dir: o.outDir, Protect: append([]string{o.vault}, inputs...)}
	} else {
		cfg, err := o.conn.config()
		if err != nil {
			return err
		}
		c, err := transfer.Dial(ctx, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		sink = shipment.SFTPSink{Client: c, Host: cfg.Host, Port: cfg.Port, Dir: o.remoteDir, Overwrite: o.overwrite}
	}
	m, err := shipment.Run(ctx, inputs, sink, shipment.Options{
		Vault: v, Recipients: keys, Armor: o.armor, SkipValidation: o.noValidate,
		Check: check.Options{AsOf: asOf, MaxFindings: 20},
	})
	var ve *shipment.ValidationError
	if errors.As(err, &ve) {
		check.WriteText(g.stderr, ve.Report, false)
		return &dataError{msg: ve.Error()}
	}
	if err != nil {
		return err
	}
	if m.Validation.Ran {
		fmt.Fprintf(g.stdout, "validated: 0 errors, %d warnings; date rules as of %s (%s)\n", m.Validation.Warnings, asOf, asOfWhy)
	} else {
		fmt.Fprintln(g.stdout, "validation skipped (--no-validate)")
	}
	for _, f := range m.Files {
		fmt.Fprintf(g.stdout, "%s -> %s\n  %d rows, %d numbers restored in memory, %d bytes encrypted, sha256 %s, verified: %s\n",
			f.Source, f.Delivery.Location, f.Rows, f.NumbersRestored, f.EncryptedBytes, f.EncryptedSHA256, f.Delivery.Verified)
	}
	for _, r := range m.Recipients {
		fmt.Fprintf(g.stdout, "encrypted to %s\n", pgp.FormatFingerprint(r.Fingerprint))
	}
	fmt.Fprintf(g.stdout, "manifest: %s\n", shipment.ManifestName)
	return nil
}

// packageAsOf is the reference date of the date rules and where it comes
// from: --as-of, else today in --timezone (the account's zone), else today
// in UTC.
func packageAsOf(o packageOptions, now time.Time) (asOf, why string, err error) {
	if o.asOf != "" {
		if _, err := time.Parse("2006-01-02", o.asOf); err != nil {
			return "", "", usageErrorf("package: --as-of %q is not a date YYYY-MM-DD", o.asOf)
		}
		return o.asOf, "--as-of", nil
	}
	loc := time.UTC
	if o.timezone != "" {
		if loc, err = loadZone(o.timezone); err != nil {
			return "", "", err
		}
	}
	return now.In(loc).Format("2006-01-02"), "today in " + loc.String() + "; set --as-of or --timezone to change it", nil
}
