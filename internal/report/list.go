package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// MaxCell bounds a cell (days or months since the first sale).
const MaxCell = 100000

// ParseCells reads a comma-separated list of non-negative whole numbers
// ("0,7,30"), as --days and --months take them, sorted and without repeats.
func ParseCells(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty list")
	}
	seen := map[int]bool{}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || n > MaxCell || strings.HasPrefix(part, "+") {
			return nil, fmt.Errorf("%q is not a whole number from 0 to %d", part, MaxCell)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}
