// Command validate-bench measures `konduit validate`'s engine against the
// standard library's encoding/csv merely parsing the same file, in one
// process per measurement so peak memory is each one's own.
//
//	go run ./bench/validate gen -rows 300000 -o /tmp/bench   # write the file
//	go run ./bench/validate csv /tmp/bench/legacy_transactions.csv
//	go run ./bench/validate check /tmp/bench/legacy_transactions.csv
//
// bench/validate.sh runs the whole comparison and prints the ratio.
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate-bench gen|csv|check ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "csv":
		err = measure(os.Args[2], parseCSV)
	case "check":
		err = measure(os.Args[2], validate)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate-bench:", err)
		os.Exit(1)
	}
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	rows := fs.Int("rows", 300000, "transaction rows")
	out := fs.String("o", ".", "output directory")
	fs.Parse(args)
	st, err := synth.WriteLegacy(context.Background(), synth.Options{MaxRows: *rows, Seed: 1, AsOf: crm.Date{Year: 2025, Month: 6, Day: 30}}, *out)
	if err != nil {
		return err
	}
	fmt.Printf("%+v\n", st)
	return nil
}

func parseCSV(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func validate(path string) (int, error) {
	rep, err := check.Validate(context.Background(), legacy.FileInputs([]string{path}), check.Options{AsOf: "2025-06-30", MaxFindings: 10})
	if err != nil {
		return 0, err
	}
	if rep.Errors() > 0 {
		return 0, fmt.Errorf("%d errors in a clean file", rep.Errors())
	}
	return rep.Files[0].Rows, nil
}

// measure prints: seconds, MB/s, rows, peak RSS in MiB.
func measure(path string, fn func(string) (int, error)) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if prof := os.Getenv("CPUPROFILE"); prof != "" {
		pf, err := os.Create(prof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	n, err := fn(path)
	if err != nil {
		return err
	}
	d := time.Since(start)
	if prof := os.Getenv("MEMPROFILE"); prof != "" { // what was allocated, by site (go tool pprof -sample_index=alloc_space)
		pf, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.Lookup("allocs").WriteTo(pf, 0); err != nil {
			return err
		}
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("%.3f %.1f %d %.1f\n", d.Seconds(), float64(st.Size())/1e6/d.Seconds(), n, float64(ru.Maxrss)/1024)
	return nil
}
