package web

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/fix"
	"github.com/konduit/konduit/internal/legacy"
)

// maxUploads is how many uploads are kept; older ones are deleted.
const maxUploads = 20

// maxUploadFiles bounds the files of one upload.
const maxUploadFiles = 16

// upload is one set of uploaded files and what was done with them.
type upload struct {
	ID      string
	Created time.Time
	dir     string   // holds in/ (the uploads) and out/ (fixed files)
	Names   []string // base names, in upload order
	Report  *check.Report

	mu      sync.Mutex
	Fixed   *fix.Result
	FixErr  string
	fixDone bool
	// Remaining is the fixed files validated again: what the fix could
	// not repair, shown before the download is offered.
	Remaining *check.Report
	// evicted: the upload is gone from the list; whoever holds mu last
	// removes dir (release).
	evicted atomic.Bool
}

// release unlocks u.mu, and removes u's directory when it has been evicted
// meanwhile.
func (u *upload) release() {
	u.mu.Unlock()
	u.discardIfEvicted()
}

// discardIfEvicted removes the directory of an evicted upload that no one
// holds.
func (u *upload) discardIfEvicted() {
	if u.evicted.Load() && u.mu.TryLock() {
		os.RemoveAll(u.dir)
		u.mu.Unlock()
	}
}

func (u *upload) inDir() string  { return filepath.Join(u.dir, "in") }
func (u *upload) outDir() string { return filepath.Join(u.dir, "out") }
func (u *upload) paths() []string {
	out := make([]string, len(u.Names))
	for i, n := range u.Names {
		out[i] = filepath.Join(u.inDir(), n)
	}
	return out
}

// imports keeps the recent uploads in a private temporary directory, and
// tracks the jobs (an upload being stored and validated, a fix) that write
// into it: close cancels them and waits before it removes the directory.
type imports struct {
	root string
	lock *os.File // held while the server runs (uploaddir.go)
	log  *slog.Logger

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	jobs   sync.WaitGroup

	mu     sync.Mutex
	closed bool
	byID   map[string]*upload
	ids    []string // oldest first
}

// closeWait bounds how long close waits for jobs to stop.
const closeWait = 30 * time.Second

// errClosing refuses a job once the server is stopping.
var errClosing = errors.New("the server is stopping")

// testHookValidate and testHookFix, when set, run inside an upload's
// validation and fix jobs (a test makes them panic).
var testHookValidate, testHookFix func()

func newImports(tmp string, log *slog.Logger) (*imports, error) {
	sweepRoots(tmp, log)
	root, lock, err := makeRoot(tmp)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &imports{root: root, lock: lock, log: log, ctx: ctx, cancel: cancel, byID: map[string]*upload{}}, nil
}

// begin starts a job: its context ends with ctx or when the server closes.
// Call end when the job is over.
func (im *imports) begin(ctx context.Context) (jctx context.Context, end func(), err error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return nil, nil, errClosing
	}
	im.jobs.Add(1)
	jctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(im.ctx, cancel)
	return jctx, func() {
		stop()
		cancel()
		im.mu.Lock()
		late := im.closed
		im.mu.Unlock()
		if late { // close may not have waited for this job: what it wrote goes too
			os.RemoveAll(im.root)
		}
		im.jobs.Done()
	}, nil
}

// close cancels the jobs, waits for them (at most closeWait), and removes
// every upload.
func (im *imports) close() error {
	im.mu.Lock()
	if im.closed {
		im.mu.Unlock()
		return nil
	}
	im.closed = true
	im.mu.Unlock()
	im.cancel()
	done := make(chan struct{})
	go func() {
		im.jobs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		im.log.Warn("dashboard: upload jobs still running at shutdown; removing their files anyway")
	}
	err := os.RemoveAll(im.root)
	im.lock.Close()
	if err != nil {
		return fmt.Errorf("remove uploads: %w", err)
	}
	return nil
}

