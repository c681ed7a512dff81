package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/legacy"
)

// verifyFiles generates legacy import files with konduit synth.
func verifyFiles(t *testing.T, customers string) (dir string, files []string) {
	t.Helper()
	dir = t.TempDir()
	r := runCLI(t, dir, nil, "synth", "-o", "gen", "--customers", customers, "--seed", "9", "--as-of", "2026-05-31", "--timezone", "America/Chicago")
	if r.code != 0 {
		t.Fatalf("synth: exit %d: %s", r.code, r.stderr)
	}
	for _, k := range legacy.Kinds {
		files = append(files, filepath.Join(dir, "gen", k.FileName()))
	}
	return dir, files
}

// startImportFake runs fake-konnektive --import and returns its URL and the
// faults it lists.
func startImportFake(t *testing.T, files []string, extra ...string) (string, []string) {
	t.Helper()
	args := []string{"fake-konnektive", "--addr", "127.0.0.1:0", "--login-id", "demo_api", "--timezone", "America/Chicago", "--import", strings.Join(files, ",")}
	cmd := exec.Command(konduitBin, append(args, extra...)...)
	cmd.Env = append(os.Environ(), "KONNEKTIVE_PASSWORD="+fakeKonnektivePW)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	type result struct {
		url    string
		faults []string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case res.url == "":
				res.url = regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(line)
			case strings.HasPrefix(line, "import fault: "):
				res.faults = append(res.faults, strings.TrimPrefix(line, "import fault: "))
			case strings.HasPrefix(line, "import: "):
				done <- res
				io.Copy(io.Discard, stdout)
				return
			}
		}
		res.err = errors.New("fake-konnektive ended")
		done <- res
	}()
	select {
	case res := <-done:
		if res.err != nil || res.url == "" {
			t.Fatalf("fake-konnektive: %v; stderr %s", res.err, stderr)
		}
		return res.url, res.faults
	case <-time.After(60 * time.Second):
		t.Fatalf("fake-konnektive did not start: %s", stderr)
	}
	return "", nil
}

func verifyArgs(base string, more ...string) []string {
	return append([]string{"verify", "--api-url", base, "--login-id", "demo_api", "--timezone", "America/Chicago", "--rate", "0"}, more...)
}

var verifyEnv = []string{"KONNEKTIVE_PASSWORD=" + fakeKonnektivePW}

func TestVerifyCorrectImport(t *testing.T) {
	dir, files := verifyFiles(t, "150")
	base, faults := startImportFake(t, files)
	if len(faults) != 0 {
		t.Fatalf("faults without --import-faults: %v", faults)
	}
	r := runCLI(t, dir, verifyEnv, verifyArgs(base, files...)...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "verified: ") || !strings.Contains(r.stdout, "no differences") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	checkNoCardNumbers(t, files[0], r.stdout+r.stderr)
}

