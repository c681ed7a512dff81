// Package shipment is the last step of the legacy import process as one
// streaming pipeline: tokenized import files are detokenized, validated,
// encrypted to the receiver's OpenPGP key and delivered (to a directory or
// an SFTP server), with a manifest the receiver can check.
//
// No plaintext card number is written to disk: the detokenized rows exist
// only in memory, a buffer at a time, between the vault and the encrypting
// writer. Validation reads the same detokenized stream (a second pass, so
// nothing is buffered) and stops the shipment before anything is sent when
// the file has errors. Each encrypted file appears under its final name
// only when complete (internal/atomicfile locally; temporary name and
// rename over SFTP); the manifest is written last.
package shipment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/pgp"
	"github.com/konduit/konduit/internal/vault"
)

// ManifestName is the manifest's file name beside the encrypted files.
const ManifestName = "manifest.json"

// Sink delivers one file: fill writes its content; the file must appear
// under name only when fill returned nil. It returns where it went and how
// the delivery was verified.
type Sink interface {
	Deliver(ctx context.Context, name string, fill func(io.Writer) error) (Delivery, error)
}

// Delivery says where a file went.
type Delivery struct {
	Location string `json:"location"`
	Verified string `json:"verified,omitempty"`
}

// Options describe a shipment.
type Options struct {
	Vault      *vault.Vault // opened with its key
	Recipients []*pgp.Key
	Armor      bool
	// SkipValidation sends without running the import rules.
	SkipValidation bool
	// Check tunes validation (IsToken is left unset on purpose: a token the
	// vault does not know must fail the Luhn rule, not travel).
	Check check.Options
	Now   time.Time
}

// Manifest lists what was shipped.
type Manifest struct {
	Version    int         `json:"konduit_manifest"`
	Created    string      `json:"created"`
	Recipients []Recipient `json:"recipients"`
	Validation *Validation `json:"validation"`
	Files      []File      `json:"files"`
}

// Recipient is a key the files are encrypted to.
type Recipient struct {
	Fingerprint string   `json:"fingerprint"`
	UserIDs     []string `json:"user_ids"`
}

// Validation summarizes the import rules' verdict.
type Validation struct {
	Ran      bool `json:"ran"`
	Errors   int  `json:"errors"`
	Warnings int  `json:"warnings"`
	// AsOf is the reference date the date rules used ("" when none).
	AsOf string `json:"as_of,omitempty"`
}

// File is one shipped file.
type File struct {
	Source          string   `json:"source"`
	Name            string   `json:"name"`
	Rows            int      `json:"rows"`
	NumbersRestored int      `json:"numbers_restored"`
	ValuesKept      int      `json:"values_kept"`
	PlaintextBytes  int64    `json:"plaintext_bytes"`
	PlaintextSHA256 string   `json:"plaintext_sha256"`
	EncryptedBytes  int64    `json:"encrypted_bytes"`
	EncryptedSHA256 string   `json:"encrypted_sha256"`
	Delivery        Delivery `json:"delivery"`
}

// ValidationError stops a shipment whose files break import rules.
type ValidationError struct{ Report *check.Report }

func (e *ValidationError) Error() string {
	return fmt.Sprintf("validation found %d errors; nothing was sent", e.Report.Errors())
}

// ExitCode is 1: the data has errors.
func (e *ValidationError) ExitCode() int { return exitcode.DataErrors }

// Run ships the tokenized files at paths to sink and returns the manifest
// (also delivered, as ManifestName, after the files).
func Run(ctx context.Context, paths []string, sink Sink, opts Options) (*Manifest, error) {
	if opts.Vault == nil || len(opts.Recipients) == 0 {
		return nil, errors.New("package: a vault and at least one recipient are required")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	m := &Manifest{Version: 1, Created: opts.Now.UTC().Format(time.RFC3339), Validation: &Validation{}}
	for _, k := range opts.Recipients {
		m.Recipients = append(m.Recipients, Recipient{Fingerprint: k.Fingerprint(), UserIDs: k.Info().UserIDs})
	}
	seen := map[string]bool{}
	for _, p := range paths {
		b := filepath.Base(p)
		if seen[b] {
			return nil, fmt.Errorf("package: two inputs are named %s", b)
		}
		seen[b] = true
	}
	if !opts.SkipValidation {
		rep, err := validate(ctx, paths, opts)
		if err != nil {
			return nil, err
		}
		m.Validation = &Validation{Ran: true, Errors: rep.Errors(), Warnings: rep.Warnings(), AsOf: opts.Check.AsOf}
		if rep.Errors() > 0 {
			return m, &ValidationError{Report: rep}
		}
	}
	ext := ".pgp"
	if opts.Armor {
		ext = ".asc"
	}
	for _, p := range paths {
		f, err := shipFile(ctx, p, filepath.Base(p)+ext, sink, opts)
		if err != nil {
			return m, err
		}
		m.Files = append(m.Files, f)
	}
	if _, err := sink.Deliver(ctx, ManifestName, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}); err != nil {
		return m, fmt.Errorf("package: deliver manifest: %w", err)
	}
	return m, nil
}

// validate runs the import rules on the detokenized stream of each file.
func validate(ctx context.Context, paths []string, opts Options) (*check.Report, error) {
	inputs := make([]legacy.Input, len(paths))
	for i, p := range paths {
		inputs[i] = legacy.Input{Name: filepath.Base(p), Open: func() (io.ReadCloser, error) {
			return detokenizedStream(ctx, p, opts.Vault)
		}}
	}
	co := opts.Check
	co.IsToken = nil
	rep, err := check.Validate(ctx, inputs, co)
	if err != nil {
		return nil, fmt.Errorf("package: validate: %w", err)
	}
	return rep, nil
}

// detokenizedStream returns the detokenized content of path through a pipe:
// in memory only, a buffer at a time.
func detokenizedStream(ctx context.Context, path string, v *vault.Vault) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		_, err := v.DetokenizeCSV(ctx, f, pw)
		pw.CloseWithError(err)
	}()
	return pr, nil
}

func shipFile(ctx context.Context, path, name string, sink Sink, opts Options) (File, error) {
	out := File{Source: filepath.Base(path), Name: name}
	in, err := os.Open(path)
	if err != nil {
		return out, fmt.Errorf("package: %w", err)
	}
	defer in.Close()
	d, err := sink.Deliver(ctx, name, func(w io.Writer) error {
		ch, cc := sha256.New(), &counter{}
		enc, err := pgp.NewEncryptingWriter(io.MultiWriter(w, ch, cc), opts.Recipients, pgp.EncryptOptions{Armor: opts.Armor, FileName: out.Source})
		if err != nil {
			return err
		}
		ph, pc := sha256.New(), &counter{}
		st, err := opts.Vault.DetokenizeCSV(ctx, in, io.MultiWriter(enc, ph, pc))
		if err != nil {
			return fmt.Errorf("detokenize %s: %w", out.Source, err)
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("encrypt %s: %w", out.Source, err)
		}
		out.Rows, out.NumbersRestored, out.ValuesKept = st.Rows, st.Replaced, st.Kept
		out.PlaintextBytes, out.PlaintextSHA256 = pc.n, hex.EncodeToString(ph.Sum(nil))
		out.EncryptedBytes, out.EncryptedSHA256 = cc.n, hex.EncodeToString(ch.Sum(nil))
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("package %s: %w", out.Source, err)
	}
	out.Delivery = d
	return out, nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
