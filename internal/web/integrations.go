package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/store"
)

// Zones offered in the time zone field (any IANA name is accepted).
var Zones = []string{
	"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
	"America/Anchorage", "Pacific/Honolulu", "America/Toronto", "America/Vancouver", "America/Mexico_City",
	"America/Sao_Paulo", "Europe/London", "Europe/Dublin", "Europe/Berlin", "Europe/Paris", "Europe/Madrid",
	"Europe/Amsterdam", "Europe/Warsaw", "Europe/Kyiv", "Asia/Jerusalem", "Asia/Dubai", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Manila", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "UTC",
}

// Frequencies offered for scheduled syncs.
var Frequencies = []struct {
	Label string
	Every time.Duration
}{
	{"Manual only", 0},
	{"Every 15 minutes", 15 * time.Minute},
	{"Every hour", time.Hour},
	{"Every 6 hours", 6 * time.Hour},
	{"Daily", 24 * time.Hour},
}

// integrationView is an integration as the page shows it: no password.
type integrationView struct {
	Name, Kind, BaseURL, LoginID, AccountName, AccountUsername, TimeZone string
	ImportFrom, ImportTo                                                 string
	Every                                                                string
	HasPassword                                                          bool
	Counts                                                               []countView
	LastRun                                                              *store.Run
	Errors                                                               []store.SyncError
	Quarantined                                                          string // "3 orders, 1 transaction"; empty when none
	Partial                                                              string // a load that did not finish; empty when none
	QuarantineRows                                                       []store.QuarantinedRow
	Sync                                                                 syncState
	// the scheduler's view (integration.Status)
	Paused              bool
	Result, Next, Lag   string
	SyncingSince        time.Time // another process (or this one) holds its sync lock
	LastStarted, SumRun string
}

type countView struct {
	Table string
	Rows  int64
}

type connectForm struct {
	Name, BaseURL, LoginID, AccountName, AccountUsername, TimeZone, ImportFrom, ImportTo string
	Every                                                                                int64 // seconds
}

func everyLabel(d time.Duration) string {
	for _, f := range Frequencies {
		if f.Every == d {
			return f.Label
		}
	}
	return "every " + d.String()
}

func (s *Server) integrationsPage(w http.ResponseWriter, r *http.Request) {
	s.renderIntegrations(w, r, http.StatusOK, "", "", nil)
}

