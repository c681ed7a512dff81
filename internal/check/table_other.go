//go:build !unix

package check

// newTable returns a zeroed table of n slots (on the Go heap here;
// table_unix.go maps it outside).
func newTable(n int) []uint64 { return make([]uint64, n) }

func freeTable([]uint64) {}
