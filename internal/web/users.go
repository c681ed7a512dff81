package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/konduit/konduit/internal/atomicfile"
)

// Users: one admin (AdminFile) and any number of read-only viewers, each
// with a name and their own password, kept as "name:bcrypt-hash" lines in
// ViewersFile (mode 0600, beside the admin file). A viewer reads every page
// and download; every request that is not a GET or HEAD is refused to a
// viewer with 403 before it reaches its handler (requireLogin), so no
// route can change state for a viewer, whichever is added later.

// AdminUser is the admin's login name.
const AdminUser = "admin"

// Role is what a session may do.
type Role int

// The roles.
const (
	RoleAdmin  Role = iota // everything
	RoleViewer             // reads pages and downloads only
)

// validViewerName: what a viewer's name may be.
var validViewerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ViewersFilePath is where the viewers of an admin file are kept.
func ViewersFilePath(adminFile string) string { return adminFile + ".viewers" }

type viewer struct {
	name string
	hash []byte
}

// readViewers reads the viewers file; none when it does not exist.
func readViewers(path string) ([]viewer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read viewers: %w", err)
	}
	var vs []viewer
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, hash, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || !validViewerName.MatchString(name) {
			continue
		}
		vs = append(vs, viewer{name: name, hash: []byte(hash)})
	}
	return vs, nil
}

func writeViewers(ctx context.Context, path string, vs []viewer) error {
	return atomicfile.Write(ctx, path, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		for _, v := range vs {
			if _, err := fmt.Fprintf(w, "%s:%s\n", v.name, v.hash); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetViewer adds the viewer name with password to the viewers file, or
// changes their password.
func SetViewer(ctx context.Context, path, name, password string) error {
	if !validViewerName.MatchString(name) || name == AdminUser {
		return fmt.Errorf("set viewer: %q is not a viewer name (lowercase letters, digits, . _ -, at most 64; not %q)", name, AdminUser)
	}
	if len(password) < MinPasswordLen {
		return fmt.Errorf("set viewer: at least %d characters are needed", MinPasswordLen)
	}
	if len(password) > 72 {
		return errors.New("set viewer: at most 72 bytes (bcrypt's limit)")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("set viewer: %w", err)
	}
	vs, err := readViewers(path)
	if err != nil {
		return err
	}
	vs = slices.DeleteFunc(vs, func(v viewer) bool { return v.name == name })
	vs = append(vs, viewer{name: name, hash: hash})
	if err := writeViewers(ctx, path, vs); err != nil {
		return fmt.Errorf("set viewer: %w", err)
	}
	return nil
}

// RemoveViewer removes a viewer; their sessions end at their next request.
func RemoveViewer(ctx context.Context, path, name string) error {
	vs, err := readViewers(path)
	if err != nil {
		return err
	}
	n := len(vs)
	vs = slices.DeleteFunc(vs, func(v viewer) bool { return v.name == name })
	if len(vs) == n {
		return fmt.Errorf("remove viewer: no viewer %q", name)
	}
	if err := writeViewers(ctx, path, vs); err != nil {
		return fmt.Errorf("remove viewer: %w", err)
	}
	return nil
}

// Viewers lists the viewers' names.
func Viewers(path string) ([]string, error) {
	vs, err := readViewers(path)
	var names []string
	for _, v := range vs {
		names = append(names, v.name)
	}
	return names, err
}

// viewerExists says whether name is still a viewer.
func viewerExists(path, name string) bool {
	vs, err := readViewers(path)
	return err == nil && slices.ContainsFunc(vs, func(v viewer) bool { return v.name == name })
}

// checkViewerPassword compares password with the viewer's hash; an
// unknown viewer costs a comparison too, so timing does not tell names.
func checkViewerPassword(path, name, password string) (bool, error) {
	vs, err := readViewers(path)
	if err != nil {
		return false, err
	}
	hash, known := dummyHash(), false
	for _, v := range vs {
		if v.name == name {
			hash, known = v.hash, true
		}
	}
	err = bcrypt.CompareHashAndPassword(hash, []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) || !known {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check viewer password: %w", err)
	}
	return true, nil
}

// dummyHash is compared when the name is unknown: a hash of a random
// password, made once.
var dummyHash = sync.OnceValue(func() []byte {
	tok, _ := NewToken()
	h, _ := bcrypt.GenerateFromPassword([]byte(tok[:32]), bcrypt.DefaultCost)
	return h
})

// readOnly says whether a request's method cannot change state.
func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// routeMux is the server's mux, recording every pattern it is given, so a
// test can go through every route (a viewer's POSTs are refused on all).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}