func (s *Server) renderIntegrations(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string, form *connectForm) {
	ctx := r.Context()
	now := s.opts.Now()
	sts, err := integration.Statuses(ctx, s.st, now)
	if err != nil {
		s.fail(w, r, "list integrations", err)
		return
	}
	var views []integrationView
	for _, st := range sts {
		in := st.Integration
		v := integrationView{Name: in.Name, Kind: in.Kind, BaseURL: in.BaseURL, LoginID: in.LoginID, AccountName: in.AccountName,
			AccountUsername: in.AccountUsername, TimeZone: in.TimeZone, ImportFrom: in.ImportFrom.String(), ImportTo: in.ImportTo.String(),
			Every: everyLabel(in.SyncEvery), HasPassword: len(in.PasswordSealed) > 0, Sync: s.syncs.state(in.Name), Partial: in.PartialNote(),
			Paused: st.Paused, SyncingSince: st.SyncingSince, Result: "–", Next: "by hand", Lag: "–", LastStarted: "never"}
		if st.LastRun != nil {
			v.Result, v.LastStarted = st.LastRun.Status, st.LastRun.Started.Local().Format(time.DateTime)
		}
		switch {
		case st.Paused:
			v.Next = "paused"
		case in.Kind != store.KindKonnektive:
			v.Next = "–"
		case !st.Next.IsZero() && !st.Next.After(now):
			v.Next = "due now"
		case !st.Next.IsZero():
			v.Next = st.Next.Local().Format(time.DateTime)
		}
		if !st.LastOK.IsZero() {
			v.Lag = st.Lag.Round(time.Second).String()
		}
		// row counts change only with the data: cached per data version
		counts, err := cachedFor(s, ctx, &in, "counts|"+in.Name, func() (store.Counts, error) { return s.st.Counts(ctx, in.ID) })
		if err != nil {
			s.fail(w, r, "count rows", err)
			return
		}
		for _, t := range store.Entities {
			v.Counts = append(v.Counts, countView{t, counts[t]})
		}
		runs, err := s.st.Runs(ctx, in.ID, 1)
		if err != nil {
			s.fail(w, r, "list sync runs", err)
			return
		}
		if len(runs) > 0 {
			v.LastRun = &runs[0]
		}
		if v.Errors, err = s.st.Errors(ctx, in.ID, 5); err != nil {
			s.fail(w, r, "list sync errors", err)
			return
		}
		held, err := s.st.QuarantineCounts(ctx, in.ID)
		if err != nil {
			s.fail(w, r, "count quarantined rows", err)
			return
		}
		if v.Quarantined = held.Phrase(); v.Quarantined != "" {
			if v.QuarantineRows, err = s.st.Quarantined(ctx, in.ID, 10); err != nil {
				s.fail(w, r, "list quarantined rows", err)
				return
			}
		}
		views = append(views, v)
	}
	if form == nil {
		form = &connectForm{Name: "konnektive", BaseURL: "https://api.konnektive.com", TimeZone: "America/New_York",
			ImportFrom: crm.DateOf(s.opts.Now().AddDate(-1, 0, 0)).String(), Every: int64((24 * time.Hour).Seconds())}
		// Edit: the form holds the integration's settings (never its password)
		for _, st := range sts {
			if in := st.Integration; in.Name == r.URL.Query().Get("edit") && in.Kind == store.KindKonnektive {
				form = &connectForm{Name: in.Name, BaseURL: in.BaseURL, LoginID: in.LoginID, AccountName: in.AccountName, AccountUsername: in.AccountUsername,
					TimeZone: in.TimeZone, ImportFrom: in.ImportFrom.String(), Every: int64(in.SyncEvery / time.Second)}
				if !in.ImportTo.IsZero() {
					form.ImportTo = in.ImportTo.String()
				}
			}
		}
	}
	freqs := make([]map[string]any, len(Frequencies))
	for i, f := range Frequencies {
		freqs[i] = map[string]any{"Label": f.Label, "Seconds": int64(f.Every.Seconds())}
	}
	s.render(w, status, "integrations", page{Title: "Integrations", Nav: "integrations", Flash: flash, Error: errMsg,
		Data: map[string]any{"Integrations": views, "Form": form, "Zones": Zones, "Frequencies": freqs, "Editing": r.URL.Query().Get("edit")}})
}

// connect saves a Konnektive integration from the form. The password is
// sealed with the store's key before it is written; it is never echoed
// back into the page.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "read form: "+err.Error(), http.StatusBadRequest)
		return
	}
	f := &connectForm{
		Name: strings.TrimSpace(r.PostFormValue("name")), BaseURL: strings.TrimSpace(r.PostFormValue("base_url")),
		LoginID: strings.TrimSpace(r.PostFormValue("login_id")), AccountName: strings.TrimSpace(r.PostFormValue("account_name")),
		AccountUsername: strings.TrimSpace(r.PostFormValue("account_username")), TimeZone: strings.TrimSpace(r.PostFormValue("timezone")),
		ImportFrom: strings.TrimSpace(r.PostFormValue("import_from")), ImportTo: strings.TrimSpace(r.PostFormValue("import_to")),
	}
	fmt.Sscan(r.PostFormValue("sync_every"), &f.Every)
	password := r.PostFormValue("password")
	bad := func(msg string) { s.renderIntegrations(w, r, http.StatusBadRequest, "", msg, f) }
	in, msg := s.validateConnect(r, f, password)
	if msg != "" {
		bad(msg)
		return
	}
	ctx := r.Context()
	if password == "" {
		old, err := s.st.Integration(ctx, f.Name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, "read integration", err)
			return
		}
		if old == nil || len(old.PasswordSealed) == 0 {
			bad("The API password is required.")
			return
		}
	}
	ch, err := integration.Save(ctx, s.st, s.opts.DSN, in, password)
	var ue *exitcode.UsageError
	switch {
	case errors.As(err, &ue):
		bad(ue.Msg + ".")
		return
	case err != nil:
		s.fail(w, r, "save integration", err)
		return
	}
	flash := fmt.Sprintf("Saved %s. No data is synced until you click Sync Data.", in.Name)
	if ch.RangeChanged {
		flash += " The import range (or the account) changed: the next sync backfills it again."
	}
	if ch.Retimed {
		flash += fmt.Sprintf(" The time zone changed: every stored time was re-derived from its wall-clock string (%d rows; %d ambiguous, %d in a DST gap); no re-sync is needed.", ch.Retime.Rows, ch.Retime.Ambiguous, ch.Retime.Gap)
	}
	s.renderIntegrations(w, r, http.StatusOK, flash, "", nil)
}

