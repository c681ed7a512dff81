package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/konduit/konduit/internal/atomicfile"
)

// SecretKeyEnv names the environment variable that may hold the key sealing
// saved passwords: 32 bytes, base64 or hex.
const SecretKeyEnv = "KONDUIT_SECRET_KEY"

// ErrSecret is wrapped when a sealed secret cannot be opened (wrong key,
// tampered data).
var ErrSecret = errors.New("cannot open sealed secret")

// Key seals and opens integration passwords with AES-256-GCM.
type Key struct {
	aead   cipher.AEAD
	Source string // where the key came from: the environment variable or the key file's path
}

// NewKey wraps 32 raw key bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != 32 {
		return nil, fmt.Errorf("secret key: want 32 bytes, have %d", len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Key{aead: aead}, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("want 32 bytes as 64 hex digits or base64")
}

// KeyFilePath is where the key file for a DSN lives: beside a SQLite file
// ("PATH.key"), or konduit/secret.key in the user's config directory.
func KeyFilePath(dsn string) (string, error) {
	b, src, err := ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	if b == SQLite {
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", err
		}
		return abs + ".key", nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find user config dir for the secret key: %w", err)
	}
	return filepath.Join(dir, "konduit", "secret.key"), nil
}

// LoadKey finds the key for a DSN: KONDUIT_SECRET_KEY when set, else the key
// file (KeyFilePath). When create is true and there is no key file, a new
// random key is written to it with mode 0600.
func LoadKey(ctx context.Context, dsn string, create bool) (*Key, error) {
	if v := os.Getenv(SecretKeyEnv); v != "" {
		raw, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", SecretKeyEnv, err)
		}
		k, err := NewKey(raw)
		if err != nil {
			return nil, err
		}
		k.Source = SecretKeyEnv
		return k, nil
	}
	path, err := KeyFilePath(dsn)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("make secret key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("make secret key dir: %w", err)
		}
		// Write the key completely under a temporary name, then link it
		// into place: the link fails if another process made a key first,
		// and then that key is the one to use.
		tmp := fmt.Sprintf("%s.new-%x", path, raw[:4])
		err := atomicfile.Write(ctx, tmp, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
			_, err := io.WriteString(w, hex.EncodeToString(raw)+"\n")
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("write secret key: %w", err)
		}
		err = os.Link(tmp, path)
		os.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return LoadKey(ctx, dsn, false)
		}
		if err != nil {
			return nil, fmt.Errorf("write secret key: %w", err)
		}
		k, err := NewKey(raw)
		if err != nil {
			return nil, err
		}
		k.Source = path
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key (set %s or keep %s): %w", SecretKeyEnv, path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key file %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	raw, err := decodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("read secret key %s: %w", path, err)
	}
	k, err := NewKey(raw)
	if err != nil {
		return nil, err
	}
	k.Source = path
	return k, nil
}

// Seal encrypts plaintext bound to context (an integration name): nonce ||
// ciphertext+tag.
func (k *Key) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return k.aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// Open decrypts what Seal produced for the same context.
func (k *Key) Open(sealed []byte, context string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, fmt.Errorf("open secret for %s: %w", context, ErrSecret)
	}
	pt, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("open secret for %s (was it sealed with another key?): %w", context, ErrSecret)
	}
	return pt, nil
}
