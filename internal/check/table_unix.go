//go:build unix

package check

import (
	"syscall"
	"unsafe"
)

// newTable returns a zeroed table of n slots mapped outside the Go heap
// (anonymous memory: pages cost memory only once written), so that the
// garbage collector neither scans it nor lets the heap grow by its size
// before collecting. freeTable unmaps it.
func newTable(n int) []uint64 {
	if n < 4096 { // small tables: the heap is cheaper than a mapping
		return make([]uint64, n)
	}
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, n)
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n)
}

func freeTable(t []uint64) {
	if len(t) < 4096 {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&t[0])), len(t)*8)
	if syscall.Munmap(b) != nil {
		return // it was a heap slice (the mapping failed): the collector frees it
	}
}
