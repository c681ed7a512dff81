package kit

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/pgp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func request(t *testing.T) Request {
	t.Helper()
	pub, err := os.ReadFile("testdata/receiver.pub.asc")
	if err != nil {
		t.Fatal(err)
	}
	return Request{
		Receiver:  "Acme Import Desk",
		PublicKey: pub,
		DropBox: DropBox{Host: "drop.example.test", Port: 2022, User: "processor", Path: "/incoming",
			HostKeyFingerprint: "SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"},
		AOCName: "C:\\docs\\AOC 2024.pdf",
		AOC:     strings.NewReader("%PDF-1.4 attestation"),
		Date:    time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC),
	}
}

func readZip(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		r, _ := f.Open()
		c, _ := io.ReadAll(r)
		files[f.Name] = string(c)
	}
	return files
}

func TestKitContents(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, request(t)); err != nil {
		t.Fatal(err)
	}
	files := readZip(t, buf.Bytes())
	for _, name := range []string{LetterName, KeyName, FingerprintName, DropBoxName, AOCDir + "AOC 2024.pdf"} {
		if _, ok := files[name]; !ok {
			t.Errorf("zip lacks %s (has %v)", name, files)
		}
	}
	if files[AOCDir+"AOC 2024.pdf"] != "%PDF-1.4 attestation" {
		t.Error("AOC content differs")
	}
	if !strings.Contains(files[KeyName], "BEGIN PGP PUBLIC KEY BLOCK") || strings.Contains(files[KeyName], "PRIVATE") {
		t.Error("the key file is not an armored public key")
	}
	golden := filepath.Join("testdata", "README.golden")
	if *update {
		os.WriteFile(golden, []byte(files[LetterName]), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if files[LetterName] != string(want) {
		t.Errorf("letter differs from %s; run go test -update\n%s", golden, files[LetterName])
	}
	if !strings.Contains(files[DropBoxName], "port: 2022") || !strings.Contains(files[FingerprintName], files[LetterName][strings.Index(files[LetterName], "Fingerprint:  ")+14:][:10]) {
		t.Error("drop box or fingerprint file does not match the letter")
	}
}

func TestKitRefuses(t *testing.T) {
	k, err := pgp.Generate(pgp.GenerateOptions{Name: "x", Algorithm: pgp.Curve25519})
	if err != nil {
		t.Fatal(err)
	}
	var priv bytes.Buffer
	k.WritePrivate(&priv, true)
	for name, mutate := range map[string]func(*Request){
		"no host key fingerprint": func(r *Request) { r.DropBox.HostKeyFingerprint = "" },
		"no host":                 func(r *Request) { r.DropBox.Host = "" },
		"no aoc":                  func(r *Request) { r.AOC = nil },
		"not a key":               func(r *Request) { r.PublicKey = []byte("hello") },
		"private key":             func(r *Request) { r.PublicKey = priv.Bytes() },
	} {
		r := request(t)
		mutate(&r)
		if err := Write(context.Background(), io.Discard, r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
