// Package pgp encrypts and decrypts files to OpenPGP keys the way partners'
// GnuPG 2.2 installations read and write them: version 4 keys (RSA-4096 or
// Curve25519), AES-256 in integrity-protected packets (SEIPD version 1, no
// AEAD), ZLIB compression, armored or binary.
//
// Everything streams: Encrypt and Decrypt copy through io.Reader/io.Writer a
// buffer at a time, so a file of any size is never held in memory. Decrypt
// refuses messages without integrity protection (a modification detection
// code) and stops with ErrTooLarge once the decompressed plaintext passes a
// cap, so a compression bomb fails fast in bounded memory. An armored
// input (a message or a key) whose header block passes MaxArmorHeader is
// refused with an *ArmorHeaderError before the OpenPGP library parses it.
//
// The plaintext Decrypt writes is only trustworthy once Decrypt returns nil:
// the integrity check runs at the end of the message. Callers that write to
// a file use internal/atomicfile so a failed check leaves nothing behind.
package pgp

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	pgpcrypto "github.com/ProtonMail/gopenpgp/v3/crypto"
	"github.com/ProtonMail/gopenpgp/v3/profile"
)

// Algorithm is a key generation choice.
type Algorithm string

// The algorithms keygen offers; both are read by GnuPG 2.2.
const (
	RSA4096    Algorithm = "rsa4096"
	Curve25519 Algorithm = "curve25519"
)

// ParseAlgorithm turns a flag value into an Algorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch Algorithm(strings.ToLower(s)) {
	case RSA4096, "rsa":
		return RSA4096, nil
	case Curve25519, "cv25519", "ed25519", "25519":
		return Curve25519, nil
	}
	return "", fmt.Errorf("unknown key algorithm %q (want rsa4096 or curve25519)", s)
}

// DefaultMaxRatio and DefaultMinCap set the default decompressed-size cap:
// DefaultMaxRatio times the ciphertext size, never below DefaultMinCap.
const (
	DefaultMaxRatio = 64
	DefaultMinCap   = 1 << 30
)

// ErrTooLarge is returned when the decompressed plaintext passes the cap.
var ErrTooLarge = errors.New("decompressed plaintext exceeds the size cap (compression bomb?)")

// ErrNoIntegrity is returned for messages without integrity protection.
var ErrNoIntegrity = errors.New("message is not integrity protected; refusing to decrypt")

// ErrLocked is returned when a private key needs a passphrase.
var ErrLocked = errors.New("private key is locked; a passphrase is required")

// gnupg22 is the profile: v4 keys, SEIPDv1 (no AEAD), AES-256, SHA-256,
// ZLIB at level 1 (speed over the last few percent of size), and the
// iterated-and-salted S2K for locked keys (no Argon2, which GnuPG 2.2 lacks).
func gnupg22(alg Algorithm) *profile.Custom {
	return &profile.Custom{
		SetKeyAlgorithm: func(cfg *packet.Config, _ int8) {
			switch alg {
			case Curve25519:
				cfg.Algorithm = packet.PubKeyAlgoEdDSA
				cfg.Curve = packet.Curve25519
			default:
				cfg.Algorithm = packet.PubKeyAlgoRSA
				cfg.RSABits = 4096
			}
		},
		Hash:                     crypto.SHA256,
		CipherEncryption:         packet.CipherAES256,
		CipherKeyEncryption:      packet.CipherAES256,
		CompressionAlgorithm:     packet.CompressionZLIB,
		CompressionConfiguration: &packet.CompressionConfig{Level: 1}, // fastest: CSV still shrinks 3-5x
	}
}

func handle() *pgpcrypto.PGPHandle { return pgpcrypto.PGPWithProfile(gnupg22(RSA4096)) }

// Key is one OpenPGP key (public or private, with its subkeys).
type Key struct{ k *pgpcrypto.Key }

// GenerateOptions describe a new key.
type GenerateOptions struct {
	Name, Email string
	Algorithm   Algorithm
	// Passphrase locks the private key; empty leaves it unlocked.
	Passphrase []byte
}

