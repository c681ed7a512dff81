package check

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/legacy"
)

// FuzzValidate: any bytes as a transactions-headed file validate without a
// panic or an error, and every finding names a known rule and a real row.
func FuzzValidate(f *testing.F) {
	clean := csvOf(legacy.Transactions, baseRow(1), baseRow(2))
	f.Add([]byte(clean))
	f.Add([]byte(strings.Replace(clean, "SUCCESS", "success", 1)))
	f.Add([]byte(strings.Replace(clean, "\n", "\r", -1)))
	f.Add([]byte("customerId,dateCreated,noteText\nC1,2025-01-01 00:00:00,\"x\n"))
	f.Add([]byte("\x00\x01\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := []Input{{Name: "f.csv", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(data))), nil }}}
		rep, err := Validate(context.Background(), in, Options{AsOf: "2025-01-31", MaxFindings: -1, MaxRecordBytes: 256, Workers: 2})
		if err != nil {
			t.Fatalf("validate: %v", err)
		}
		for _, fd := range rep.Findings {
			if _, ok := RuleByID(fd.Rule); !ok {
				t.Fatalf("unknown rule %q", fd.Rule)
			}
			if fd.Row < 1 {
				t.Fatalf("finding at row %d: %+v", fd.Row, fd)
			}
		}
	})
}
