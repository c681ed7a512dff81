package web

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/store"
)

// TestManyIntegrations: the status table lists every integration with its
// last run, result, next run and lag; pause, edit, delete (after a
// confirmation) and sync now act on one and leave the others alone.
func TestManyIntegrations(t *testing.T) {
	e := newEnv(t, true, nil)
	e.login()
	_, base, pw := startFake(t, 20)
	for _, name := range []string{"acme", "beta"} {
		f := connectValues(base, pw)
		f.Set("name", name)
		if name == "acme" {
			f.Set("sync_every", "3600")
		} // beta: by hand, so the server's scheduler leaves it alone
		if resp, body := e.do("POST", "/integrations", f); resp.StatusCode != 200 {
			t.Fatalf("connect %s: %d %s", name, resp.StatusCode, body)
		}
	}
	if resp, _ := e.do("POST", "/integrations/acme/sync", nil); resp.StatusCode != 303 {
		t.Fatalf("sync now: %d", resp.StatusCode)
	}
	e.srv.WaitSyncs()
	_, body := e.do("GET", "/integrations", nil)
	if !strings.Contains(body, `id="status"`) || !strings.Contains(body, `<tr data-name="acme">`) || !strings.Contains(body, `<tr data-name="beta">`) {
		t.Fatalf("no status table:\n%s", body)
	}
	row := func(body, name string) string {
		i := strings.Index(body, `<tr data-name="`+name+`">`)
		j := strings.Index(body[i:], "</tr>")
		return body[i : i+j]
	}
	if r := row(body, "acme"); !strings.Contains(r, `class="result">ok<`) || strings.Contains(r, `class="lag">–<`) {
		t.Errorf("acme after a sync: %s", r)
	}
	if r := row(body, "beta"); !strings.Contains(r, `class="next">by hand<`) || !strings.Contains(r, `class="result">–<`) {
		t.Errorf("beta, by hand, never synced: %s", r)
	}

	// pause and resume
	if resp, _ := e.do("POST", "/integrations/beta/pause", map[string][]string{"paused": {"1"}}); resp.StatusCode != 303 {
		t.Fatalf("pause: %d", resp.StatusCode)
	}
	_, body = e.do("GET", "/integrations", nil)
	if r := row(body, "beta"); !strings.Contains(r, `class="next">paused<`) || !strings.Contains(r, "Resume") {
		t.Errorf("paused: %s", r)
	}
	beta, _ := e.st.Integration(context.Background(), "beta")
	if p, _ := integration.Paused(context.Background(), e.st, beta.ID); !p {
		t.Error("pause was not saved")
	}
	e.do("POST", "/integrations/beta/pause", map[string][]string{"paused": {"0"}})
	if p, _ := integration.Paused(context.Background(), e.st, beta.ID); p {
		t.Error("resume was not saved")
	}

	// edit: the form holds the settings, never the password
	_, body = e.do("GET", "/integrations?edit=acme", nil)
	if !strings.Contains(body, "Edit acme") || !strings.Contains(body, `value="acme"`) || strings.Contains(body, pw) {
		t.Errorf("edit form:\n%s", body)
	}

	// delete: refused without the name, then every row goes
	acme, _ := e.st.Integration(context.Background(), "acme")
	if c, _ := e.st.Counts(context.Background(), acme.ID); c.Total() == 0 {
		t.Fatal("acme has no rows to delete")
	}
	if resp, body := e.do("GET", "/integrations/acme/delete", nil); resp.StatusCode != 200 || !strings.Contains(body, "Type <code>acme</code>") {
		t.Fatalf("delete page: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", "/integrations/acme/delete", map[string][]string{"confirm": {"acm"}}); resp.StatusCode != 400 {
		t.Fatalf("delete without confirmation: %d", resp.StatusCode)
	}
	if _, err := e.st.Integration(context.Background(), "acme"); err != nil {
		t.Fatal("an unconfirmed delete deleted")
	}
	if resp, body := e.do("POST", "/integrations/acme/delete", map[string][]string{"confirm": {"acme"}}); resp.StatusCode != 200 || !strings.Contains(body, "Deleted acme") {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, err := e.st.Integration(context.Background(), "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme after delete: %v", err)
	}
	if c, _ := e.st.Counts(context.Background(), acme.ID); c.Total() != 0 {
		t.Fatalf("acme's rows are left: %v", c)
	}
	if _, err := e.st.Integration(context.Background(), "beta"); err != nil {
		t.Fatalf("beta went too: %v", err)
	}
}
