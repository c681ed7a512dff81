package atomicfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	ctx := context.Background()
	if err := Write(ctx, path, Options{Perm: 0o600}, func(w io.Writer) error {
		_, err := io.WriteString(w, "hello")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(b) != "hello" || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %q mode %v", b, st.Mode())
	}

	// A failing fill leaves the old content and no temporary file.
	boom := errors.New("boom")
	err := Write(ctx, path, Options{}, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	b, _ = os.ReadFile(path)
	if string(b) != "hello" {
		t.Fatalf("old content replaced: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}

	// A cancelled context renames nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := Write(cctx, filepath.Join(dir, "new.csv"), Options{}, func(w io.Writer) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.csv")); !os.IsNotExist(err) {
		t.Fatal("cancelled write created the file")
	}

	// Never over an input.
	if err := Write(ctx, path, Options{Inputs: []string{path}}, func(w io.Writer) error { return nil }); !errors.Is(err, ErrSameFile) {
		t.Fatalf("err = %v", err)
	}
}

// TestUnnamedWhileWriting: on Linux the file has no name until it is
// complete, so a process killed mid-write leaves nothing behind.
func TestUnnamedWhileWriting(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("O_TMPFILE is Linux only")
	}
	dir := t.TempDir()
	err := Write(context.Background(), filepath.Join(dir, "secret.csv"), Options{Perm: 0o600}, func(w io.Writer) error {
		io.WriteString(w, "plaintext")
		entries, _ := os.ReadDir(dir)
		if len(entries) != 0 {
			t.Errorf("named while writing: %v", entries)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "secret.csv" {
		t.Fatalf("after: %v", entries)
	}
}
