package web

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Uploads hold raw import files, card numbers included, so their directory
// must not outlive the server: Close removes it, and as a killed server
// (kill -9, a crash) runs no Close, the next server removes what it left.
// A live server holds an exclusive lock on rootLock in its directory; a
// directory whose lock can be taken has no server any more.

const (
	// rootPrefix names the uploads' directory of a server in TempDir.
	rootPrefix = "konduit-web-"
	// newPrefix names it until it is locked: a sweep never sees an
	// unlocked rootPrefix directory of a live server.
	newPrefix = ".konduit-web-new-"
	// rootLock is the lock file in it.
	rootLock = ".lock"
	// unlockedAge is how old a directory without a held lock must be to be
	// taken for left over (a newPrefix one whose server died before
	// renaming it, or one from a konduit without locks).
	unlockedAge = time.Minute
)

// mkdirPrivate makes the directory path with mode 0700, whatever the umask.
func mkdirPrivate(path string) error {
	if err := os.Mkdir(path, 0o700); err != nil {
		return err
	}
	return os.Chmod(path, 0o700)
}

// makeRoot makes and locks a new uploads' directory in tmp (mode 0700, its
// lock file 0600).
func makeRoot(tmp string) (root string, lock *os.File, err error) {
	staging, err := os.MkdirTemp(tmp, newPrefix)
	if err != nil {
		return "", nil, fmt.Errorf("make upload directory: %w", err)
	}
	dir := staging
	defer func() {
		if err != nil {
			if lock != nil {
				lock.Close()
			}
			os.RemoveAll(dir)
		}
	}()
	if err = os.Chmod(staging, 0o700); err != nil {
		return "", nil, fmt.Errorf("make upload directory: %w", err)
	}
	lock, err = os.OpenFile(filepath.Join(staging, rootLock), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("make upload directory: %w", err)
	}
	if err = lock.Chmod(0o600); err != nil {
		return "", nil, fmt.Errorf("make upload directory: %w", err)
	}
	if err = lockFile(lock); err != nil {
		return "", nil, fmt.Errorf("lock upload directory: %w", err)
	}
	root = filepath.Join(tmp, rootPrefix+strings.TrimPrefix(filepath.Base(staging), newPrefix))
	if err = os.Rename(staging, root); err != nil {
		return "", nil, fmt.Errorf("make upload directory: %w", err)
	}
	dir = root
	return root, lock, nil
}

// sweepRoots removes the uploads' directories in tmp that no server holds:
// this user's directories named rootPrefix... whose lock file can be locked
// (no process holds it), and unlocked ones older than a minute. It returns
// the directories removed.
func sweepRoots(tmp string, log *slog.Logger) []string {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		staging := strings.HasPrefix(name, newPrefix)
		if !staging && !strings.HasPrefix(name, rootPrefix) || !e.IsDir() { // IsDir: a symbolic link is not followed
			continue
		}
		dir := filepath.Join(tmp, name)
		info, err := os.Lstat(dir)
		if err != nil || !info.IsDir() || !ownedByUs(info) {
			continue
		}
		if staging && time.Since(info.ModTime()) < unlockedAge || !staging && !abandoned(dir, info) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("dashboard: remove a stopped server's uploads", "dir", dir, "err", err)
			continue
		}
		removed = append(removed, dir)
	}
	if len(removed) > 0 {
		log.Info("dashboard: removed the uploads of servers that did not stop cleanly", "dirs", len(removed))
	}
	return removed
}

// abandoned says whether no server holds dir.
func abandoned(dir string, info fs.FileInfo) bool {
	f, err := openNoFollow(filepath.Join(dir, rootLock))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Since(info.ModTime()) > unlockedAge
	}
	if err != nil {
		return false
	}
	defer f.Close() // releases the lock
	return lockFile(f) == nil
}
