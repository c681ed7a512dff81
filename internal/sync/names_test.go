package sync

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive/fake"
)

// Rows without names: the sync asks the campaign and product queries.
func TestNamesFromCatalogQueries(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 12, 1, 12, 0, 0, 0, time.UTC)
	loc := nyLoc(t)
	for _, without := range []bool{false, true} {
		srv, err := fake.New(fake.Options{LoginID: testLogin, Password: testPassword, Location: loc, Clock: fake.NewClock(now).Now, RowsWithoutNames: without})
		if err != nil {
			t.Fatal(err)
		}
		srv.SetCatalog(fake.Catalog{Campaigns: []fake.Campaign{{ID: 1, Name: "Spring Trial", Type: "ECOMMERCE"}},
			Products: []fake.Product{{ID: 11, CampaignID: 1, Name: "Serum 30ml"}}})
		for _, b := range merchant(loc, 30, day("2025-06-01"), 90) {
			if err := srv.Add(b); err != nil {
				t.Fatal(err)
			}
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		url := hs.URL
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "k.db")
		if _, err := syncOnce(ctx, dsn, url, day("2025-06-01"), now, nil); err != nil {
			t.Fatal(err)
		}
		st, in := openIntegration(t, dsn, "acme")
		for col, want := range map[string]string{"campaign_id": "Spring Trial", "product_id": "Serum 30ml"} {
			got, err := st.Names(ctx, in.ID, col)
			if err != nil || got[map[string]string{"campaign_id": "1", "product_id": "11"}[col]] != want {
				t.Errorf("rows without names %v: %s names %v, %v", without, col, got, err)
			}
		}
		st.Close()
	}
	var u unnamed
	u.note([]crm.Transaction{{CampaignID: "1", ProductID: "2", Names: crm.Names{Product: "x"}}, {CampaignID: "3", Names: crm.Names{Campaign: "y"}}})
	if got := keys(u.campaigns); len(got) != 1 || got[0] != "1" || len(u.products) != 0 {
		t.Errorf("unnamed: %v %v", u.campaigns, u.products)
	}
}