// validateConnect checks the form; msg says what is wrong, for the user.
func (s *Server) validateConnect(r *http.Request, f *connectForm, password string) (*store.Integration, string) {
	if f.Name == "" || len(f.Name) > 64 || strings.ContainsAny(f.Name, "/\\?#%") {
		return nil, "Give the integration a short name (no / \\ ? # %)."
	}
	u, err := url.Parse(f.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, "The base URL must be an http(s) URL such as https://api.konnektive.com."
	}
	if f.LoginID == "" {
		return nil, "The API username is required."
	}
	if strings.Contains(password, "&") {
		return nil, "Konnektive API passwords must not contain an ampersand (&): change it in Konnektive first."
	}
	if f.AccountName == "" || f.AccountUsername == "" {
		return nil, "The account name and the account username are required."
	}
	loc, err := time.LoadLocation(f.TimeZone)
	if err != nil || f.TimeZone == "" || f.TimeZone == "Local" {
		return nil, fmt.Sprintf("%q is not an IANA time zone name such as America/New_York.", f.TimeZone)
	}
	from, err := crm.ParseDate(f.ImportFrom)
	if err != nil || from.IsZero() {
		return nil, "The import start date is required (YYYY-MM-DD)."
	}
	var to crm.Date
	if f.ImportTo != "" {
		if to, err = crm.ParseDate(f.ImportTo); err != nil {
			return nil, "The import end date must be YYYY-MM-DD, or empty for today."
		}
		if to.Before(from) {
			return nil, "The import range ends before it starts."
		}
	}
	if f.Every < 0 || f.Every > 31*24*3600 {
		return nil, "Choose a sync frequency from the list."
	}
	return &store.Integration{Kind: store.KindKonnektive, Name: f.Name, BaseURL: strings.TrimRight(u.String(), "/"), LoginID: f.LoginID,
		AccountName: f.AccountName, AccountUsername: f.AccountUsername, TimeZone: loc.String(), ImportFrom: from, ImportTo: to,
		SyncEvery: time.Duration(f.Every) * time.Second}, ""
}

func (s *Server) syncPost(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.syncs.start(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.NotFound(w, r)
		return
	case errors.Is(err, ErrSyncRunning):
	case err != nil:
		s.renderIntegrations(w, r, http.StatusBadRequest, "", err.Error(), nil)
		return
	}
	http.Redirect(w, r, "/integrations#"+url.PathEscape(name), http.StatusSeeOther)
}

// progress answers the page's polling with the sync's state as JSON.
func (s *Server) progress(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.syncs.state(r.PathValue("name")))
}

// pause pauses (paused=1) or resumes (paused=0) an integration's scheduled
// syncs.
func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	paused := r.PostFormValue("paused") == "1"
	err := integration.SetPaused(r.Context(), s.st, name, paused)
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		s.fail(w, r, "pause integration", err)
		return
	}
	http.Redirect(w, r, "/integrations#"+url.PathEscape(name), http.StatusSeeOther)
}

// deletePage asks to confirm a deletion by typing the integration's name.
func (s *Server) deletePage(w http.ResponseWriter, r *http.Request) {
	s.renderDelete(w, r, http.StatusOK, "")
}

func (s *Server) renderDelete(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	ctx := r.Context()
	in, err := s.st.Integration(ctx, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, "read integration", err)
		return
	}
	counts, err := s.st.Counts(ctx, in.ID)
	if err != nil {
		s.fail(w, r, "count rows", err)
		return
	}
	s.render(w, status, "delete", page{Title: "Delete " + in.Name, Nav: "integrations", Error: errMsg,
		Data: map[string]any{"Name": in.Name, "Kind": in.Kind, "Rows": counts.Total()}})
}

// deletePost deletes the integration and every row of it, once the form
// repeats its name.
func (s *Server) deletePost(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if r.PostFormValue("confirm") != name {
		s.renderDelete(w, r, http.StatusBadRequest, "Type the integration's name to confirm.")
		return
	}
	err := integration.Delete(r.Context(), s.st, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		s.fail(w, r, "delete integration", err)
		return
	}
	s.renderIntegrations(w, r, http.StatusOK, fmt.Sprintf("Deleted %s and all its rows.", name), "", nil)
}