// CheckUserID says whether a name and an email make a user id: OpenPGP's
// "Name (Comment) <email>" convention reserves ( ) < > (GnuPG refuses them
// in a name too), so a name or an email holding one is refused with a
// message saying which character and what to do.
func CheckUserID(name, email string) error {
	if name == "" && email == "" {
		return errors.New("a name or an email is required")
	}
	for _, f := range []struct{ what, v string }{{"name", name}, {"email", email}} {
		if i := strings.IndexAny(f.v, "()<>\x00"); i >= 0 {
			c := f.v[i : i+1]
			if c == "\x00" {
				c = "NUL"
			}
			return fmt.Errorf("the %s %q holds %q: OpenPGP user ids reserve ( ) < > for a comment and the email address; give the %s without them (a comment is not supported)", f.what, f.v, c, f.what)
		}
	}
	return nil
}

// Generate creates a new private key with a signing primary key and an
// encryption subkey.
func Generate(opts GenerateOptions) (*Key, error) {
	if err := CheckUserID(opts.Name, opts.Email); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	alg := opts.Algorithm
	if alg == "" {
		alg = RSA4096
	}
	h := pgpcrypto.PGPWithProfile(gnupg22(alg))
	k, err := h.KeyGeneration().AddUserId(opts.Name, opts.Email).New().GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	if len(opts.Passphrase) > 0 {
		locked, err := h.LockKey(k, opts.Passphrase)
		k.ClearPrivateParams()
		if err != nil {
			return nil, fmt.Errorf("lock key: %w", err)
		}
		k = locked
	}
	return &Key{k: k}, nil
}

// ReadKey reads one key, armored or binary.
func ReadKey(r io.Reader) (*Key, error) {
	in, encoding, err := guardArmor(r)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := pgpcrypto.NewKeyFromReaderExplicit(in, encoding)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return &Key{k: k}, nil
}

// IsPrivate reports whether the key holds private material.
func (k *Key) IsPrivate() bool { return k.k.IsPrivate() }

// IsLocked reports whether the private key needs a passphrase.
func (k *Key) IsLocked() bool {
	if !k.k.IsPrivate() {
		return false
	}
	locked, err := k.k.IsLocked()
	return err == nil && locked
}

// Unlock returns an unlocked copy of a locked private key.
func (k *Key) Unlock(passphrase []byte) (*Key, error) {
	if !k.IsLocked() {
		return k, nil
	}
	u, err := k.k.Unlock(passphrase)
	if err != nil {
		return nil, fmt.Errorf("unlock key %s: wrong passphrase or damaged key: %w", k.KeyID(), err)
	}
	return &Key{k: u}, nil
}

// Fingerprint is the primary key's fingerprint, 40 upper-case hex digits.
func (k *Key) Fingerprint() string { return strings.ToUpper(k.k.GetFingerprint()) }

// KeyID is the primary key's long key id, 16 upper-case hex digits.
func (k *Key) KeyID() string { return strings.ToUpper(k.k.GetHexKeyID()) }

// FormatFingerprint groups a hex fingerprint in blocks of four, as GnuPG
// prints it.
func FormatFingerprint(fp string) string {
	var b strings.Builder
	for i := 0; i < len(fp); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
			if i == len(fp)/2 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(fp[i:min(i+4, len(fp))])
	}
	return b.String()
}

