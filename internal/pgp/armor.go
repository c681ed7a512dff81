package pgp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	pgpcrypto "github.com/ProtonMail/gopenpgp/v3/crypto"
)

// MaxArmorHeader caps, in bytes, an armored input's header block: any text
// before the -----BEGIN line, that line, and the "Key: Value" header lines
// up to the blank line where the base64 body starts. It caps each line and
// the block as a whole. GnuPG writes a few dozen bytes of headers, if any.
//
// The cap exists because go-crypto's armor decoder grows a long header line
// by string concatenation, 100 bytes at a time: its time is quadratic in the
// line's length (1 MiB took 3 s, 100 MiB over 10 minutes), and it keeps
// every header in memory.
const MaxArmorHeader = 8 << 10

// ErrArmorHeader is returned, wrapped in an *ArmorHeaderError, for an
// armored input whose header block passes MaxArmorHeader.
var ErrArmorHeader = errors.New("armor header block exceeds the size cap")

// ArmorHeaderError says where an armored input passed MaxArmorHeader.
type ArmorHeaderError struct {
	// Line is the 1-based line of the input where the cap was passed.
	Line int
	// Block is true when the block as a whole passed the cap, false when
	// one line alone did.
	Block bool
}

func (e *ArmorHeaderError) Error() string {
	if e.Block {
		return fmt.Sprintf("armor header block passes %d bytes at line %d (the lines before the blank line that starts the base64 body); refusing the message", MaxArmorHeader, e.Line)
	}
	return fmt.Sprintf("armor header line %d is longer than %d bytes; refusing the message", e.Line, MaxArmorHeader)
}

// Unwrap makes errors.Is(err, ErrArmorHeader) true.
func (e *ArmorHeaderError) Unwrap() error { return ErrArmorHeader }

var (
	armorDetect = []byte("-----BEGIN PGP") // what gopenpgp's Auto encoding looks for
	armorBegin  = []byte("-----BEGIN ")    // what go-crypto's armor.Decode starts a block at
)

// armorDetectWindow is how far gopenpgp's Auto encoding looks for
// armorDetect: len("-----BEGIN PGP") plus 128 bytes of leading garbage.
const armorDetectWindow = 14 + 128

// maxBeginLine is the longest -----BEGIN line passed on. go-crypto reads
// lines through a 100-byte buffer and skips longer ones, so the line it is
// given must fit with room to spare.
const maxBeginLine = 96

// guardArmor inspects the header block of an armored input in bounded time
// and memory, before any of it reaches go-crypto, and returns the stream to
// hand the library with its encoding (Armor or Bytes, decided the way
// gopenpgp's Auto would). An input that is not armored passes unchanged.
//
// For an armored input it reads at most MaxArmorHeader bytes, a line at a
// time, following armor.Decode's grammar: garbage lines are skipped until
// a -----BEGIN line; header lines follow until a blank one; a header line
// without a colon means that was not a block after all, and the search
// for a -----BEGIN line resumes. What the library then receives is the
// -----BEGIN line, a blank line and the rest of the input from the body
// on: the headers themselves (Version, Comment, Charset: nothing that
// decrypting or reading a key uses) never reach it, so whatever they held,
// its header parser does a fixed, small amount of work.
func guardArmor(src io.Reader) (io.Reader, int8, error) {
	br := bufio.NewReaderSize(src, MaxArmorHeader)
	head, _ := br.Peek(armorDetectWindow) // a short input or a read error shows later
	if !bytes.Contains(head, armorDetect) {
		return br, pgpcrypto.Bytes, nil
	}
	var begin []byte // the current block's -----BEGIN line, trimmed
	total := 0
	for line := 1; ; line++ {
		raw, err := br.ReadSlice('\n')
		total += len(raw)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return nil, 0, &ArmorHeaderError{Line: line}
		case total > MaxArmorHeader:
			return nil, 0, &ArmorHeaderError{Line: line, Block: true}
		case err == io.EOF:
			if begin == nil {
				return nil, 0, errors.New("armored input has no -----BEGIN PGP line")
			}
			return nil, 0, errors.New("armored input ends inside its header block (no blank line before the body)")
		case err != nil:
			return nil, 0, err
		}
		t := bytes.TrimSpace(raw)
		switch {
		case begin == nil:
			if len(t) > len(armorBegin)+5 && len(t) <= maxBeginLine && bytes.HasPrefix(t, armorBegin) {
				begin = append([]byte(nil), t...)
			}
		case len(t) == 0:
			canonical := append(begin, '\n', '\n')
			return io.MultiReader(bytes.NewReader(canonical), br), pgpcrypto.Armor, nil
		case !bytes.Contains(t, []byte(":")):
			begin = nil
		}
	}
}