// add lists u, evicting the oldest uploads beyond maxUploads. Once the
// server is closing it removes u instead and says false.
func (im *imports) add(u *upload) bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		os.RemoveAll(u.dir)
		return false
	}
	im.byID[u.ID] = u
	im.ids = append(im.ids, u.ID)
	for len(im.ids) > maxUploads {
		old := im.byID[im.ids[0]]
		delete(im.byID, im.ids[0])
		im.ids = im.ids[1:]
		old.evicted.Store(true)
		old.discardIfEvicted() // else the fix or download holding it does
	}
	return true
}

func (im *imports) get(id string) *upload {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.byID[id]
}

// maxSafeName is the longest name safeName returns, in bytes.
const maxSafeName = 100

// safeName reduces an uploaded file name to a plain base name: ASCII
// letters, digits, '.', '-' and '_' (anything else, invalid UTF-8 too,
// becomes '_'), never empty, never starting with a dot (no ".", "..",
// hidden file), at most maxSafeName bytes. A longer name is cut in its
// stem, keeping its extension (up to 16 bytes) and the start of the name:
// the cut never lands at the front, where a dot could be uncovered.
func safeName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	if s == "" {
		s = "upload.csv"
	}
	if len(s) > maxSafeName {
		ext := filepath.Ext(s)
		if len(ext) > 16 {
			ext = "" // not an extension: part of the name
		}
		// s[0] is not a dot, so the stem keeps at least that byte; cutting
		// at a rune start keeps the name valid UTF-8 whatever it holds.
		cut := maxSafeName - len(ext)
		for cut > 1 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + ext
	}
	return s
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "import", page{Title: "Legacy import", Nav: "import", Data: map[string]any{"MaxMiB": s.opts.MaxUpload >> 20}})
}

// uploadTooLarge answers an upload over MaxUpload.
func (s *Server) uploadTooLarge(w http.ResponseWriter) {
	s.render(w, http.StatusRequestEntityTooLarge, "import", page{Title: "Legacy import", Nav: "import", Error: fmt.Sprintf("The upload is larger than %d MiB.", s.opts.MaxUpload>>20), Data: map[string]any{"MaxMiB": s.opts.MaxUpload >> 20}})
}

// upload streams the posted files to disk (never into memory), validates
// them and shows the findings. The upload's directory is removed on every
// way out but success: a refused or broken upload, a failed or panicking
// validation, a client gone, a server stopping.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	ctx, end, err := s.imports.begin(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer end()
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "read upload: "+err.Error(), http.StatusBadRequest)
		return
	}
	raw := make([]byte, 16)
	rand.Read(raw)
	u := &upload{ID: hex.EncodeToString(raw), Created: s.opts.Now(), dir: filepath.Join(s.imports.root, hex.EncodeToString(raw))}
	// Mkdir, not MkdirAll: a root removed by close is never made again
	if err := mkdirPrivate(u.dir); err != nil {
		s.fail(w, r, "store upload", err)
		return
	}
	keep := false
	defer func() { // runs on a panic too
		if !keep {
			os.RemoveAll(u.dir)
		}
	}()
	if err := mkdirPrivate(u.inDir()); err != nil {
		s.fail(w, r, "store upload", err)
		return
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.uploadTooLarge(w)
			return
		}
		if err != nil {
			http.Error(w, "read upload: "+err.Error(), http.StatusBadRequest)
			return
		}
		if part.FormName() != "files" || part.FileName() == "" {
			part.Close()
			continue
		}
		if len(u.Names) == maxUploadFiles {
			http.Error(w, fmt.Sprintf("at most %d files per upload", maxUploadFiles), http.StatusBadRequest)
			return
		}
		name := safeName(part.FileName())
		for i := 2; seen[name]; i++ {
			ext := filepath.Ext(name)
			name = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(name, ext), i, ext)
		}
		seen[name] = true
		err = atomicfile.Write(ctx, filepath.Join(u.inDir(), name), atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
			_, err := io.Copy(w, part)
			return err
		})
		part.Close()
		if errors.As(err, &mbe) {
			s.uploadTooLarge(w)
			return
		}
		if err != nil {
			s.fail(w, r, "store upload", err)
			return
		}
		u.Names = append(u.Names, name)
	}
	if len(u.Names) == 0 {
		s.render(w, http.StatusBadRequest, "import", page{Title: "Legacy import", Nav: "import", Error: "Choose at least one file.", Data: map[string]any{"MaxMiB": s.opts.MaxUpload >> 20}})
		return
	}
	rep, err := s.validateUpload(ctx, u)
	if err != nil {
		if errors.Is(err, errInternal) {
			s.render(w, http.StatusInternalServerError, "import", page{Title: "Legacy import", Nav: "import", Error: "The files could not be checked: an internal error (logged on the server). They were deleted.", Data: map[string]any{"MaxMiB": s.opts.MaxUpload >> 20}})
			return
		}
		s.fail(w, r, "validate", err)
		return
	}
	u.Report = rep
	if !s.imports.add(u) {
		http.Error(w, errClosing.Error(), http.StatusServiceUnavailable)
		return
	}
	keep = true
	http.Redirect(w, r, "/import/"+u.ID, http.StatusSeeOther)
}

