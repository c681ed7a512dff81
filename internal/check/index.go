package check

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"

	"github.com/konduit/konduit/internal/atomicfile"
)

var idSeed = maphash.MakeSeed()

// hashID hashes an id's bytes (the runtime's AES hash): done in the
// parallel workers, so that the sequential merger only touches uint64 keys.
func hashID(b []byte) uint64 { return maphash.Bytes(idSeed, b) }

// keyHash hashes the keys of the cross-row indexes (merchantTxnId, orderId,
// customerId, parent references, active rows' emails, phones and
// subscriptions). It is hashID; tests replace it with a weak hash to force
// collisions: the indexes' answers must not change.
var keyHash = hashID

// hashLower is hashID of the ASCII-lower-cased bytes (emails compare
// without case).
func hashLower(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// span is a range of bytes in an arena.
type span struct{ off, n int32 }

// The cross-row indexes hold one 64-bit slot an entry in memory, in an
// open-addressing table: the high bits of the key's hash (its tag) and
// where the entry's record is in the spill. A record is the entry's fixed
// payload (its first row, ...) and its key's bytes; it is written to the
// spill (a buffer, then an unlinked 0600 temporary file) and read back only
// to confirm a candidate whose tag matches, which also gives its payload.
// So the answers are exact whatever the hash does, and memory is about 11
// to 21 bytes an entry (the table is kept between 3/8 and 3/4 full) and
// nothing for the keys, whatever their length. The tables are allocated
// outside the Go heap where the system allows (table_unix.go), so the
// garbage collector's headroom (GOGC) is not spent on them.

const (
	offBits = 36 // a record's offset: spills up to 64 GiB
	tagBits = 64 - offBits
	offMask = 1<<offBits - 1
	maxOff  = offMask - 1
)

// spill holds records written once and read back by offset: a buffer,
// then an unlinked temporary file (created 0600 and removed at once where
// the system allows, else when the validation ends). A record is a uvarint
// length and its bytes.
type spill struct {
	f       *os.File
	name    string // set while the file still has a name (not removed)
	buf     []byte // what is not yet in the file, from file offset base
	base    int64
	scratch []byte
	err     error
}

// spillBuffer is the bytes kept in memory before the spill goes to its
// file (a variable: tests make it small, to run the file path).
var spillBuffer = 4 << 20

var errTooLarge = errors.New("check: the file has too many ids to index (more than 64 GiB of them)")

// put appends a record made of parts and returns its offset.
func (s *spill) put(parts ...[]byte) int64 {
	off := s.base + int64(len(s.buf))
	if off > maxOff {
		s.fail(errTooLarge)
		off = 0
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	s.buf = binary.AppendUvarint(s.buf, uint64(n))
	for _, p := range parts {
		s.buf = append(s.buf, p...)
	}
	if len(s.buf) >= spillBuffer {
		s.flush()
	}
	return off
}

func (s *spill) flush() {
	if s.err != nil {
		s.base += int64(len(s.buf))
		s.buf = s.buf[:0]
		return
	}
	if s.f == nil {
		f, name, err := atomicfile.Scratch("konduit-check-*")
		if err != nil {
			s.fail(err)
			s.base += int64(len(s.buf))
			s.buf = s.buf[:0]
			return
		}
		s.f, s.name = f, name
	}
	if _, err := s.f.Write(s.buf); err != nil {
		s.fail(err)
	}
	s.base += int64(len(s.buf))
	s.buf = s.buf[:0]
}

// get returns the record at off, valid until the next get; after a
// scan calls fn with every record, in the order they were put (rec is
// valid during the call); it stops at a read error (s.err).
func (s *spill) scan(fn func(rec []byte)) {
	if s.f != nil && s.err == nil {
		br := bufio.NewReaderSize(io.NewSectionReader(s.f, 0, s.base), 1<<20)
		var rec []byte
		for {
			n, err := binary.ReadUvarint(br)
			if err == io.EOF {
				break
			}
			if err == nil {
				rec = slices.Grow(rec[:0], int(n))[:n]
				_, err = io.ReadFull(br, rec)
			}
			if err != nil {
				s.fail(err)
				return
			}
			fn(rec)
		}
	}
	for b := s.buf; len(b) > 0; {
		n, k := binary.Uvarint(b)
		fn(b[k : k+int(n)])
		b = b[k+int(n):]
	}
}

// failure (s.err), an empty one.
func (s *spill) get(off int64) []byte {
	if off >= s.base {
		b := s.buf[off-s.base:]
		n, k := binary.Uvarint(b)
		return b[k : k+int(n)]
	}
	if s.err != nil {
		return nil
	}
	if cap(s.scratch) < 128 {
		s.scratch = make([]byte, 128)
	}
	b := s.read(off, 128)
	n, k := binary.Uvarint(b)
	if k <= 0 {
		s.fail(errors.New("bad record"))
		return nil
	}
	if need := k + int(n); need > len(b) {
		if b = s.read(off, need); len(b) < need {
			s.fail(io.ErrUnexpectedEOF)
			return nil
		}
	}
	return b[k : k+int(n)]
}

// read reads n bytes at off into the scratch buffer, or as many as there
// are.
func (s *spill) read(off int64, n int) []byte {
	if n > cap(s.scratch) {
		s.scratch = make([]byte, n)
	}
	b := s.scratch[:n]
	inFile := int(min(int64(n), s.base-off))
	m, err := s.f.ReadAt(b[:inFile], off)
	if err != nil && err != io.EOF {
		s.fail(err)
	}
	if m == inFile && n > inFile {
		m += copy(b[m:], s.buf) // the record's tail is still in the buffer
	}
	return b[:m]
}

func (s *spill) fail(err error) {
	if s.err == nil {
		if err == errTooLarge {
			s.err = err
		} else {
			s.err = fmt.Errorf("check: spill file: %w", err)
		}
	}
}

// close releases the file (and removes it, if it could not be removed at
// once).
func (s *spill) close() {
	if s.f != nil {
		s.f.Close()
		if s.name != "" {
			os.Remove(s.name)
		}
		s.f = nil
	}
	s.buf = nil
}

// idIndex maps keys to their records' offsets in the spill. A record is
// the payload and the key; in an index with tails, the payload, the key's
// length (a uvarint), the key and the tail: bytes kept with the entry but
// not part of its key (the customerId that first had an orderId).
type idIndex struct {
	sp    *spill
	pay   int      // payload bytes of every record
	tails bool     // records hold a tail after the key
	slots []uint64 // tag << offBits | offset+1; 0 is empty
	shift uint     // 64 - log2(len(slots)): a hash's home slot is h >> shift
	n     int
}

// newIDIndex returns an index sized for about n keys, whose records hold
// pay bytes of payload, spilling to sp.
func newIDIndex(n, pay int, sp *spill) *idIndex {
	x := &idIndex{sp: sp, pay: pay}
	size, shift := 16, uint(60)
	for size*3 < n*4 && shift > offBits {
		size, shift = size*2, shift-1
	}
	x.slots, x.shift = newTable(size), shift
	return x
}

// free releases the table (the index is not used after).
func (x *idIndex) free() {
	if x.slots != nil {
		freeTable(x.slots)
		x.slots = nil
	}
}

// split cuts a record into its payload, key and tail (nil for a record
// the spill could not read).
func (x *idIndex) split(rec []byte) (payload, key, tail []byte) {
	if len(rec) < x.pay {
		return nil, nil, nil
	}
	payload, key = rec[:x.pay], rec[x.pay:]
	if x.tails {
		n, k := binary.Uvarint(key)
		if k <= 0 || n > uint64(len(key)-k) {
			return nil, nil, nil
		}
		key, tail = key[k:k+int(n)], key[k+int(n):]
	}
	return payload, key, tail
}

// lookup returns the offset and payload of key's record (the payload is
// valid until the spill's next read); h is keyHash(key).
func (x *idIndex) lookup(h uint64, key []byte) (off int64, payload []byte, ok bool) {
	off, payload, _, ok = x.find(h, key)
	return off, payload, ok
}

// find is lookup that also returns the record's tail.
func (x *idIndex) find(h uint64, key []byte) (off int64, payload, tail []byte, ok bool) {
	tag := h >> offBits << offBits
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, nil, nil, false
		}
		if s&^offMask == tag {
			off := int64(s&offMask) - 1
			if p, k, t := x.split(x.sp.get(off)); p != nil && bytes.Equal(k, key) {
				return off, p, t, true
			}
		}
	}
}

