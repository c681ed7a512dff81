package check

import "testing"

// TestIDIndexCollisions forces every id onto one hash: answers stay exact.
func TestIDIndexCollisions(t *testing.T) {
	sp := &spill{}
	defer sp.close()
	x := newIDIndex(0, sp)
	ids := []string{"T1", "T2", "T3", "T10"}
	for _, id := range ids {
		if _, ok := x.lookup(42, []byte(id)); ok {
			t.Fatalf("%s found before insert", id)
		}
		x.insert(42, []byte(id))
	}
	for want, id := range ids {
		i, ok := x.lookup(42, []byte(id))
		if !ok || int(i) != want || string(x.bytes(i)) != id {
			t.Fatalf("lookup %s = %d %v", id, i, ok)
		}
	}
	if _, ok := x.lookup(42, []byte("T4")); ok {
		t.Fatal("T4 found")
	}
}