// validateUpload runs konduit validate's engine on u's files; a panic is
// errInternal.
func (s *Server) validateUpload(ctx context.Context, u *upload) (rep *check.Report, err error) {
	err = safely(s.log, "validate upload", func() error {
		if testHookValidate != nil {
			testHookValidate()
		}
		var err error
		rep, err = s.validateFiles(ctx, u.paths())
		return err
	})
	return rep, err
}

// validateFiles validates files the server holds, naming them by their
// base names (never the server's temporary paths).
func (s *Server) validateFiles(ctx context.Context, paths []string) (*check.Report, error) {
	inputs := make([]legacy.Input, len(paths))
	for i, p := range paths {
		inputs[i] = legacy.Input{Name: filepath.Base(p), Open: func() (io.ReadCloser, error) { return os.Open(p) }}
	}
	return check.Validate(ctx, inputs, check.Options{AsOf: s.opts.Now().Format("2006-01-02"), MaxFindings: 5})
}

// groupFindings is check.Groups (a warning on most rows is one summary
// line, as in text output) with errors first, then by count.
func groupFindings(rep *check.Report) []check.Group {
	if rep == nil {
		return nil
	}
	out := check.Groups(rep)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity == check.Error
		}
		return out[i].Count > out[j].Count
	})
	return out
}

// uploadOf is the upload the request's path names; when there is none it
// answers 404 and returns nil.
func (s *Server) uploadOf(w http.ResponseWriter, r *http.Request) *upload {
	u := s.imports.get(r.PathValue("id"))
	if u == nil {
		http.NotFound(w, r)
	}
	return u
}

func (s *Server) importResult(w http.ResponseWriter, r *http.Request) {
	u := s.uploadOf(w, r)
	if u == nil {
		return
	}
	u.mu.Lock()
	data := map[string]any{"U": u, "Groups": groupFindings(u.Report), "Errors": u.Report.Errors(), "Fixed": u.Fixed, "FixErr": u.FixErr, "FixDone": u.fixDone, "MaxMiB": s.opts.MaxUpload >> 20}
	if u.Fixed != nil {
		data["ByRule"] = u.Fixed.ByRule()
		data["Remaining"] = u.Remaining
		data["RemainingGroups"] = groupFindings(u.Remaining)
		var blocked []string
		for _, b := range u.Fixed.Blocked {
			blocked = append(blocked, fmt.Sprintf("%s row %d: %s (%s)", filepath.Base(b.File), b.Row, b.Reason, b.Rule))
		}
		data["Blocked"] = blocked
	}
	u.release()
	s.render(w, http.StatusOK, "import", page{Title: "Legacy import", Nav: "import", Data: data})
}

func (s *Server) findingsCSV(w http.ResponseWriter, r *http.Request) {
	u := s.uploadOf(w, r)
	if u == nil {
		return
	}
	attachment(w, "findings.csv", "text/csv; charset=utf-8")
	if err := check.WriteCSV(w, u.Report); err != nil {
		s.log.Error("write findings", "err", err)
	}
}