func TestVerifyBrokenImport(t *testing.T) {
	dir, files := verifyFiles(t, "150")
	base, faults := startImportFake(t, files, "--import-faults")
	if len(faults) < 5 {
		t.Fatalf("faults listed: %v", faults)
	}
	r := runCLI(t, dir, verifyEnv, verifyArgs(base, append([]string{"--format", "json"}, files...)...)...)
	if r.code != exitDataErrors {
		t.Fatalf("exit %d, want %d\nstderr %s", r.code, exitDataErrors, r.stderr)
	}
	var rep struct {
		OK        bool
		Verdict   string
		Requests  int64
		Customers []struct {
			CustomerID  string
			Differences []struct{ Field, MerchantTxnID, ProductID string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if rep.OK || !strings.HasPrefix(rep.Verdict, "DIFFERENCES") || rep.Requests == 0 {
		t.Fatalf("verdict %q ok %v requests %d", rep.Verdict, rep.OK, rep.Requests)
	}
	got := map[string]bool{}
	n := 0
	for _, c := range rep.Customers {
		for _, d := range c.Differences {
			n++
			k := "customer " + c.CustomerID + " field " + d.Field
			if d.MerchantTxnID != "" {
				k += " merchantTxnId " + d.MerchantTxnID
			}
			if d.ProductID != "" {
				k += " productId " + d.ProductID
			}
			got[k] = true
		}
	}
	for _, f := range faults {
		_, k, _ := strings.Cut(f, " ") // drop the kind
		if !got[k] {
			t.Errorf("fault not reported: %s", f)
		}
	}
	if n != len(faults) {
		t.Errorf("%d differences for %d faults:\n%s", n, len(faults), r.stdout)
	}
	if !strings.Contains(r.stderr, "differences") {
		t.Errorf("stderr: %s", r.stderr)
	}
	checkNoCardNumbers(t, files[0], r.stdout+r.stderr)
}

// checkNoCardNumbers fails when any card or bank number of the file appears
// in out.
func checkNoCardNumbers(t *testing.T, file, out string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := legacy.NewReader(f)
	var col map[string]int
	for {
		rec, err := rd.Read()
		if err != nil {
			break
		}
		if col == nil {
			col = map[string]int{}
			for i, h := range rec.Fields {
				col[h] = i
			}
			continue
		}
		for _, name := range []string{legacy.FCardNumber, legacy.FACHAccountNumber, legacy.FACHRoutingNumber} {
			if v := rec.Fields[col[name]]; len(v) > 4 && strings.Contains(out, v) {
				t.Fatalf("%s %s appears in the output", name, legacy.Mask(v))
			}
		}
	}
}

func TestVerifyRefusalsAndUsage(t *testing.T) {
	dir, files := verifyFiles(t, "5")
	base, _ := startImportFake(t, files)
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"wrong password", []string{"KONNEKTIVE_PASSWORD=wrong-pass"}, verifyArgs(base, files[0]), exitRemote, "login"},
		{"no files", verifyEnv, verifyArgs(base), exitUsage, "arg"},
		{"bad format", verifyEnv, verifyArgs(base, "--format", "xml", files[0]), exitUsage, "--format"},
		{"bad strategy", verifyEnv, verifyArgs(base, "--strategy", "guess", files[0]), exitUsage, "--strategy"},
		{"no zone", verifyEnv, []string{"verify", "--api-url", base, "--login-id", "demo_api", files[0]}, exitUsage, "--timezone"},
		{"no password", []string{"KONNEKTIVE_PASSWORD="}, verifyArgs(base, files[0]), exitUsage, "KONNEKTIVE_PASSWORD"},
		{"missing file", verifyEnv, verifyArgs(base, filepath.Join(dir, "nope.csv")), exitUsage, "nope.csv"},
		{"import-faults alone", verifyEnv, []string{"fake-konnektive", "--login-id", "a", "--import-faults"}, exitUsage, "--import"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, dir, tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
			if strings.Contains(r.stderr+r.stdout, fakeKonnektivePW) {
				t.Error("the password appeared in the output")
			}
		})
	}
}

func TestVerifySavedIntegration(t *testing.T) {
	dir, files := verifyFiles(t, "40")
	base, faults := startImportFake(t, files, "--import-faults")
	r := runCLI(t, dir, []string{"KONNEKTIVE_PASSWORD=" + fakeKonnektivePW, "KONDUIT_SECRET_KEY="}, "connect", "konnektive", "--db", "sqlite:k.db",
		"--name", "acme", "--login-id", "demo_api", "--timezone", "America/Chicago", "--api-url", base, "--from", "2025-06-01")
	if r.code != 0 {
		t.Fatalf("connect: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The saved, encrypted password is used: no environment variable now.
	r = runCLI(t, dir, []string{"KONNEKTIVE_PASSWORD=", "KONDUIT_SECRET_KEY="}, "verify", "--db", "sqlite:k.db", "--integration", "acme", "--rate", "0", files[0])
	if r.code != exitDataErrors || !strings.HasPrefix(r.stdout, "DIFFERENCES: ") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range faults {
		_, rest, _ := strings.Cut(f, " ")
		fields := strings.Fields(rest) // customer ID field F ...
		if !strings.Contains(r.stdout, "customer "+fields[1]+" ") || !strings.Contains(r.stdout, "  "+fields[3]) {
			t.Errorf("fault %s not in the report", f)
		}
	}
	// A saved integration keeps its zone.
	r = runCLI(t, dir, []string{"KONDUIT_SECRET_KEY="}, "verify", "--db", "sqlite:k.db", "--timezone", "UTC", files[0])
	if r.code != exitUsage || !strings.Contains(r.stderr, "--timezone") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}
