// Package failpoint lets a crash test kill the process at a named point in
// the code, so the test dies exactly where it means to instead of wherever a
// poll from outside happened to catch it.
//
// The environment variable KONDUIT_FAILPOINT names one point and a count,
// "name:n": the n-th Hit(name) sends SIGKILL to the process itself (n is 1
// when left out). "name:n:int" sends SIGINT instead (a Ctrl-C at an exact
// point) and returns. Without the variable Hit costs one load of a bool. It
// is read once, at start-up; nothing in the product sets it.
package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// Env is the variable that arms a failpoint.
const Env = "KONDUIT_FAILPOINT"

var (
	armed     bool
	name      string
	at        int64
	interrupt bool
	hits      atomic.Int64
)

func init() { arm(os.Getenv(Env)) }

func arm(v string) {
	armed, name, at, interrupt = false, "", 0, false
	hits.Store(0)
	if v == "" {
		return
	}
	n, count, ok := strings.Cut(v, ":")
	if c, sig, found := strings.Cut(count, ":"); found {
		if sig != "int" {
			return
		}
		count, interrupt = c, true
	}
	at = 1
	if ok {
		c, err := strconv.ParseInt(count, 10, 64)
		if err != nil || c < 1 {
			return
		}
		at = c
	}
	armed, name = true, n
}

// Hit marks that the process reached point; it kills the process when the
// armed failpoint's count is reached.
func Hit(point string) {
	if !armed || point != name {
		return
	}
	if hits.Add(1) == at {
		if interrupt {
			stop()
			return
		}
		kill()
	}
}

// kill and stop are replaced in tests.
var (
	kill = killSelf
	stop = interruptSelf
)
