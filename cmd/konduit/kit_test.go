package main

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKitCLI(t *testing.T) {
	dir := t.TempDir()
	pub, sec, fpr := cliKeygen(t, dir, "recv")
	os.WriteFile(filepath.Join(dir, "aoc.pdf"), []byte("%PDF attestation"), 0o644)
	// The host key the drop box created, as sftp serve makes it.
	srv := startServe(t, dir)
	base := []string{"kit", "--public-key", pub, "--aoc", "aoc.pdf", "--host", "drop.example.test", "--port", "2022",
		"--user", "processor", "--path", "/incoming", "--receiver", "Acme"}
	r := runCLI(t, dir, nil, append(base, "--host-key-file", filepath.Join(dir, "host_key"), "-o", "kit.zip")...)
	if r.code != 0 {
		t.Fatalf("kit: %d %s", r.code, r.stderr)
	}
	zr, err := zip.OpenReader(filepath.Join(dir, "kit.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var all strings.Builder
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		all.Write(b)
	}
	text := all.String()
	for _, want := range []string{fpr, srv.fingerprint, "drop.example.test", "2022", "/incoming", "%PDF attestation", "BEGIN PGP PUBLIC KEY BLOCK"} {
		if !strings.Contains(text, want) {
			t.Errorf("kit lacks %q", want)
		}
	}
	if strings.Contains(text, "s3cret") || strings.Contains(text, "PRIVATE KEY") {
		t.Fatal("the kit holds a password or a private key")
	}
	// A private key instead of the public one is refused; so is a kit
	// without a way to check the drop box.
	if r := runCLI(t, dir, nil, append(base, "--public-key", sec, "--host-key-fingerprint", srv.fingerprint, "-o", "k2.zip")...); r.code != exitUsage || !strings.Contains(r.stderr, "PRIVATE") {
		t.Fatalf("private key: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, nil, append(base, "-o", "k3.zip")...); r.code != exitUsage {
		t.Fatalf("no host key: %d %s", r.code, r.stderr)
	}
	for _, f := range []string{"k2.zip", "k3.zip"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s was written after an error", f)
		}
	}
}
