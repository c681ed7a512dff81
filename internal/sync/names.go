package sync

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	gosync "sync"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/store"
)

// unnamed collects, during a run, the campaign and product ids of
// transaction rows that carried no name for them (the rows' own names are
// kept by store.Tx.UpsertTransactions). Memory grows with the distinct ids,
// a few hundred at most.
type unnamed struct {
	mu        gosync.Mutex
	campaigns map[string]bool
	products  map[string]bool
}

func (u *unnamed) note(ts []crm.Transaction) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := range ts {
		t := &ts[i]
		if t.CampaignID != "" && t.Names.Campaign == "" {
			if u.campaigns == nil {
				u.campaigns = map[string]bool{}
			}
			u.campaigns[t.CampaignID] = true
		}
		if t.ProductID != "" && t.Names.Product == "" {
			if u.products == nil {
				u.products = map[string]bool{}
			}
			u.products[t.ProductID] = true
		}
	}
}

// maxNameQueries bounds the catalog requests of one run.
const maxNameQueries = 100

// fillNames asks the campaign and product queries for the names of the
// ids the rows left unnamed and that have no stored name. Names are for
// reading: an API user without access to those queries, or any other
// failure, leaves the ids unnamed and the run successful (it is logged).
// It returns the names stored.
func (r *runner) fillNames(ctx context.Context) int {
	u := &r.unnamed
	u.mu.Lock()
	campaigns, products := keys(u.campaigns), keys(u.products)
	u.mu.Unlock()
	if len(campaigns)+len(products) == 0 {
		return 0
	}
	st, id := r.opts.Store, r.opts.Integration.ID
	n, err := r.fillFrom(ctx, st, id, konnektive.Campaigns, "campaign_id", "campaignId", campaigns)
	if err == nil {
		var m int
		m, err = r.fillFrom(ctx, st, id, konnektive.Products, "product_id", "productId", products)
		n += m
	}
	if err != nil {
		r.opts.Logger.Warn("sync: names from the campaign and product queries", "err", err)
	}
	return n
}

func (r *runner) fillFrom(ctx context.Context, st *store.Store, integrationID int64, ep konnektive.Endpoint, column, param string, ids []string) (int, error) {
	have, err := st.Names(ctx, integrationID, column)
	if err != nil {
		return 0, err
	}
	found := map[string]string{}
	asked := 0
	for _, id := range ids {
		if have[id] != "" || found[id] != "" {
			continue
		}
		if asked++; asked > maxNameQueries {
			break
		}
		p, err := r.opts.API.FetchPage(ctx, ep, konnektive.Query{Params: url.Values{param: {id}}}, 1)
		var ae *konnektive.AuthError
		if errors.As(err, &ae) {
			return len(found), errors.Join(err, st.SetNames(ctx, integrationID, column, found))
		}
		if err != nil {
			return len(found), errors.Join(err, st.SetNames(ctx, integrationID, column, found))
		}
		for _, raw := range p.Raw {
			catalogNames(raw, column, found)
		}
	}
	return len(found), st.SetNames(ctx, integrationID, column, found)
}

// catalogNames reads the names a campaign or product query row gives: a
// campaign's campaignName (and its products' productName, when the row
// lists them), a product's productName.
func catalogNames(raw json.RawMessage, column string, into map[string]string) {
	var row struct {
		CampaignID   json.Number `json:"campaignId"`
		CampaignName string      `json:"campaignName"`
		ProductID    json.Number `json:"productId"`
		ProductName  string      `json:"productName"`
	}
	if json.Unmarshal(raw, &row) != nil {
		return
	}
	switch column {
	case "campaign_id":
		if row.CampaignID != "" && row.CampaignName != "" {
			into[row.CampaignID.String()] = row.CampaignName
		}
	case "product_id":
		if row.ProductID != "" && row.ProductName != "" {
			into[row.ProductID.String()] = row.ProductName
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
