package check

import (
	"bytes"
	"hash/maphash"
)

var idSeed = maphash.MakeSeed()

// hashID hashes an id's bytes (the runtime's AES hash): done in the
// parallel workers, so that the sequential merger only touches uint64 keys.
func hashID(b []byte) uint64 { return maphash.Bytes(idSeed, b) }

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

// idIndex maps ids to entry numbers by their hash, keeping the ids' bytes in
// one arena so that a hash collision is told apart from a repeat: the answer
// is exact, and memory is the ids themselves plus a few words each.
type idIndex struct {
	arena   []byte
	byHash  map[uint64]int32
	spans   []span
	collide map[string]int32 // ids whose hash another id already holds
}

// newIDIndex returns an index sized for about n ids.
func newIDIndex(n int) *idIndex {
	return &idIndex{byHash: make(map[uint64]int32, n), spans: make([]span, 0, n), arena: make([]byte, 0, 12*n)}
}

func (x *idIndex) bytes(i int32) []byte {
	s := x.spans[i]
	return x.arena[s.off : s.off+s.n]
}

// lookup returns the entry of id, whose hash is h.
func (x *idIndex) lookup(h uint64, id []byte) (int32, bool) {
	i, ok := x.byHash[h]
	if !ok {
		return 0, false
	}
	if bytes.Equal(x.bytes(i), id) {
		return i, true
	}
	i, ok = x.collide[string(id)]
	return i, ok
}

// insert adds an id that lookup did not find and returns its entry.
func (x *idIndex) insert(h uint64, id []byte) int32 {
	i := int32(len(x.spans))
	x.spans = append(x.spans, span{int32(len(x.arena)), int32(len(id))})
	x.arena = append(x.arena, id...)
	if _, taken := x.byHash[h]; !taken {
		x.byHash[h] = i
		return i
	}
	if x.collide == nil {
		x.collide = map[string]int32{}
	}
	x.collide[string(id)] = i
	return i
}
