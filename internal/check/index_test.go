package check

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/legacy"
)

// TestIDIndexCollisions forces every key onto one hash: answers stay exact,
// with the records in the buffer and in the spill file.
func TestIDIndexCollisions(t *testing.T) {
	for _, buf := range []int{1, 1 << 20} {
		t.Run(fmt.Sprint(buf), func(t *testing.T) {
			defer setSpillBuffer(buf)()
			sp := &spill{}
			defer sp.close()
			x := newIDIndex(0, 8, sp)
			defer x.free()
			ids := []string{"T1", "T2", "T3", "T10", ""}
			offs := map[string]int64{}
			for i, id := range ids {
				if _, _, ok := x.lookup(42, []byte(id)); ok {
					t.Fatalf("%s found before insert", id)
				}
				offs[id] = x.insert(42, []byte(id), pack(nil, int64(i)))
			}
			for want, id := range ids {
				off, p, ok := x.lookup(42, []byte(id))
				if !ok || off != offs[id] || word(p, 0) != int64(want) || string(keyAt(x, off)) != id {
					t.Fatalf("lookup %q = %d %v", id, off, ok)
				}
			}
			if _, _, ok := x.lookup(42, []byte("T4")); ok {
				t.Fatal("T4 found")
			}
			if sp.err != nil {
				t.Fatal(sp.err)
			}
		})
	}
}

// TestIDIndexTails: an index with tails tells a key from a longer key
// whose bytes continue into the tail (T1 with tail 0X, T10 with tail X),
// under one hash, and gives each key's tail back.
func TestIDIndexTails(t *testing.T) {
	for _, buf := range []int{1, 1 << 20} {
		defer setSpillBuffer(buf)()
		sp := &spill{}
		x := newIDIndex(0, 8, sp)
		x.tails = true
		entries := [][2]string{{"T1", "0X"}, {"T10", "X"}, {"", "C"}, {"T", ""}}
		for i, e := range entries {
			if _, _, _, ok := x.find(7, []byte(e[0])); ok {
				t.Fatalf("%q found before insert", e[0])
			}
			x.insertTail(7, []byte(e[0]), pack(nil, int64(i)), []byte(e[1]))
		}
		for i, e := range entries {
			_, p, tail, ok := x.find(7, []byte(e[0]))
			if !ok || word(p, 0) != int64(i) || string(tail) != e[1] {
				t.Fatalf("buffer %d: %q: found %v, payload %d, tail %q", buf, e[0], ok, word(p, 0), tail)
			}
		}
		if _, _, _, ok := x.find(7, []byte("T10X")); ok || sp.err != nil {
			t.Fatalf("T10X found, or %v", sp.err)
		}
		x.free()
		sp.close()
	}
}

// keyAt returns the key of the record at off.
func keyAt(x *idIndex, off int64) []byte {
	_, k, _ := x.split(x.sp.get(off))
	return bytes.Clone(k)
}

func setSpillBuffer(n int) (restore func()) {
	old := spillBuffer
	spillBuffer = n
	return func() { spillBuffer = old }
}

// TestIDIndexProperty: on random keys (short and long, some repeated) under
// a weak hash (16 values, so that most keys collide) or the real one, with
// the spill in memory or in its file, the index answers as a map does, and
// gives each key's payload back.
func TestIDIndexProperty(t *testing.T) {
	hashes := map[string]func([]byte) uint64{
		"weak": func(b []byte) uint64 { return hashID(b) & 0xf << 60 },
		"real": hashID,
	}
	for name, hash := range hashes {
		for _, buf := range []int{64, 1 << 20} {
			t.Run(fmt.Sprint(name, buf), func(t *testing.T) {
				defer setSpillBuffer(buf)()
				rng := rand.New(rand.NewPCG(1, uint64(buf)))
				sp := &spill{}
				defer sp.close()
				x := newIDIndex(0, 16, sp)
				defer x.free()
				ref := map[string]int64{}
				offs := map[string]int64{}
				for i := range 20000 {
					n := rng.IntN(6)
					if rng.IntN(50) == 0 {
						n = 100 + rng.IntN(300) // longer than a read's first 128 bytes
					}
					k := make([]byte, n)
					for j := range k {
						k[j] = "ab\x00\xff"[rng.IntN(4)]
					}
					off, p, ok := x.lookup(hash(k), k)
					want, had := ref[string(k)]
					if ok != had {
						t.Fatalf("key %q: found %v, map has it %v", k, ok, had)
					}
					if ok {
						if off != offs[string(k)] || word(p, 0) != want || word(p, 1) != -want || !bytes.Equal(keyAt(x, off), k) {
							t.Fatalf("key %q: record %d payload %d, want %d %d", k, off, word(p, 0), offs[string(k)], want)
						}
						continue
					}
					ref[string(k)] = int64(i)
					offs[string(k)] = x.insert(hash(k), k, pack(nil, int64(i), -int64(i)))
				}
				if x.n != len(ref) || sp.err != nil {
					t.Fatalf("%d entries for %d keys; %v", x.n, len(ref), sp.err)
				}
			})
		}
	}
}

// TestSpillFileNeverNamed: the spill file is created 0600 and unlinked at
// once, so a validation that spills leaves nothing behind, whether it ends
// or is cancelled, and no name for it exists while it runs.
func TestSpillFileNeverNamed(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	defer setSpillBuffer(1)()
	var rows []row
	for i := range 4000 {
		rows = append(rows, baseRow(i+1))
	}
	content := csvOf(legacy.Transactions, rows...)
	seen := map[string]bool{}
	look := func() {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			seen[e.Name()] = true
		}
	}
	for _, cancel := range []bool{false, true} {
		ctx, stop := context.WithCancel(context.Background())
		in := []legacy.Input{{Name: "t.csv", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(&watched{r: strings.NewReader(content), each: func(n int) {
				look()
				if cancel && n > 200 {
					stop()
				}
			}}), nil
		}}}
		rep, err := Validate(ctx, in, Options{AsOf: asOf, Workers: 2})
		stop()
		if cancel != (err != nil) || (!cancel && rep.Errors() != 0) {
			t.Fatalf("cancel %v: %v", cancel, err)
		}
		look()
	}
	if len(seen) > 0 {
		t.Fatalf("files in the temporary directory: %v", seen)
	}
}

// watched calls each before every read (with the reads so far).
type watched struct {
	r    io.Reader
	n    int
	each func(int)
}

func (w *watched) Read(p []byte) (int, error) {
	w.n++
	w.each(w.n)
	time.Sleep(time.Millisecond) // the merger catches up, and spills, while reading goes on
	return w.r.Read(p[:min(len(p), 4096)])
}
