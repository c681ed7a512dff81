package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/vault"
)

// envVaultKey holds the vault key (64 hex digits) when no key file is named.
const envVaultKey = "KONDUIT_VAULT_KEY"

func init() {
	register(newTokenizeCmd)
	register(newDetokenizeCmd)
}

type tokenizeOptions struct {
	vault, keyFile, outDir string
	generateKey            bool
}

func vaultFlags(cmd *cobra.Command, o *tokenizeOptions) {
	f := cmd.Flags()
	f.StringVar(&o.vault, "vault", "", "vault file (required)")
	f.StringVar(&o.keyFile, "vault-key-file", "", "file holding the vault key (mode 0600); default $"+envVaultKey)
	f.StringVarP(&o.outDir, "output", "o", "", "output directory (required)")
}

func newTokenizeCmd(g *globalOptions) *cobra.Command {
	var o tokenizeOptions
	cmd := &cobra.Command{
		Use:   "tokenize --vault PATH -o DIR IN...",
		Short: "Replace card and bank account numbers with tokens kept in a vault",
		Long: `tokenize copies each transactions file IN to DIR, replacing every cardNumber
and achAccountNumber with a token: digits, same length, same last four, never
Luhn-valid. The numbers go, encrypted, into the vault; the same number gets
the same token on every run. Masked values and existing tokens are kept.

The vault key is 64 hex digits from $` + envVaultKey + ` or --vault-key-file (mode
0600). Create one with: konduit tokenize --generate-key --vault-key-file FILE`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.generateKey {
				return runGenerateVaultKey(cmd.Context(), g, o, args)
			}
			return runTokenize(cmd.Context(), g, o, args, false)
		},
	}
	vaultFlags(cmd, &o)
	cmd.Flags().BoolVar(&o.generateKey, "generate-key", false, "write a new random vault key to --vault-key-file and exit")
	return cmd
}

func newDetokenizeCmd(g *globalOptions) *cobra.Command {
	var o tokenizeOptions
	cmd := &cobra.Command{
		Use:   "detokenize --vault PATH -o DIR IN...",
		Short: "Put the card and bank account numbers back in place of a vault's tokens",
		Long: `detokenize copies each file IN to DIR (mode 0600), replacing the vault's tokens
in cardNumber and achAccountNumber with the numbers they stand for. It needs
the vault key ($` + envVaultKey + ` or --vault-key-file). The output holds full card
numbers: prefer konduit package, which never writes them to disk.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenize(cmd.Context(), g, o, args, true)
		},
	}
	vaultFlags(cmd, &o)
	return cmd
}

func runGenerateVaultKey(ctx context.Context, g *globalOptions, o tokenizeOptions, args []string) error {
	if o.keyFile == "" || len(args) > 0 {
		return usageErrorf("tokenize --generate-key needs --vault-key-file FILE and no input files")
	}
	if _, err := os.Stat(o.keyFile); err == nil {
		return withHint(fmt.Errorf("generate vault key: %s already exists", o.keyFile), "a vault key is never overwritten: its vault would become unreadable")
	}
	k, err := vault.NewKey()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(ctx, o.keyFile, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		_, err := io.WriteString(w, k.String()+"\n")
		return err
	}); err != nil {
		return fmt.Errorf("write vault key: %w", err)
	}
	fmt.Fprintf(g.stdout, "vault key written to %s (mode 0600); keep it apart from the vault and back it up: without it no token can be reversed\n", o.keyFile)
	return nil
}

// loadVaultKey reads the key from the key file or the environment.
func loadVaultKey(keyFile string) (*vault.Key, error) {
	if keyFile != "" {
		k, err := vault.ReadKeyFile(keyFile)
		if err != nil {
			return nil, withHint(err, "create a key with: konduit tokenize --generate-key --vault-key-file FILE")
		}
		return &k, nil
	}
	s := os.Getenv(envVaultKey)
	if s == "" {
		return nil, withHint(errors.New("no vault key: set $"+envVaultKey+" or --vault-key-file"),
			"create a key with: konduit tokenize --generate-key --vault-key-file FILE")
	}
	k, err := vault.ParseKey(s)
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", envVaultKey, err)
	}
	return &k, nil
}

func runTokenize(ctx context.Context, g *globalOptions, o tokenizeOptions, inputs []string, reverse bool) error {
	name := "tokenize"
	if reverse {
		name = "detokenize"
	}
	switch {
	case o.vault == "":
		return usageErrorf("%s: --vault PATH is required", name)
	case o.outDir == "":
		return usageErrorf("%s: -o DIR is required", name)
	case len(inputs) == 0:
		return usageErrorf("%s: name at least one input file", name)
	}
	key, err := loadVaultKey(o.keyFile)
	if err != nil {
		return err
	}
	v, err := vault.OpenContext(ctx, o.vault, vault.Options{Key: key, Write: !reverse})
	if err != nil {
		if errors.Is(err, vault.ErrWrongKey) {
			return withHint(err, "use the key this vault was created with")
		}
		return err
	}
	defer v.Close()
	if err := os.MkdirAll(o.outDir, 0o700); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	protected := append([]string{o.vault}, inputs...)
	for _, in := range inputs {
		out := filepath.Join(o.outDir, filepath.Base(in))
		var st vault.Stats
		err := withInput(in, g, func(r io.Reader) error {
			return atomicfile.Write(ctx, out, atomicfile.Options{Perm: 0o600, Inputs: protected}, func(w io.Writer) error {
				var err error
				if reverse {
					st, err = v.DetokenizeCSV(ctx, r, w)
					return err
				}
				if st, err = v.TokenizeCSV(ctx, r, w); err != nil {
					return err
				}
				// The vault is saved before the output that uses its new
				// tokens is renamed into place.
				return v.Save(ctx)
			})
		})
		if err != nil {
			return fmt.Errorf("%s %s: %w", name, in, err)
		}
		if reverse {
			fmt.Fprintf(g.stdout, "%s: %d rows, %d numbers restored, %d values kept\n", out, st.Rows, st.Replaced, st.Kept)
		} else {
			fmt.Fprintf(g.stdout, "%s: %d rows, %d numbers tokenized (%d new tokens), %d values kept\n", out, st.Rows, st.Replaced, st.New, st.Kept)
		}
	}
	return nil
}
