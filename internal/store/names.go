package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/konduit/konduit/internal/crm"
)

// nameTables are the names tables, by the transactions column whose ids
// they name (migration 0010).
var nameTables = map[string]string{
	"campaign_id": "campaigns",
	"product_id":  "products",
	"merchant_id": "merchant_accounts",
	"aff_id":      "affiliates",
}

// Named reports whether the ids of a transactions column have names.
func Named(column string) bool { _, ok := nameTables[column]; return ok }

// upsertNames keeps the names the rows carry for their ids. A row without
// a name leaves the stored one; the last name seen for an id wins.
func (tx *Tx) upsertNames(ctx context.Context, integrationID int64, rows []crm.Transaction) error {
	type named struct{ name, descriptor string }
	sets := map[string]map[string]named{}
	add := func(col, id, name, desc string) {
		if id == "" || name == "" {
			return
		}
		if sets[col] == nil {
			sets[col] = map[string]named{}
		}
		sets[col][id] = named{name, desc}
	}
	for i := range rows {
		r := &rows[i]
		add("campaign_id", r.CampaignID, r.Names.Campaign, "")
		add("product_id", r.ProductID, r.Names.Product, "")
		add("merchant_id", r.MerchantID, r.Names.Merchant, r.Names.MerchantDescriptor)
		add("aff_id", r.AffID, r.Names.Affiliate, "")
	}
	for col, set := range sets {
		table := nameTables[col]
		ids := make([]string, 0, len(set))
		for id := range set {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		cols := []string{"integration_id", "id", "name"}
		suffix := " ON CONFLICT (integration_id, id) DO UPDATE SET name = excluded.name WHERE " + table + ".name <> excluded.name"
		if table == "merchant_accounts" {
			cols = append(cols, "descriptor")
			suffix = " ON CONFLICT (integration_id, id) DO UPDATE SET name = excluded.name, descriptor = excluded.descriptor" +
				" WHERE " + table + ".name <> excluded.name OR " + table + ".descriptor <> excluded.descriptor"
		}
		vals := make([][]any, 0, len(ids))
		for _, id := range ids {
			v := []any{integrationID, id, set[id].name}
			if table == "merchant_accounts" {
				v = append(v, set[id].descriptor)
			}
			vals = append(vals, v)
		}
		if err := tx.InsertRows(ctx, table, cols, suffix, vals); err != nil {
			return fmt.Errorf("upsert %s names: %w", table, err)
		}
	}
	return nil
}

// Names are the names of the ids of a transactions column (id → name);
// empty for a column without names.
func (s *Store) Names(ctx context.Context, integrationID int64, column string) (map[string]string, error) {
	out := map[string]string{}
	table, ok := nameTables[column]
	if !ok {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, s.Rebind("SELECT id, name FROM "+table+" WHERE integration_id = ?"), integrationID)
	if err != nil {
		return nil, fmt.Errorf("read %s names: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("read %s names: %w", table, err)
		}
		out[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s names: %w", table, err)
	}
	return out, nil
}

// SetNames stores names of the ids of a transactions column (id → name),
// as the catalog queries give them; a column without names is ignored.
func (s *Store) SetNames(ctx context.Context, integrationID int64, column string, names map[string]string) error {
	if len(names) == 0 || !Named(column) {
		return nil
	}
	rows := make([]crm.Transaction, 0, len(names))
	for id, name := range names {
		t := crm.Transaction{}
		switch column {
		case "campaign_id":
			t.CampaignID, t.Names.Campaign = id, name
		case "product_id":
			t.ProductID, t.Names.Product = id, name
		case "merchant_id":
			t.MerchantID, t.Names.Merchant = id, name
		case "aff_id":
			t.AffID, t.Names.Affiliate = id, name
		}
		rows = append(rows, t)
	}
	return s.Update(ctx, func(tx *Tx) error { return tx.upsertNames(ctx, integrationID, rows) })
}
