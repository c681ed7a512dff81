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
	"net/url"
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

// adminOnly refuses a viewer even what they could otherwise read (the
// users page); requireLogin has already refused them every change.
func (s *Server) adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if se, ok := r.Context().Value(sessionKey{}).(session); !ok || se.role != RoleAdmin {
			http.Error(w, "only the admin manages users", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// endUser ends every session of user but keep (the one making the
// change, when it is theirs).
func (s *sessions) endUser(user, keep string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, se := range s.byID {
		if se.user == user && id != keep {
			delete(s.byID, id)
			n++
		}
	}
	return n
}

// userRoutes are the users page (admin only): the viewers, adding one or
// setting their password, removing one, and the admin's own password.
func (s *Server) userRoutes(mux *routeMux, auth func(http.HandlerFunc) http.Handler) {
	mux.Handle("GET /users", auth(s.adminOnly(s.usersPage)))
	mux.Handle("POST /users", auth(s.adminOnly(s.addViewer)))
	mux.Handle("POST /users/{name}/remove", auth(s.adminOnly(s.removeViewer)))
	mux.Handle("POST /users/password", auth(s.adminOnly(s.changeAdminPassword)))
}

// usersPage lists the viewers; done names what the last change did.
func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	s.renderUsers(w, r, http.StatusOK, usersFlash(r.URL.Query()), "", "")
}

// usersFlash is the message a redirect after a change carries.
func usersFlash(q url.Values) string {
	name := q.Get("name")
	if !validViewerName.MatchString(name) {
		name = ""
	}
	switch q.Get("done") {
	case "added":
		return fmt.Sprintf("Viewer %s added: give them their name and password yourself.", name)
	case "set":
		return fmt.Sprintf("New password set for %s; their sessions were ended.", name)
	case "removed":
		return fmt.Sprintf("Viewer %s removed; their sessions were ended.", name)
	case "password":
		return "Your password was changed; your other sessions were ended."
	}
	return ""
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, status int, flash, errMsg, name string) {
	names, err := Viewers(s.viewersFile())
	if err != nil {
		s.fail(w, r, "list viewers", err)
		return
	}
	s.render(w, r, status, "users", page{Title: "Users", Nav: "users", Flash: flash, Error: errMsg,
		Data: map[string]any{"Viewers": names, "Min": MinPasswordLen, "Name": name}})
}

// addViewer adds a viewer with the password the admin chose, or sets an
// existing viewer's new password (ending their sessions). The password is
// hashed (bcrypt) and never logged or shown.
func (s *Server) addViewer(w http.ResponseWriter, r *http.Request) {
	name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
	pw, again := r.PostFormValue("password"), r.PostFormValue("confirm")
	if pw != again {
		s.renderUsers(w, r, http.StatusBadRequest, "", "The two passwords differ.", name)
		return
	}
	existed := viewerExists(s.viewersFile(), name)
	if err := SetViewer(r.Context(), s.viewersFile(), name, pw); err != nil {
		s.renderUsers(w, r, http.StatusBadRequest, "", strings.TrimPrefix(err.Error(), "set viewer: "), name)
		return
	}
	done := "added"
	if existed {
		done = "set"
		s.sessions.endUser(name, "")
	}
	s.log.Info("dashboard: viewer "+done, "viewer", name)
	http.Redirect(w, r, "/users?"+url.Values{"done": {done}, "name": {name}}.Encode(), http.StatusSeeOther)
}

// removeViewer removes a viewer and ends their sessions at once.
func (s *Server) removeViewer(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := RemoveViewer(r.Context(), s.viewersFile(), name); err != nil {
		s.renderUsers(w, r, http.StatusNotFound, "", strings.TrimPrefix(err.Error(), "remove viewer: "), "")
		return
	}
	s.sessions.endUser(name, "")
	s.log.Info("dashboard: viewer removed", "viewer", name)
	http.Redirect(w, r, "/users?"+url.Values{"done": {"removed"}, "name": {name}}.Encode(), http.StatusSeeOther)
}

// changeAdminPassword sets the admin's new password after checking the
// current one (an attempt counted by the login limiter), and ends the
// admin's other sessions.
func (s *Server) changeAdminPassword(w http.ResponseWriter, r *http.Request) {
	addr := clientKey(r.RemoteAddr)
	if d, ok := s.limiter.reserve(addr); !ok {
		names, _ := Viewers(s.viewersFile())
		s.tooManyAttempts(w, r, "users", page{Title: "Users", Nav: "users", Data: map[string]any{"Viewers": names, "Min": MinPasswordLen}}, d)
		return
	}
	cur, pw, again := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("confirm")
	ok, err := s.limiter.check(r.Context(), func() (bool, error) { return checkAdminPassword(s.opts.AdminFile, cur) })
	if err != nil {
		s.fail(w, r, "change password", err)
		return
	}
	if !ok {
		s.log.Warn("dashboard: wrong current password on a password change", "remote", r.RemoteAddr)
		s.renderUsers(w, r, http.StatusUnauthorized, "", "The current password is wrong.", "")
		return
	}
	s.limiter.succeeded(addr)
	if pw != again {
		s.renderUsers(w, r, http.StatusBadRequest, "", "The two new passwords differ.", "")
		return
	}
	if err := SetAdminPassword(r.Context(), s.opts.AdminFile, pw); err != nil {
		s.renderUsers(w, r, http.StatusBadRequest, "", strings.TrimPrefix(err.Error(), "set admin password: "), "")
		return
	}
	keep := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		keep = c.Value
	}
	s.sessions.endUser(AdminUser, keep)
	s.log.Info("dashboard: admin password changed")
	http.Redirect(w, r, "/users?done=password", http.StatusSeeOther)
}
