//go:build !unix

package store

// processAlive cannot tell here: a run is judged by its last sign of life.
func processAlive(pid int) bool { return true }
