//go:build race

package check

// Under the race detector the large generated test runs on fewer rows.
const raceEnabled = true
