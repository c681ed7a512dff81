package failpoint

import "testing"

func TestHit(t *testing.T) {
	defer func() { kill, stop = killSelf, interruptSelf; arm("") }()
	for _, tc := range []struct {
		env   string
		hits  []string
		kills int // which hit (1-based) kills; 0 for none
	}{
		{"", []string{"a", "a"}, 0},
		{"a", []string{"b", "a", "a"}, 2},
		{"a:3", []string{"a", "b", "a", "a", "a"}, 4},
		{"a:0", []string{"a", "a"}, 0},
		{"a:x", []string{"a"}, 0},
		{"a:2:int", []string{"a", "a", "a"}, -2},
		{"a:2:hup", []string{"a", "a"}, 0},
	} {
		arm(tc.env)
		killed := 0
		i := 0
		kill = func() { killed = i }
		stop = func() { killed = -i }
		for i = 1; i <= len(tc.hits); i++ {
			Hit(tc.hits[i-1])
		}
		if killed != tc.kills {
			t.Errorf("%q: killed at hit %d, want %d", tc.env, killed, tc.kills)
		}
	}
}