// insert adds a key that lookup did not find, with its payload, and
// returns its record's offset.
func (x *idIndex) insert(h uint64, key, payload []byte) int64 {
	return x.insertTail(h, key, payload, nil)
}

// insertTail is insert for an index with tails.
func (x *idIndex) insertTail(h uint64, key, payload, tail []byte) int64 {
	var off int64
	if x.tails {
		var n [binary.MaxVarintLen64]byte
		off = x.sp.put(payload, n[:binary.PutUvarint(n[:], uint64(len(key)))], key, tail)
	} else {
		off = x.sp.put(payload, key)
	}
	x.n++
	if x.n*4 > len(x.slots)*3 {
		if x.shift == offBits {
			x.sp.fail(errTooLarge) // more than 3/4 of 2^28 keys
			return off
		}
		x.grow()
	}
	x.place(h>>offBits<<offBits | uint64(off+1))
	return off
}

func (x *idIndex) place(s uint64) {
	mask := uint64(len(x.slots) - 1)
	for i := s >> x.shift; ; i = (i + 1) & mask {
		if x.slots[i] == 0 {
			x.slots[i] = s
			return
		}
	}
}

// grow doubles the table. The home slot comes from the hash's high bits,
// which the slots keep, so no key is read back.
func (x *idIndex) grow() {
	old := x.slots
	x.slots = newTable(2 * len(old))
	x.shift--
	for _, s := range old {
		if s != 0 {
			x.place(s)
		}
	}
	freeTable(old)
}

// payload encoding: fixed-size little-endian int64s.
func pack(dst []byte, vs ...int64) []byte {
	dst = dst[:0]
	for _, v := range vs {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	return dst
}

func word(p []byte, i int) int64 { return int64(binary.LittleEndian.Uint64(p[8*i:])) }
