package konnektive

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"runtime/debug"
)

// A scheduled sync re-reads weeks of rows that have not changed. A row's
// Digest lets it skip them: a caller that stored a row with the digest of
// the bytes it was decoded from (Page.Digests) can tell, from the digest of
// the bytes the server sends now, that decoding them again would give the
// same row, and Decode then leaves the row undecoded (see Known).
//
// The digest is taken over the row exactly as the server sent it, before
// its sensitive keys are removed and card numbers masked (that work is
// what is skipped). Those bytes may hold a card or account number, so the
// digest is keyed (HMAC-SHA256, cut to 128 bits) with a key derived from
// the API password, which is never stored in the clear: without the key, a
// stored digest cannot be used to test guesses of a number. The key also
// covers everything else the decoded row depends on besides the bytes: the
// API user, the account time zone, the endpoint, DecodeVersion and the
// build of konduit. When any of them changes, no stored digest matches and
// every row is decoded once more.

// Digest is a row's keyed digest.
type Digest [16]byte

// String is the digest in hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// DecodeVersion names the rules that turn a row's bytes into its decoded
// form (decode.go). Change it with any change to what a row decodes to, so
// rows stored by the old rules are decoded again: TestDecodeVersion fails
// until it is changed.
const DecodeVersion = "1"

// digestKey derives the row digest key of a client's configuration.
func digestKey(cfg Config) []byte {
	mac := hmac.New(sha256.New, []byte(cfg.Password))
	for _, part := range []string{"konduit row digest", DecodeVersion, buildID(), cfg.LoginID, cfg.Location.String()} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	return mac.Sum(nil)
}

// buildID identifies the build of konduit when it was built from a
// version-controlled checkout (empty in tests and go run).
func buildID() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	id := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			id += " " + s.Value
		}
	}
	return id
}

// rowMAC is the keyed hash rowDigest uses.
func (c *Client) rowMAC() hash.Hash { return hmac.New(sha256.New, c.digestKey) }

// rowDigest is the digest of one row of endpoint ep.
func rowDigest(mac hash.Hash, ep Endpoint, row []byte) Digest {
	mac.Reset()
	mac.Write([]byte(ep))
	mac.Write([]byte{0})
	mac.Write(row)
	var d Digest
	var sum [sha256.Size]byte
	copy(d[:], mac.Sum(sum[:0]))
	return d
}

// peekID reads a row's id without decoding the rest: the first key equal
// to key (after unescaping), read as a scalar the way the decoder reads it;
// "" when the row is not an object or that value is not a readable id. It
// only names the row for the digest lookup: a row whose peeked id is not
// the id its decoder reads (a row with the key twice) is found held only
// when some stored row of that id was decoded from the very same bytes,
// which would give it that id; otherwise it is decoded.
func peekID(row []byte, key string) string {
	if key == "" {
		return ""
	}
	var id string
	err := scanObject(row, func(k string, val []byte) error {
		if k != key {
			return nil
		}
		if f, err := flexOf(val); err == nil {
			id = f.id()
		}
		return errFound
	})
	if err != errFound {
		return ""
	}
	return id
}

var errFound = errors.New("found")
