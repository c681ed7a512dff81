package check

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/bits"
	"os"
)

var idSeed = maphash.MakeSeed()

// hashID hashes an id's bytes (the runtime's AES hash): done in the
// parallel workers, so that the sequential merger only touches uint64 keys.
func hashID(b []byte) uint64 { return maphash.Bytes(idSeed, b) }

// keyHash hashes the ids the cross-row indexes are keyed by (merchantTxnId,
// orderId, customerId, parent references, active rows' emails). It is
// hashID; tests replace it with a weak hash to force collisions: the
// indexes' answers must not change.
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

// The cross-row indexes (merchantTxnIds, orderIds, customerIds, emails)
// hold fixed-size entries only: an open-addressing table of 64-bit slots
// (the high 32 bits of the id's hash, and the entry number) and, per entry,
// where its id's bytes are in the spill. The bytes themselves are written to
// the spill (an unlinked 0600 temporary file once they outgrow a small
// buffer) and read back only to confirm a candidate whose hash bits match:
// the answers are exact, whatever the hash does, and memory is about 21
// bytes an id instead of the id itself plus a map entry.

// column is an append-only array in fixed blocks: growing it never copies
// nor doubles what it holds (memory is what it holds, plus at most one
// block).
type column[T any] struct {
	blocks [][]T
	n      int
}

const colBits = 16 // 65,536 entries a block

func (c *column[T]) add(v T) {
	b := c.n >> colBits
	if b == len(c.blocks) {
		c.blocks = append(c.blocks, nil)
	}
	if b == 0 {
		c.blocks[0] = append(c.blocks[0], v) // the first block grows: small files stay small
	} else {
		if c.blocks[b] == nil {
			c.blocks[b] = make([]T, 0, 1<<colBits)
		}
		c.blocks[b] = append(c.blocks[b], v)
	}
	c.n++
}

func (c *column[T]) at(i int) *T { return &c.blocks[i>>colBits][i&(1<<colBits-1)] }
func (c *column[T]) len() int    { return c.n }

// spill holds bytes written once and read back by offset: a buffer, then
// an unlinked temporary file (created 0600 and removed at once where the
// system allows, else when the validation ends). Offsets address the bytes
// written so far; each record is a uvarint length and the bytes.
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
var spillBuffer = 1 << 20

// put appends b and returns its offset.
func (s *spill) put(b []byte) int64 {
	off := s.base + int64(len(s.buf))
	s.buf = binary.AppendUvarint(s.buf, uint64(len(b)))
	s.buf = append(s.buf, b...)
	if len(s.buf) >= spillBuffer {
		s.flush()
	}
	return off
}

func (s *spill) flush() {
	if s.err != nil {
		s.buf = s.buf[:0]
		return
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "konduit-check-*")
		if err != nil {
			s.err = fmt.Errorf("check: spill file: %w", err)
			s.buf = s.buf[:0]
			return
		}
		s.f = f
		if err := f.Chmod(0o600); err != nil {
			s.err = fmt.Errorf("check: spill file: %w", err)
		}
		if os.Remove(f.Name()) != nil {
			s.name = f.Name() // removed by close
		}
	}
	if _, err := s.f.Write(s.buf); err != nil && s.err == nil {
		s.err = fmt.Errorf("check: spill file: %w", err)
	}
	s.base += int64(len(s.buf))
	s.buf = s.buf[:0]
}

// get returns the bytes put at off, valid until the next get.
func (s *spill) get(off int64) []byte {
	if off >= s.base {
		b := s.buf[off-s.base:]
		n, k := binary.Uvarint(b)
		return b[k : k+int(n)]
	}
	if s.err != nil {
		return nil
	}
	s.scratch = s.scratch[:cap(s.scratch)]
	if len(s.scratch) < 64 {
		s.scratch = make([]byte, 64)
	}
	b := s.read(off, s.scratch[:64])
	n, k := binary.Uvarint(b)
	if k <= 0 {
		s.fail(errors.New("bad record"))
		return nil
	}
	if need := k + int(n); need > len(b) {
		if need > cap(s.scratch) {
			s.scratch = make([]byte, need)
		}
		b = s.read(off, s.scratch[:need])
		if len(b) < need {
			s.fail(io.ErrUnexpectedEOF)
			return nil
		}
	}
	return b[k : k+int(n)]
}

// read reads len(b) bytes at off, or as many as there are.
func (s *spill) read(off int64, b []byte) []byte {
	end := off + int64(len(b))
	if end > s.base {
		// The tail of the record is still in the buffer.
		n := copy(b, s.readFile(off, int(s.base-off)))
		return b[:n+copy(b[n:], s.buf[:min(end-s.base, int64(len(s.buf)))])]
	}
	return s.readFile(off, len(b))
}

func (s *spill) readFile(off int64, n int) []byte {
	b := s.scratch[:0]
	if n <= cap(s.scratch) {
		b = s.scratch[:n]
	} else {
		b = make([]byte, n)
	}
	m, err := s.f.ReadAt(b, off)
	if err != nil && err != io.EOF {
		s.fail(err)
	}
	return b[:m]
}

func (s *spill) fail(err error) {
	if s.err == nil {
		s.err = fmt.Errorf("check: spill file: %w", err)
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

// idIndex maps ids to entry numbers (0, 1, 2, ... in insertion order).
type idIndex struct {
	sp    *spill
	slots []uint64 // hash's high 32 bits << 32 | entry+1; 0 is empty
	shift uint     // 64 - log2(len(slots)): a hash's home slot is h >> shift
	offs  column[int64]
}

// newIDIndex returns an index sized for about n ids, spilling ids to sp.
func newIDIndex(n int, sp *spill) *idIndex {
	size := 8
	for size*3 < n*4 {
		size *= 2
	}
	return &idIndex{sp: sp, slots: make([]uint64, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

func (x *idIndex) len() int { return x.offs.len() }

// bytes returns a copy of entry i's id.
func (x *idIndex) bytes(i int32) []byte {
	return bytes.Clone(x.sp.get(*x.offs.at(int(i))))
}

// lookup returns the entry of id, whose hash is h.
func (x *idIndex) lookup(h uint64, id []byte) (int32, bool) {
	tag := h >> 32 << 32
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if s&^0xffffffff == tag {
			e := int32(uint32(s) - 1)
			if bytes.Equal(x.sp.get(*x.offs.at(int(e))), id) {
				return e, true
			}
		}
	}
}

// insert adds an id that lookup did not find and returns its entry.
func (x *idIndex) insert(h uint64, id []byte) int32 {
	e := int32(x.offs.len())
	x.offs.add(x.sp.put(id))
	if (x.offs.len())*4 > len(x.slots)*3 {
		x.grow()
	}
	x.place(h>>32<<32 | uint64(uint32(e)+1))
	return e
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
// which the slots keep, so no id is read back.
func (x *idIndex) grow() {
	old := x.slots
	x.slots = make([]uint64, 2*len(old))
	x.shift--
	for _, s := range old {
		if s != 0 {
			x.place(s)
		}
	}
}
