package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/store"
)

// sessionCookie names the session cookie.
const sessionCookie = "konduit_session"

// MinPasswordLen is the shortest admin password accepted.
const MinPasswordLen = 10

// ErrNoAdmin says no admin password is set yet.
var ErrNoAdmin = errors.New("no admin password is set")

// SetAdminPassword hashes password with bcrypt and writes the hash to path
// (mode 0600, written whole or not at all).
func SetAdminPassword(ctx context.Context, path, password string) error {
	if len(password) < MinPasswordLen {
		return fmt.Errorf("set admin password: at least %d characters are needed", MinPasswordLen)
	}
	if len(password) > 72 {
		return errors.New("set admin password: at most 72 bytes (bcrypt's limit)")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("set admin password: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("set admin password: %w", err)
	}
	return atomicfile.Write(ctx, path, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		_, err := w.Write(append(hash, '\n'))
		return err
	})
}

// AdminPasswordSet says whether path holds an admin password hash.
func AdminPasswordSet(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read admin password: %w", err)
	}
	return true, nil
}

// checkAdminPassword compares password with the hash in path.
func checkAdminPassword(path, password string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, ErrNoAdmin
	}
	if err != nil {
		return false, fmt.Errorf("read admin password: %w", err)
	}
	err = bcrypt.CompareHashAndPassword(bytes.TrimSpace(b), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check admin password: %w", err)
	}
	return true, nil
}

// sessions are kept in memory: a restart logs everyone out.
type sessions struct {
	mu   sync.Mutex
	byID map[string]session
	ttl  time.Duration
	now  func() time.Time
}

// session is who is logged in, and until when.
type session struct {
	exp  time.Time
	user string // AdminUser or a viewer's name
	role Role
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]session{}, ttl: ttl, now: now}
}

// create starts a session of user and returns its id: 32 random bytes, hex.
func (s *sessions) create(user string, role Role) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("new session: %w", err)
	}
	id := hex.EncodeToString(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, se := range s.byID { // drop expired sessions as new ones come
		if now.After(se.exp) {
			delete(s.byID, k)
		}
	}
	s.byID[id] = session{exp: now.Add(s.ttl), user: user, role: role}
	return id, nil
}

// valid says whether id is a live session, and whose, and extends it
// (sliding expiry).
func (s *sessions) valid(id string) (session, bool) {
	if len(id) != 64 {
		return session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.byID[id]
	now := s.now()
	if !ok {
		return session{}, false
	}
	if now.After(se.exp) {
		delete(s.byID, id)
		return session{}, false
	}
	se.exp = now.Add(s.ttl)
	s.byID[id] = se
	return se, true
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// setSessionCookie sends the session id: HttpOnly, SameSite=Strict, Secure
// when the request came over TLS, no Max-Age (a browser-session cookie; the
// server decides expiry).
func setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// tokenEqual compares secrets in constant time.
func tokenEqual(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// AdminFilePath is where the admin password hash for a DSN lives: beside a
// SQLite file ("PATH.admin"), or konduit/admin.bcrypt in the user's config
// directory for PostgreSQL.
func AdminFilePath(dsn string) (string, error) {
	b, src, err := store.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	if b == store.SQLite {
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", fmt.Errorf("admin password file: %w", err)
		}
		return abs + ".admin", nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find user config dir for the admin password: %w", err)
	}
	return filepath.Join(dir, "konduit", "admin.bcrypt"), nil
}

// NewToken is a random token: 32 bytes, hex.
func NewToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	return hex.EncodeToString(raw), nil
}
