package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
)

const fakeKonnektivePW = "cli-fake-pass-9"

// startFakeKonnektive runs the real binary and returns its URL once it
// listens, and the running command.
func startFakeKonnektive(t *testing.T, args ...string) (string, *exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(konduitBin, append([]string{"fake-konnektive", "--addr", "127.0.0.1:0", "--login-id", "demo_api"}, args...)...)
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
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("fake-konnektive ended: %s", stderr)
		}
		m := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(line)
		if m == "" {
			t.Fatalf("no address in %q", line)
		}
		go func() {
			for range lines {
			}
		}()
		return m, cmd, stderr
	case <-time.After(60 * time.Second):
		t.Fatalf("fake-konnektive did not start: %s", stderr)
	}
	return "", nil, nil
}

func TestFakeKonnektiveServesAndStops(t *testing.T) {
	base, cmd, stderr := startFakeKonnektive(t, "--customers", "40", "--seed", "5", "--timezone", "America/Chicago", "--as-of", "2026-05-31", "--deny", "product/query")
	loc, _ := time.LoadLocation("America/Chicago")
	c, err := konnektive.New(konnektive.Config{BaseURL: base, LoginID: "demo_api", Password: fakeKonnektivePW, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rows := 0
	err = c.Walk(ctx, konnektive.Transactions, konnektive.Query{StartDate: crm.Date{Year: 2025, Month: 1, Day: 1}, EndDate: crm.Date{Year: 2026, Month: 5, Day: 31}}, func(p konnektive.Page) error {
		rows += p.Len()
		return nil
	})
	if err != nil || rows < 50 {
		t.Fatalf("walk: %d rows, %v", rows, err)
	}
	// The denied endpoint is refused with the permission's name.
	err = c.Walk(ctx, konnektive.Products, konnektive.Query{}, func(konnektive.Page) error { return nil })
	var ae *konnektive.AuthError
	if !strings.Contains(err.Error(), "does not have access") || !errors.As(err, &ae) || !strings.Contains(ae.Hint(), "Product Query") {
		t.Errorf("denied endpoint: %v", err)
	}
	// A GET with a wrong password is an HTTP 200 ERROR.
	resp, err := http.Get(base + "/order/query/?" + url.Values{"loginId": {"demo_api"}, "password": {"wrong"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var env struct{ Result, Message string }
	if json.Unmarshal(body, &env) != nil || resp.StatusCode != 200 || env.Result != "ERROR" || !strings.Contains(env.Message, "login") {
		t.Errorf("wrong password: %d %s", resp.StatusCode, body)
	}

	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after Ctrl-C: %v; stderr %s", err, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on SIGINT")
	}
	if strings.Contains(stderr.String(), fakeKonnektivePW) {
		t.Error("the password appeared in the log")
	}
}

func TestFakeKonnektiveUsage(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no password", []string{"KONNEKTIVE_PASSWORD="}, []string{"--login-id", "a"}, "KONNEKTIVE_PASSWORD"},
		{"no login", []string{"KONNEKTIVE_PASSWORD=x"}, nil, "--login-id"},
		{"public address", []string{"KONNEKTIVE_PASSWORD=x"}, []string{"--login-id", "a", "--addr", "0.0.0.0:9"}, "loopback"},
		{"bad zone", []string{"KONNEKTIVE_PASSWORD=x"}, []string{"--login-id", "a", "--timezone", "Mars/Base"}, "--timezone"},
		{"bad allow-list", []string{"KONNEKTIVE_PASSWORD=x"}, []string{"--login-id", "a", "--allow-ip", "nope"}, "allow-list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.env, append([]string{"fake-konnektive", "--customers", "1"}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, tt.want)
			}
		})
	}
}
