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
	columns                []string
	generateKey            bool
}

func vaultFlags(cmd *cobra.Command, o *tokenizeOptions) {
	f := cmd.Flags()
	f.StringVar(&o.vault, "vault", "", "vault file (required)")
	f.StringVar(&o.keyFile, "vault-key-file", "", "file holding the vault key (mode 0600); default $"+envVaultKey)
	f.StringVarP(&o.outDir, "output", "o", "", "output directory (required)")
	f.StringSliceVar(&o.columns, "columns", nil, "more columns whose every value is a card number, tokenized whole like cardNumber (comma-separated header names)")
}

func newTokenizeCmd(g *globalOptions) *cobra.Command {
	var o tokenizeOptions
	cmd := &cobra.Command{
		Use:   "tokenize --vault PATH -o DIR IN...",
		Short: "Replace card and bank account numbers with tokens kept in a vault",
		Long: `tokenize copies each CSV file IN (a processor's export, an import file, any
columns) to DIR (mode 0600), replacing card and bank account numbers with
tokens: digits, same length, same last four, never Luhn-valid.

Every cell is scanned: each Luhn-valid run of 13 to 19 digits (whole digit
groups joined by single spaces or dashes, so "4111 1111 ..." in a note too)
is replaced digit for digit, whatever its column is called. The values of
cardNumber, achAccountNumber and the --columns are numbers: each is
tokenized whole, Luhn-valid or not, and must be digits only. A value that
cannot be tokenized stops the run: nothing is written, and the rows and
columns are listed (last four digits only). The numbers go, encrypted, into
the vault; the same number gets the same token on every run. Masked values
and existing tokens are kept.

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
with the numbers they stand for: in cardNumber, achAccountNumber and the
--columns (give the ones tokenize was given), and wherever else tokenize put
them. It needs the vault key ($` + envVaultKey + ` or --vault-key-file). The output holds
full card numbers: prefer konduit package, which never writes them to disk.`,
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
				opts := vault.CSVOptions{Columns: o.columns}
				if reverse {
					st, err = v.RestoreCSV(ctx, r, w, opts)
					return err
				}
				if st, err = v.TokenizeCSVWith(ctx, r, w, opts); err != nil {
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
		printColumnStats(g.stdout, st, reverse)
	}
	return nil
}

// printColumnStats says where numbers were found, and which columns look
// like card columns holding values that fail the Luhn check.
func printColumnStats(w io.Writer, st vault.Stats, reverse bool) {
	verb := "tokenized"
	if reverse {
		verb = "restored"
	}
	if st.Replaced == 0 && !reverse {
		fmt.Fprintln(w, "  no card or account number found")
	}
	for _, c := range st.Columns {
		how := "found by value"
		if c.Named {
			how = "named"
		}
		fmt.Fprintf(w, "  column %s (%s): %d numbers %s\n", c.Name, how, c.Replaced, verb)
		switch {
		case reverse || c.NotLuhn == 0 || c.Replaced == 0:
		case c.NotLuhn >= 4*c.Replaced:
			// About one random number in ten passes the Luhn check.
			fmt.Fprintf(w, "    and %d values of 13 to 19 digits failing the Luhn check kept as they are: ids rather than card numbers? those that pass by chance got tokens too (same length and last four; detokenize restores them)\n", c.NotLuhn)
		default:
			fmt.Fprintf(w, "    and %d values of 13 to 19 digits failing the Luhn check kept as they are: name the column with --columns %s if it holds card numbers\n", c.NotLuhn, c.Name)
		}
	}
}
