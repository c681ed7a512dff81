// Package kit builds the bundle for step 1 of the legacy import process:
// what a merchant sends its payment processor to request the card data
// export. One zip holds the receiver's OpenPGP public key and fingerprint,
// the drop box's coordinates and host key fingerprint, the Attestation of
// Compliance, and a short letter that says exactly what to send, encrypted
// to which key, uploaded where. The drop box password is never part of it:
// it travels by another channel.
package kit

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"text/template"
	"time"

	"github.com/konduit/konduit/internal/pgp"
)

// DropBox is where the processor uploads.
type DropBox struct {
	Host               string
	Port               int
	User               string
	Path               string
	HostKeyFingerprint string // SHA256:...
}

// Request is the content of a kit.
type Request struct {
	// Receiver names who will decrypt the export (shown in the letter).
	Receiver string
	// PublicKey is the receiver's OpenPGP public key, armored or binary.
	PublicKey []byte
	DropBox   DropBox
	// AOCName and AOC are the Attestation of Compliance file.
	AOCName string
	AOC     io.Reader
	// Date stamps the letter and the zip entries.
	Date time.Time
}

// Names of the files in the zip.
const (
	LetterName      = "README.txt"
	KeyName         = "receiver-public-key.asc"
	FingerprintName = "receiver-public-key-fingerprint.txt"
	DropBoxName     = "sftp-drop-box.txt"
	AOCDir          = "attestation-of-compliance/"
)

// Write checks the request and writes the zip to w.
func Write(ctx context.Context, w io.Writer, req Request) error {
	key, err := pgp.ReadKey(bytes.NewReader(req.PublicKey))
	if err != nil {
		return fmt.Errorf("kit: public key: %w", err)
	}
	if key.IsPrivate() {
		return errors.New("kit: the key file holds a PRIVATE key; give the public key (pgp keygen writes it as PREFIX.pub.asc)")
	}
	d := req.DropBox
	switch {
	case d.Host == "" || d.User == "":
		return errors.New("kit: the drop box host and user are required")
	case !strings.HasPrefix(d.HostKeyFingerprint, "SHA256:"):
		return errors.New("kit: the drop box host key fingerprint (SHA256:...) is required, so the processor can check it")
	case req.AOC == nil || req.AOCName == "":
		return errors.New("kit: the Attestation of Compliance file is required")
	}
	if d.Port == 0 {
		d.Port = 22
	}
	if d.Path == "" {
		d.Path = "/"
	}
	var armored bytes.Buffer
	if err := key.WritePublic(&armored, true); err != nil {
		return fmt.Errorf("kit: %w", err)
	}
	fp := key.Fingerprint()
	info := key.Info()
	data := letterData{
		Receiver: req.Receiver, Date: req.Date.Format("2006-01-02"), DropBox: d,
		Fingerprint: pgp.FormatFingerprint(fp), FingerprintRaw: fp, UserIDs: strings.Join(info.UserIDs, ", "),
		KeyName: KeyName, AOCPath: AOCDir + path.Base(strings.ReplaceAll(req.AOCName, "\\", "/")),
	}
	if data.Receiver == "" {
		data.Receiver = "us"
	}
	var letter bytes.Buffer
	if err := letterTmpl.Execute(&letter, data); err != nil {
		return fmt.Errorf("kit: letter: %w", err)
	}
	zw := zip.NewWriter(w)
	add := func(name string, r io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: req.Date})
		if err != nil {
			return fmt.Errorf("kit: add %s: %w", name, err)
		}
		if _, err := io.Copy(f, r); err != nil {
			return fmt.Errorf("kit: add %s: %w", name, err)
		}
		return nil
	}
	for _, e := range []struct {
		name string
		r    io.Reader
	}{
		{LetterName, &letter},
		{KeyName, &armored},
		{FingerprintName, strings.NewReader(data.Fingerprint + "\n")},
		{DropBoxName, strings.NewReader(dropBoxText(d))},
		{data.AOCPath, req.AOC},
	} {
		if err := add(e.name, e.r); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("kit: finish zip: %w", err)
	}
	return nil
}

func dropBoxText(d DropBox) string {
	return fmt.Sprintf("host: %s\nport: %d\nuser: %s\npath: %s\nhost key fingerprint: %s\npassword: sent separately, never in this kit\n",
		d.Host, d.Port, d.User, d.Path, d.HostKeyFingerprint)
}

type letterData struct {
	Receiver, Date, Fingerprint, FingerprintRaw, UserIDs, KeyName, AOCPath string
	DropBox                                                                DropBox
}

var letterTmpl = template.Must(template.New("letter").Parse(`Request for a card data export ({{.Date}})

Hello,

Please export our customers' payment data (full card numbers with expiry
dates, and bank routing and account numbers for ACH customers) together
with the transactions, and send it to {{.Receiver}} as follows.

1. What to send
   One CSV file with the transactions and the payment data. Do not include
   CVV codes.

2. Encrypt it with OpenPGP to this key only
   Key file:     {{.KeyName}} (in this zip)
   User id:      {{.UserIDs}}
   Fingerprint:  {{.Fingerprint}}
   Check the fingerprint after importing the key, and confirm it with us by
   phone or in the ticket if anything differs. Integrity protection (MDC)
   is required; GnuPG 2.2 and later use it by default. For example:

     gpg --import {{.KeyName}}
     gpg --encrypt --recipient {{.FingerprintRaw}} --output export.csv.pgp export.csv

3. Upload the encrypted file by SFTP
   Host:         {{.DropBox.Host}}
   Port:         {{.DropBox.Port}}
   User:         {{.DropBox.User}}
   Directory:    {{.DropBox.Path}}
   Host key:     {{.DropBox.HostKeyFingerprint}}
   Refuse to connect if the server presents another host key fingerprint.
   The password is sent to you separately; it is not in this kit.

4. Never send card data by email, in a ticket or unencrypted.

Our Attestation of Compliance is in {{.AOCPath}}.

Thank you.
`))
