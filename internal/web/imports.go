package web

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/fix"
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

// imports keeps the recent uploads in a private temporary directory.
type imports struct {
	root string
	mu   sync.Mutex
	byID map[string]*upload
	ids  []string // oldest first
}

func newImports(tmp string) (*imports, error) {
	root, err := os.MkdirTemp(tmp, "konduit-web-")
	if err != nil {
		return nil, fmt.Errorf("make upload directory: %w", err)
	}
	return &imports{root: root, byID: map[string]*upload{}}, nil
}

func (im *imports) close() error { return os.RemoveAll(im.root) }

func (im *imports) add(u *upload) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.byID[u.ID] = u
	im.ids = append(im.ids, u.ID)
	for len(im.ids) > maxUploads {
		old := im.byID[im.ids[0]]
		delete(im.byID, im.ids[0])
		im.ids = im.ids[1:]
		os.RemoveAll(old.dir)
	}
}

func (im *imports) get(id string) *upload {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.byID[id]
}

// safeName reduces an uploaded file name to a plain base name.
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
	if len(s) > 100 {
		s = s[len(s)-100:]
	}
	return s
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "import", page{Title: "Legacy import", Nav: "import", Data: map[string]any{"MaxMiB": s.opts.MaxUpload >> 20}})
}

// upload streams the posted files to disk (never into memory), validates
// them and shows the findings.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "read upload: "+err.Error(), http.StatusBadRequest)
		return
	}
	raw := make([]byte, 16)
	rand.Read(raw)
	u := &upload{ID: hex.EncodeToString(raw), Created: s.opts.Now(), dir: filepath.Join(s.imports.root, hex.EncodeToString(raw))}
	if err := os.MkdirAll(u.inDir(), 0o700); err != nil {
		s.fail(w, r, "store upload", err)
		return
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(u.dir)
		}
	}()
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.render(w, http.StatusRequestEntityTooLarge, "import", page{Title: "Legacy import", Nav: "import", Error: fmt.Sprintf("The upload is larger than %d MiB.", s.opts.MaxUpload>>20), Data: map[string]any{"MaxMiB": s.opts.MaxUpload >> 20}})
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
		err = atomicfile.Write(r.Context(), filepath.Join(u.inDir(), name), atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
			_, err := io.Copy(w, part)
			return err
		})
		part.Close()
		if errors.As(err, &mbe) {
			s.render(w, http.StatusRequestEntityTooLarge, "import", page{Title: "Legacy import", Nav: "import", Error: fmt.Sprintf("The upload is larger than %d MiB.", s.opts.MaxUpload>>20), Data: map[string]any{"MaxMiB": s.opts.MaxUpload >> 20}})
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
	inputs := make([]check.Input, len(u.Names))
	for i, n := range u.Names {
		p := filepath.Join(u.inDir(), n)
		inputs[i] = check.Input{Name: n, Open: func() (io.ReadCloser, error) { return os.Open(p) }}
	}
	rep, err := check.Validate(r.Context(), inputs, check.Options{AsOf: s.opts.Now().Format("2006-01-02"), MaxFindings: 5})
	if err != nil {
		s.fail(w, r, "validate", err)
		return
	}
	u.Report = rep
	keep = true
	s.imports.add(u)
	http.Redirect(w, r, "/import/"+u.ID, http.StatusSeeOther)
}

// ruleGroup is one rule's findings on the result page.
type ruleGroup struct {
	Rule     check.Rule
	Severity string
	Count    int
	Examples []check.Finding
}

func groupFindings(rep *check.Report) []ruleGroup {
	var out []ruleGroup
	idx := map[string]int{}
	for _, c := range rep.Counts {
		rule, _ := check.RuleByID(c.Rule)
		if rule.ID == "" {
			rule.ID = c.Rule
		}
		key := c.Rule + "/" + c.Severity.String()
		idx[key] = len(out)
		out = append(out, ruleGroup{Rule: rule, Severity: c.Severity.String(), Count: c.Count})
	}
	for _, f := range rep.Findings {
		if i, ok := idx[f.Rule+"/"+f.Severity.String()]; ok {
			out[i].Examples = append(out[i].Examples, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity == "error"
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
		var blocked []string
		for _, b := range u.Fixed.Blocked {
			blocked = append(blocked, fmt.Sprintf("%s row %d: %s (%s)", filepath.Base(b.File), b.Row, b.Reason, b.Rule))
		}
		data["Blocked"] = blocked
	}
	u.mu.Unlock()
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
// log beside them.
func (s *Server) fixPost(w http.ResponseWriter, r *http.Request) {
	u := s.uploadOf(w, r)
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.fixDone {
		err := atomicfile.Write(r.Context(), filepath.Join(u.dir, "changes.csv"), atomicfile.Options{Perm: 0o600}, func(lw io.Writer) error {
			log := fix.NewCSVLog(lw)
			res, err := fix.Files(r.Context(), u.paths(), u.outDir(), fix.Options{}, baseLog{log})
			if err != nil {
				return err
			}
			u.Fixed = res
			return log.Close()
		})
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return
			}
			u.FixErr = strings.ReplaceAll(err.Error(), u.dir+string(filepath.Separator), "")
			s.log.Error("dashboard: fix", "err", err)
		}
		u.fixDone = true
	}
	http.Redirect(w, r, "/import/"+u.ID+"#fix", http.StatusSeeOther)
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
	defer u.mu.Unlock()
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