// baseLog hands fix's changes to a CSV log with the file as a base name
// (fix sees the server's temporary paths).
type baseLog struct{ l *fix.CSVLog }

func (b baseLog) Add(c fix.Change) error {
	c.File = filepath.Base(c.File)
	return b.l.Add(c)
}

// fixPost runs konduit fix on the upload: fixed files into out/, the change
// log beside them. A failed or panicking fix leaves neither behind.
func (s *Server) fixPost(w http.ResponseWriter, r *http.Request) {
	u := s.uploadOf(w, r)
	if u == nil {
		return
	}
	ctx, end, err := s.imports.begin(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer end()
	u.mu.Lock()
	defer u.release()
	if !u.fixDone {
		err := s.runFix(ctx, u)
		if errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			u.FixErr = strings.ReplaceAll(err.Error(), u.dir+string(filepath.Separator), "")
			s.log.Error("dashboard: fix", "err", err)
		}
		u.fixDone = true
	}
	http.Redirect(w, r, "/import/"+u.ID+"#fix", http.StatusSeeOther)
}

// runFix fixes u's files into out/ (0700, files 0600) with the change log
// beside them; on an error or a panic (errInternal) it removes both.
func (s *Server) runFix(ctx context.Context, u *upload) error {
	err := safely(s.log, "fix upload", func() error {
		if testHookFix != nil {
			testHookFix()
		}
		if err := mkdirPrivate(u.outDir()); err != nil {
			return err
		}
		err := atomicfile.Write(ctx, filepath.Join(u.dir, "changes.csv"), atomicfile.Options{Perm: 0o600}, func(lw io.Writer) error {
			log := fix.NewCSVLog(lw)
			res, err := fix.Files(ctx, u.paths(), u.outDir(), fix.Options{}, baseLog{log})
			if err != nil {
				return err
			}
			u.Fixed = res
			return log.Close()
		})
		if err != nil {
			return err
		}
		// What the fix left: the fixed files, validated as an upload is.
		var outs []string
		for _, f := range u.Fixed.Files {
			if f.Output != "" {
				outs = append(outs, f.Output)
			}
		}
		if len(outs) == 0 {
			return nil
		}
		u.Remaining, err = s.validateFiles(ctx, outs)
		if err != nil {
			return fmt.Errorf("validate the fixed files: %w", err)
		}
		return nil
	})
	if err != nil {
		u.Fixed, u.Remaining = nil, nil
		os.RemoveAll(u.outDir())
		os.Remove(filepath.Join(u.dir, "changes.csv"))
	}
	return err
}

func attachment(w http.ResponseWriter, name, ctype string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
}

func (s *Server) fixedZip(w http.ResponseWriter, r *http.Request) {
	u := s.uploadOf(w, r)
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.release()
	if u.Fixed == nil {
		http.Error(w, "run the fix first", http.StatusNotFound)
		return
	}
	attachment(w, "fixed.zip", "application/zip")
	zw := zip.NewWriter(w)
	for _, f := range u.Fixed.Files {
		if err := addToZip(zw, f.Output); err != nil {
			s.log.Error("dashboard: zip fixed files", "err", err)
			return
		}
	}
	if err := zw.Close(); err != nil {
		s.log.Error("dashboard: zip fixed files", "err", err)
	}
}

func addToZip(zw *zip.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zf, err := zw.Create(filepath.Base(path))
	if err != nil {
		return err
	}
	_, err = io.Copy(zf, f)
	return err
}

func (s *Server) changesCSV(w http.ResponseWriter, r *http.Request) {
	u := s.uploadOf(w, r)
	if u == nil {
		return
	}
	f, err := os.Open(filepath.Join(u.dir, "changes.csv"))
	if err != nil {
		http.Error(w, "run the fix first", http.StatusNotFound)
		return
	}
	defer f.Close()
	attachment(w, "changes.csv", "text/csv; charset=utf-8")
	io.Copy(w, f)
}