// WritePublic writes the public key, armored or binary.
func (k *Key) WritePublic(w io.Writer, armored bool) error {
	if armored {
		s, err := k.k.GetArmoredPublicKey()
		if err != nil {
			return fmt.Errorf("armor public key: %w", err)
		}
		_, err = io.WriteString(w, s+"\n")
		return err
	}
	b, err := k.k.GetPublicKey()
	if err != nil {
		return fmt.Errorf("serialize public key: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// WritePrivate writes the private key as it is (locked keys stay locked).
func (k *Key) WritePrivate(w io.Writer, armored bool) error {
	if !k.IsPrivate() {
		return errors.New("write private key: the key is public only")
	}
	if armored {
		s, err := k.k.Armor()
		if err != nil {
			return fmt.Errorf("armor private key: %w", err)
		}
		_, err = io.WriteString(w, s+"\n")
		return err
	}
	b, err := k.k.Serialize()
	if err != nil {
		return fmt.Errorf("serialize private key: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// SubkeyInfo describes the primary key or one subkey.
type SubkeyInfo struct {
	Fingerprint string
	KeyID       string
	Algorithm   string
	Bits        int
	Created     time.Time
	Usage       string // "sign", "encrypt", "certify"
}

// Info is what inspect shows.
type Info struct {
	Version int
	Private bool
	Locked  bool
	UserIDs []string
	Primary SubkeyInfo
	Subkeys []SubkeyInfo
}

// Info describes the key.
func (k *Key) Info() Info {
	e := k.k.GetEntity()
	info := Info{Version: k.k.GetVersion(), Private: k.IsPrivate(), Locked: k.IsLocked()}
	for name := range e.Identities {
		info.UserIDs = append(info.UserIDs, name)
	}
	sort.Strings(info.UserIDs)
	usage := func(sig *packet.Signature) string {
		if sig == nil || !sig.FlagsValid {
			return ""
		}
		var u []string
		if sig.FlagCertify {
			u = append(u, "certify")
		}
		if sig.FlagSign {
			u = append(u, "sign")
		}
		if sig.FlagEncryptCommunications || sig.FlagEncryptStorage {
			u = append(u, "encrypt")
		}
		return strings.Join(u, ",")
	}
	primarySig, _ := e.PrimarySelfSignature(time.Now(), nil)
	info.Primary = describe(e.PrimaryKey, usage(primarySig))
	for _, s := range e.Subkeys {
		sig, _ := s.LatestValidBindingSignature(time.Now(), nil)
		info.Subkeys = append(info.Subkeys, describe(s.PublicKey, usage(sig)))
	}
	return info
}

func describe(pk *packet.PublicKey, usage string) SubkeyInfo {
	bits, _ := pk.BitLength()
	alg := fmt.Sprintf("algo-%d", pk.PubKeyAlgo)
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		alg = "rsa"
	case packet.PubKeyAlgoEdDSA:
		alg, bits = "ed25519", 255
	case packet.PubKeyAlgoECDH:
		alg, bits = "cv25519", 255
	case packet.PubKeyAlgoEd25519:
		alg, bits = "ed25519", 255
	case packet.PubKeyAlgoX25519:
		alg, bits = "x25519", 255
	}
	return SubkeyInfo{
		Fingerprint: strings.ToUpper(hex.EncodeToString(pk.Fingerprint)),
		KeyID:       fmt.Sprintf("%016X", pk.KeyId),
		Algorithm:   alg,
		Bits:        int(bits),
		Created:     pk.CreationTime.UTC(),
		Usage:       usage,
	}
}

// EncryptOptions tune Encrypt.
type EncryptOptions struct {
	Armor bool
	// NoCompress turns ZLIB compression off.
	NoCompress bool
	// FileName is stored in the literal data packet (GnuPG shows it).
	FileName string
}

// NewEncryptingWriter returns a writer whose plaintext is encrypted to the
// recipients and written to dst. Close finishes the message; it does not
// close dst.
func NewEncryptingWriter(dst io.Writer, recipients []*Key, opts EncryptOptions) (io.WriteCloser, error) {
	if len(recipients) == 0 {
		return nil, errors.New("encrypt: no recipient key")
	}
	var ring *pgpcrypto.KeyRing
	for _, r := range recipients {
		pub := r.k
		if r.IsPrivate() {
			var err error
			if pub, err = r.k.ToPublic(); err != nil {
				return nil, fmt.Errorf("encrypt: recipient %s: %w", r.KeyID(), err)
			}
		}
		if !pub.CanEncrypt(time.Now().Unix()) {
			return nil, fmt.Errorf("encrypt: key %s cannot encrypt (expired, revoked or no encryption subkey)", r.KeyID())
		}
		if ring == nil {
			var err error
			if ring, err = pgpcrypto.NewKeyRing(pub); err != nil {
				return nil, fmt.Errorf("encrypt: %w", err)
			}
		} else if err := ring.AddKey(pub); err != nil {
			return nil, fmt.Errorf("encrypt: %w", err)
		}
	}
	b := handle().Encryption().Recipients(ring)
	if !opts.NoCompress {
		b = b.Compress()
	}
	enc, err := b.New()
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	encoding := pgpcrypto.Bytes
	if opts.Armor {
		encoding = pgpcrypto.Armor
	}
	w, err := enc.EncryptingWriter(dst, encoding)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return w, nil
}

// Encrypt streams src, encrypted to the recipients, to dst and returns the
// number of plaintext bytes read.
func Encrypt(ctx context.Context, dst io.Writer, src io.Reader, recipients []*Key, opts EncryptOptions) (int64, error) {
	w, err := NewEncryptingWriter(dst, recipients, opts)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, ctxReader{ctx, src})
	if err != nil {
		return n, fmt.Errorf("encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return n, fmt.Errorf("encrypt: finish message: %w", err)
	}
	return n, nil
}

// DecryptOptions tune Decrypt.
type DecryptOptions struct {
	// MaxSize caps the plaintext in bytes; 0 means DefaultMinCap.
	MaxSize int64
}

// DecryptResult says what Decrypt did.
type DecryptResult struct {
	Bytes int64
	// FileName is the name stored in the message, if any.
	FileName string
}

// Decrypt streams the message in src, decrypted with key (an unlocked
// private key), to dst. The result is valid only when err is nil.
func Decrypt(ctx context.Context, dst io.Writer, src io.Reader, key *Key, opts DecryptOptions) (DecryptResult, error) {
	var res DecryptResult
	if !key.IsPrivate() {
		return res, errors.New("decrypt: the key is public only; a private key is required")
	}
	if key.IsLocked() {
		return res, fmt.Errorf("decrypt: %w", ErrLocked)
	}
	limit := opts.MaxSize
	if limit <= 0 {
		limit = DefaultMinCap
	}
	// go-crypto's own cap (with room for packet headers) backs up ours; it
	// reports a generic parsing error, so ours must fire first to say why.
	dec, err := handle().Decryption().DecryptionKey(key.k).MaxDecompressedMessageSize(limit + 1<<20).New()
	if err != nil {
		return res, fmt.Errorf("decrypt: %w", err)
	}
	in, encoding, err := guardArmor(ctxReader{ctx, src})
	if err != nil {
		return res, fmt.Errorf("decrypt: %w", classify(ctx, err))
	}
	r, err := dec.DecryptingReader(in, encoding)
	if err != nil {
		return res, fmt.Errorf("decrypt: %w", classify(ctx, err))
	}
	if md := r.GetMetadata(); md != nil {
		res.FileName = md.Filename()
	}
	// The cap also covers uncompressed messages: plaintext beyond it is an
	// error even when it arrives without a compression packet.
	n, err := io.Copy(dst, io.LimitReader(r, limit+1))
	res.Bytes = n
	if err != nil {
		return res, fmt.Errorf("decrypt: %w", classify(ctx, err))
	}
	if n > limit {
		return res, fmt.Errorf("decrypt: %w (%d bytes)", ErrTooLarge, limit)
	}
	return res, nil
}

// classify maps go-crypto's errors onto this package's.
func classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "not integrity protected") || strings.Contains(msg, "unauthenticated") ||
		strings.Contains(msg, "symmetrically encrypted packet without"):
		return fmt.Errorf("%w: %w", ErrNoIntegrity, err)
	case strings.Contains(msg, "decompressed") && (strings.Contains(msg, "exceed") || strings.Contains(msg, "limit") || strings.Contains(msg, "size")):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// IsArmored reports whether b starts like an armored block.
func IsArmored(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("-----BEGIN PGP"))
}
