// Package atomicfile writes a file under a temporary name beside its final
// path and renames it into place only when it is complete, so a crash, an
// error or Ctrl-C never leaves a partial file under the final name.
package atomicfile

import (
	"github.com/konduit/konduit/internal/failpoint"

	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ErrSameFile is returned when the output would overwrite an input.
var ErrSameFile = errors.New("output would overwrite an input file")

// Options tune Write.
type Options struct {
	// Perm is the final file's mode, set exactly whatever the umask
	// (default 0600: most of what konduit writes holds customer data; pass
	// 0644 for what is meant to be shared, such as a public key).
	Perm os.FileMode
	// Inputs are files that must never be overwritten by this output.
	Inputs []string
}

// Write creates path by calling fill with a writer to a temporary file in the
// same directory (on Linux an unnamed O_TMPFILE, which a killed process
// leaves nowhere on disk). The file is synced and renamed into place only when fill
// returns nil and ctx is not done; otherwise the temporary file is removed
// and the previous content of path, if any, is untouched.
func Write(ctx context.Context, path string, opts Options, fill func(w io.Writer) error) (err error) {
	if err := checkNotInput(path, opts.Inputs); err != nil {
		return err
	}
	perm := opts.Perm
	if perm == 0 {
		perm = 0o600
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if f, ok := createUnnamed(dir, perm); ok {
		return writeUnnamed(ctx, f, dir, base, path, perm, fill)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("set mode of %s: %w", tmp, err)
	}
	if err = fill(f); err != nil {
		return err
	}
	failpoint.Hit("atomicfile.filled")
	return finish(ctx, f, tmp, path)
}

// writeUnnamed fills an unnamed file, then links it under a temporary name
// and renames that into place: until the data is complete and synced, the
// file has no name at all.
func writeUnnamed(ctx context.Context, f *os.File, dir, base, path string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("set mode of %s: %w", path, err)
	}
	if err = fill(f); err != nil {
		return err
	}
	failpoint.Hit("atomicfile.filled")
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d-%d", base, os.Getpid(), time.Now().UnixNano()))
	if err = link(f, tmp); err != nil {
		return fmt.Errorf("name %s: %w", path, err)
	}
	if err = finish(ctx, f, tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// finish syncs and closes a complete temporary file and renames it to path.
func finish(ctx context.Context, f *os.File, tmp, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s into place: %w", path, err)
	}
	return nil
}

func checkNotInput(path string, inputs []string) error {
	out, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", path, err)
	}
	outInfo, outErr := os.Stat(path)
	for _, in := range inputs {
		abs, err := filepath.Abs(in)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", in, err)
		}
		if abs == out {
			return fmt.Errorf("write %s: %w", path, ErrSameFile)
		}
		if outErr == nil {
			if inInfo, err := os.Stat(in); err == nil && os.SameFile(inInfo, outInfo) {
				return fmt.Errorf("write %s: %w", path, ErrSameFile)
			}
		}
	}
	return nil
}
