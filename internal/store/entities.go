package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/konduit/konduit/internal/crm"
)

// Entity tables, in the order the sync walks them.
const (
	Customers    = "customers"
	Orders       = "orders"
	Transactions = "transactions"
	Purchases    = "purchases"
)

// Entities lists the entity tables.
var Entities = []string{Customers, Orders, Transactions, Purchases}

// tableDef is an entity table's columns after (integration_id, source, id).
// A hashed table's last column is row_hash, a digest of the others: a row
// whose digest is stored already is not written again.
type tableDef struct {
	name   string
	cols   []string
	hashed bool
}

var wallCols = []string{"created_raw", "created_utc", "created_adjust", "updated_raw", "updated_utc", "updated_adjust"}

func cols(before []string, after ...string) []string {
	out := append([]string{}, before...)
	out = append(out, wallCols...)
	return append(out, after...)
}

var (
	customerTable = &tableDef{Customers, cols([]string{"first_name", "last_name", "email", "phone", "country", "state", "postal_code"}, "raw", "row_hash"), true}
	orderTable    = &tableDef{Orders, cols([]string{"customer_id", "campaign_id", "status", "type", "aff_id", "sub_aff_id", "country", "total_cents"}, "raw", "row_hash"), true}
	txnTable      = &tableDef{Transactions, cols([]string{"parent_id", "merchant_txn_id", "customer_id", "order_id", "purchase_id", "campaign_id", "product_id", "merchant_id", "aff_id", "sub_aff_id", "country", "txn_type", "response_type", "pay_source", "card_type", "card_last4", "card_brand", "currency", "sub_total_cents", "ship_total_cents", "sales_tax_cents", "amount_cents", "billing_cycle"}, "chargedback", "chargeback_cents", "chargeback_date", "chargeback_reason", "raw", "row_hash"), true}
	purchaseTable = &tableDef{Purchases, cols([]string{"order_id", "customer_id", "campaign_id", "product_id", "merchant_id", "status", "billing_cycle", "next_bill_date", "price_cents"}, "raw", "row_hash"), true}
	noteTable     = &tableDef{Notes, cols([]string{"customer_id", "agent_name", "note_text"}), false}
	detailTable   = &tableDef{Details, cols([]string{"login_id", "has_password", "custom1", "custom2", "custom3", "custom4", "custom5"}), false}
)

// The legacy import's other two files (konduit load).
const (
	Notes   = "customer_notes"
	Details = "customer_details"
)

// UpsertNotes inserts or replaces customer notes by their ID.
func (tx *Tx) UpsertNotes(ctx context.Context, integrationID int64, rows []crm.Note) error {
	return upsert(ctx, tx, noteTable, integrationID, len(rows), func(i int) (string, string) { return sourceArg(rows[i].Source), rows[i].ID }, func(i int, a []any) []any {
		r := &rows[i]
		a = append(a, r.CustomerID, r.Agent, r.Text)
		a = append(a, wallArgs(r.Created)...)
		return append(a, wallArgs(r.Created)...)
	})
}

// UpsertDetails inserts or replaces customers' additional details.
func (tx *Tx) UpsertDetails(ctx context.Context, integrationID int64, rows []crm.CustomerDetail) error {
	return upsert(ctx, tx, detailTable, integrationID, len(rows), func(i int) (string, string) { return sourceArg(rows[i].Source), rows[i].CustomerID }, func(i int, a []any) []any {
		r := &rows[i]
		a = append(a, r.LoginID, boolArg(r.HasPassword), r.Custom[0], r.Custom[1], r.Custom[2], r.Custom[3], r.Custom[4])
		a = append(a, wallArgs(crm.WallTime{})...)
		return append(a, wallArgs(crm.WallTime{})...)
	})
}

func wallArgs(w crm.WallTime) []any {
	if w.IsZero() {
		return []any{nil, nil, int64(w.Adjust)}
	}
	return []any{w.Raw, w.UTC.Unix(), int64(w.Adjust)}
}

func dateArg(d crm.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func rawArg(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func sourceArg(s crm.Source) string {
	if s == "" {
		return string(crm.SourceAPI)
	}
	return string(s)
}

// UpsertCustomers inserts or replaces customers by (integration, source, id).
func (tx *Tx) UpsertCustomers(ctx context.Context, integrationID int64, rows []crm.Customer) error {
	return upsert(ctx, tx, customerTable, integrationID, len(rows), func(i int) (string, string) { return sourceArg(rows[i].Source), rows[i].ID }, func(i int, a []any) []any {
		r := &rows[i]
		a = append(a, r.FirstName, r.LastName, r.Email, r.Phone, r.Country, r.State, r.PostalCode)
		a = append(a, wallArgs(r.Created)...)
		a = append(a, wallArgs(r.Updated)...)
		return append(a, rawArg(r.Raw))
	})
}

// UpsertOrders inserts or replaces orders.
func (tx *Tx) UpsertOrders(ctx context.Context, integrationID int64, rows []crm.Order) error {
	return upsert(ctx, tx, orderTable, integrationID, len(rows), func(i int) (string, string) { return sourceArg(rows[i].Source), rows[i].ID }, func(i int, a []any) []any {
		r := &rows[i]
		a = append(a, r.CustomerID, r.CampaignID, r.Status, r.Type, r.AffID, r.SubAffID, r.Country, int64(r.Total))
		a = append(a, wallArgs(r.Created)...)
		a = append(a, wallArgs(r.Updated)...)
		return append(a, rawArg(r.Raw))
	})
}

// UpsertTransactions inserts or replaces transactions. Only rows that
// change (new ones, or ones whose stored version differs) are written and
// marked dirty for the rollups.
func (tx *Tx) UpsertTransactions(ctx context.Context, integrationID int64, rows []crm.Transaction) error {
	return tx.upsertTransactions(ctx, integrationID, rows, true)
}

// upsertTransactions is UpsertTransactions; mark says whether the written
// rows are marked dirty for the rollups (see LoadTransactions).
func (tx *Tx) upsertTransactions(ctx context.Context, integrationID int64, rows []crm.Transaction, mark bool) error {
	if err := tx.upsertNames(ctx, integrationID, rows); err != nil {
		return err
	}
	return upsertThen(ctx, tx, txnTable, integrationID, len(rows), func(i int) (string, string) { return sourceArg(rows[i].Source), rows[i].ID }, func(idx []int) error {
		if !mark {
			return nil
		}
		changed := make([]crm.Transaction, len(idx))
		for j, i := range idx {
			changed[j] = rows[i]
		}
		if err := tx.markRollupDirty(ctx, integrationID, changed); err != nil {
			return fmt.Errorf("upsert transactions: %w", err)
		}
		return nil
	}, func(i int, a []any) []any {
		r := &rows[i]
		a = append(a, r.ParentID, r.MerchantTxnID, r.CustomerID, r.OrderID, r.PurchaseID, r.CampaignID, r.ProductID, r.MerchantID,
			r.AffID, r.SubAffID, r.Country, r.TxnType, r.ResponseType, r.PaySource, r.CardType, r.CardLast4, r.CardBrand, r.Currency,
			int64(r.SubTotal), int64(r.ShipTotal), int64(r.SalesTax), int64(r.Amount), int64(r.BillingCycle))
		a = append(a, wallArgs(r.Created)...)
		a = append(a, wallArgs(r.Updated)...)
		return append(a, boolArg(r.Chargedback), int64(r.ChargebackAmt), dateArg(r.ChargebackDay), r.ChargebackWhy, rawArg(r.Raw))
	})
}

// UpsertPurchases inserts or replaces purchases.
func (tx *Tx) UpsertPurchases(ctx context.Context, integrationID int64, rows []crm.Purchase) error {
	return upsert(ctx, tx, purchaseTable, integrationID, len(rows), func(i int) (string, string) { return sourceArg(rows[i].Source), rows[i].ID }, func(i int, a []any) []any {
		r := &rows[i]
		a = append(a, r.OrderID, r.CustomerID, r.CampaignID, r.ProductID, r.MerchantID, r.Status, int64(r.BillingCycle), dateArg(r.NextBillDate), int64(r.Price))
		a = append(a, wallArgs(r.Created)...)
		a = append(a, wallArgs(r.Updated)...)
		return append(a, rawArg(r.Raw))
	})
}

// maxRowsPerStmt bounds a multi-row insert (a power of two): 256 rows of
// the widest table stay far under both engines' bind-parameter limits
// (SQLite 32766, PostgreSQL 65535).
const maxRowsPerStmt = 256

func upsertStatement(b Backend, t *tableDef, rows int) string {
	all := append([]string{"integration_id", "source", "id"}, t.cols...)
	var sb strings.Builder
	fmt.Fprintf(&sb, "INSERT INTO %s (%s) VALUES ", t.name, strings.Join(all, ", "))
	n := 0
	for r := 0; r < rows; r++ {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range all {
			if c > 0 {
				sb.WriteString(", ")
			}
			n++
			if b == Postgres {
				fmt.Fprintf(&sb, "$%d", n)
			} else {
				sb.WriteByte('?')
			}
		}
		sb.WriteByte(')')
	}
	sb.WriteString(" ON CONFLICT (integration_id, source, id) DO UPDATE SET ")
	for i, c := range t.cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%s = excluded.%s", c, c)
	}
	return sb.String()
}

// stmt is the prepared multi-row upsert of rows rows on the write
// connection: a batch is cut into statements of 256, 128, ..., 1 rows, so
// at most nine shapes per table are ever parsed. Callers hold wmu.
func (s *Store) stmt(ctx context.Context, t *tableDef, rows int) (*sql.Stmt, error) {
	key := t.name + "/" + strconv.Itoa(rows)
	if st, ok := s.stmts.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.wconn.PrepareContext(ctx, upsertStatement(s.backend, t, rows))
	if err != nil {
		return nil, err
	}
	s.stmts.Store(key, st)
	return st, nil
}

// upsert writes n rows in multi-row statements. A row whose key repeats
// within the call is written once, with its last value (the engines refuse
// to touch one row twice in a statement).
func upsert(ctx context.Context, tx *Tx, t *tableDef, integrationID int64, n int, key func(int) (string, string), args func(int, []any) []any) error {
	return upsertThen(ctx, tx, t, integrationID, n, key, nil, args)
}

// upsertThen writes rows 0..n-1 (the last of equal keys wins). For a hashed
// table it writes only the rows whose digest differs from the stored one,
// and counts new, changed and unchanged rows in tx.Written; before, when
// set, is called with the rows about to be written.
func upsertThen(ctx context.Context, tx *Tx, t *tableDef, integrationID int64, n int, key func(int) (string, string), before func(idx []int) error, args func(int, []any) []any) error {
	if n == 0 {
		return nil
	}
	idx := make([]int, 0, n)
	seen := make(map[[2]string]int, n)
	for i := 0; i < n; i++ {
		src, id := key(i)
		if id == "" {
			return fmt.Errorf("upsert %s: row %d has no id", t.name, i)
		}
		k := [2]string{src, id}
		if j, ok := seen[k]; ok {
			idx[j] = i
			continue
		}
		seen[k] = len(idx)
		idx = append(idx, i)
	}
	var fresh map[int]bool // rows with no stored version (hashed tables)
	if t.hashed {
		if err := tx.lockKeys(ctx, integrationID); err != nil {
			return fmt.Errorf("upsert %s: %w", t.name, err)
		}
		fresh = make(map[int]bool, len(idx))
		hashes := make(map[int]string, len(idx))
		for _, i := range idx {
			hashes[i] = rowHash(args(i, nil))
		}
		stored, err := tx.storedHashes(ctx, t, integrationID, idx, key)
		if err != nil {
			return err
		}
		w := tx.written(t.name)
		// A row read twice in one batch (a page read again) is written once:
		// its other reads count as unchanged, so the counts add up to the
		// rows read.
		w.Unchanged += int64(n - len(idx))
		keep := idx[:0]
		for _, i := range idx {
			src, id := key(i)
			switch h, ok := stored[[2]string{src, id}]; {
			case !ok:
				w.New++
				fresh[i] = true
			case h == hashes[i]:
				w.Unchanged++
				continue
			default:
				w.Changed++
			}
			keep = append(keep, i)
		}
		idx = keep
		inner := args
		args = func(i int, a []any) []any { return append(inner(i, a), hashes[i]) }
	}
	if len(idx) == 0 {
		return nil
	}
	if before != nil {
		if err := before(idx); err != nil {
			return err
		}
	}
	tx.grew(t.name, len(idx))
	if tx.backend == Postgres {
		return copyUpsert(ctx, tx, t, integrationID, idx, fresh, key, args)
	}
	perRow := len(t.cols) + 3
	buf := make([]any, 0, min(len(idx), maxRowsPerStmt)*perRow)
	for start := 0; start < len(idx); {
		chunk := maxRowsPerStmt
		for chunk > len(idx)-start {
			chunk /= 2
		}
		buf = buf[:0]
		for _, i := range idx[start : start+chunk] {
			src, id := key(i)
			buf = append(buf, integrationID, src, id)
			buf = args(i, buf)
		}
		st, err := tx.s.stmt(ctx, t, chunk)
		if err != nil {
			return fmt.Errorf("upsert %s: %w", t.name, err)
		}
		if _, err := st.ExecContext(ctx, buf...); err != nil {
			return fmt.Errorf("upsert %s: %w", t.name, err)
		}
		start += chunk
	}
	return nil
}

// copyUpsert is PostgreSQL's upsert. Rows known to be new (fresh: no
// stored version, read under lockKeys) are COPied straight into the table,
// PostgreSQL's cheapest way in; the others are COPied into a temporary
// staging table and moved in by one INSERT ... SELECT ... ON CONFLICT.
func copyUpsert(ctx context.Context, tx *Tx, t *tableDef, integrationID int64, idx []int, fresh map[int]bool, key func(int) (string, string), args func(int, []any) []any) error {
	all := append([]string{"integration_id", "source", "id"}, t.cols...)
	var direct, staged [][]any
	for _, i := range idx {
		src, id := key(i)
		row := args(i, append(make([]any, 0, len(all)), integrationID, src, id))
		if fresh[i] {
			direct = append(direct, row)
		} else {
			staged = append(staged, row)
		}
	}
	if len(direct) > 0 {
		if err := tx.copyFrom(ctx, t.name, all, direct); err != nil {
			return fmt.Errorf("upsert %s: copy: %w", t.name, err)
		}
	}
	if len(staged) == 0 {
		return nil
	}
	stage := "stage_" + t.name
	if _, err := tx.c.ExecContext(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+stage+" (LIKE "+t.name+" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"); err != nil {
		return fmt.Errorf("upsert %s: staging table: %w", t.name, err)
	}
	if err := tx.copyFrom(ctx, stage, all, staged); err != nil {
		return fmt.Errorf("upsert %s: copy: %w", t.name, err)
	}
	set := make([]string, len(t.cols))
	for i, c := range t.cols {
		set[i] = c + " = excluded." + c
	}
	cols := strings.Join(all, ", ")
	q := "INSERT INTO " + t.name + " (" + cols + ") SELECT " + cols + " FROM " + stage +
		" ON CONFLICT (integration_id, source, id) DO UPDATE SET " + strings.Join(set, ", ")
	if _, err := tx.c.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("upsert %s: %w", t.name, err)
	}
	if _, err := tx.c.ExecContext(ctx, "DELETE FROM "+stage); err != nil {
		return fmt.Errorf("upsert %s: %w", t.name, err)
	}
	return nil
}

// copyFrom COPies rows into table on the transaction's connection.
func (tx *Tx) copyFrom(ctx context.Context, table string, cols []string, rows [][]any) error {
	return tx.c.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}

// lockKeys takes, once per transaction, PostgreSQL's transaction-level
// advisory lock on an integration's entity rows: a row found absent by the
// row_hash lookup stays absent until the transaction ends, so it can be
// COPied in without ON CONFLICT (another konduit process writing the same
// integration waits here). The lock goes with the commit or rollback.
func (tx *Tx) lockKeys(ctx context.Context, integrationID int64) error {
	if tx.backend != Postgres || tx.locked[integrationID] {
		return nil
	}
	if _, err := tx.c.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(keyLockClass), int32(integrationID)); err != nil {
		return fmt.Errorf("lock rows: %w", err)
	}
	if tx.locked == nil {
		tx.locked = map[int64]bool{}
	}
	tx.locked[integrationID] = true
	return nil
}

// keyLockClass is the first key of lockKeys' advisory lock (the migrations
// take 7046812).
const keyLockClass = 7046813

// scanning helpers

type wallScan struct {
	raw    sql.NullString
	utc    sql.NullInt64
	adjust int64
}

func (w *wallScan) dest() []any { return []any{&w.raw, &w.utc, &w.adjust} }

func (w *wallScan) value() crm.WallTime {
	if !w.raw.Valid {
		return crm.WallTime{}
	}
	out := crm.WallTime{Raw: w.raw.String, Adjust: crm.Adjustment(w.adjust)}
	if w.utc.Valid {
		out.UTC = time.Unix(w.utc.Int64, 0).UTC()
	}
	return out
}

func rawValue(r sql.NullString) json.RawMessage {
	if !r.Valid {
		return nil
	}
	return json.RawMessage(r.String)
}

func dateValue(s sql.NullString) (crm.Date, error) {
	if !s.Valid {
		return crm.Date{}, nil
	}
	return crm.ParseDate(s.String)
}

// each streams an entity table of one integration, ordered by source and id.
// fn must not use the store: on SQLite the one connection is busy until each
// returns.
func (s *Store) each(ctx context.Context, t *tableDef, integrationID int64, dest func() []any, emit func() error) error {
	cols := t.cols
	if t.hashed {
		cols = cols[:len(cols)-1] // not row_hash
	}
	q := fmt.Sprintf("SELECT source, id, %s FROM %s WHERE integration_id = ? ORDER BY source, id", strings.Join(cols, ", "), t.name)
	rows, err := s.db.QueryContext(ctx, s.Rebind(q), integrationID)
	if err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest()...); err != nil {
			return fmt.Errorf("read %s: %w", t.name, err)
		}
		if err := emit(); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	return nil
}

// EachCustomer calls fn with every customer of an integration, ordered by
// source and id. fn must not call the store.
func (s *Store) EachCustomer(ctx context.Context, integrationID int64, fn func(*crm.Customer) error) error {
	var r crm.Customer
	var src string
	var cr, up wallScan
	var raw sql.NullString
	return s.each(ctx, customerTable, integrationID, func() []any {
		d := []any{&src, &r.ID, &r.FirstName, &r.LastName, &r.Email, &r.Phone, &r.Country, &r.State, &r.PostalCode}
		d = append(d, cr.dest()...)
		d = append(d, up.dest()...)
		return append(d, &raw)
	}, func() error {
		r.Source, r.Created, r.Updated, r.Raw = crm.Source(src), cr.value(), up.value(), rawValue(raw)
		c := r
		return fn(&c)
	})
}

// EachOrder calls fn with every order of an integration.
func (s *Store) EachOrder(ctx context.Context, integrationID int64, fn func(*crm.Order) error) error {
	var r crm.Order
	var src string
	var total int64
	var cr, up wallScan
	var raw sql.NullString
	return s.each(ctx, orderTable, integrationID, func() []any {
		d := []any{&src, &r.ID, &r.CustomerID, &r.CampaignID, &r.Status, &r.Type, &r.AffID, &r.SubAffID, &r.Country, &total}
		d = append(d, cr.dest()...)
		d = append(d, up.dest()...)
		return append(d, &raw)
	}, func() error {
		r.Source, r.Total, r.Created, r.Updated, r.Raw = crm.Source(src), crm.Money(total), cr.value(), up.value(), rawValue(raw)
		c := r
		return fn(&c)
	})
}

// EachTransaction calls fn with every transaction of an integration.
func (s *Store) EachTransaction(ctx context.Context, integrationID int64, fn func(*crm.Transaction) error) error {
	var r crm.Transaction
	var src string
	var sub, ship, tax, amt, cycle, cb, cbAmt int64
	var cbDate, raw sql.NullString
	var cr, up wallScan
	return s.each(ctx, txnTable, integrationID, func() []any {
		d := []any{&src, &r.ID, &r.ParentID, &r.MerchantTxnID, &r.CustomerID, &r.OrderID, &r.PurchaseID, &r.CampaignID, &r.ProductID, &r.MerchantID,
			&r.AffID, &r.SubAffID, &r.Country, &r.TxnType, &r.ResponseType, &r.PaySource, &r.CardType, &r.CardLast4, &r.CardBrand, &r.Currency,
			&sub, &ship, &tax, &amt, &cycle}
		d = append(d, cr.dest()...)
		d = append(d, up.dest()...)
		return append(d, &cb, &cbAmt, &cbDate, &r.ChargebackWhy, &raw)
	}, func() error {
		day, err := dateValue(cbDate)
		if err != nil {
			return fmt.Errorf("read transactions %s: %w", r.ID, err)
		}
		r.Source, r.Created, r.Updated, r.Raw = crm.Source(src), cr.value(), up.value(), rawValue(raw)
		r.SubTotal, r.ShipTotal, r.SalesTax, r.Amount = crm.Money(sub), crm.Money(ship), crm.Money(tax), crm.Money(amt)
		r.BillingCycle, r.Chargedback, r.ChargebackAmt, r.ChargebackDay = int(cycle), cb != 0, crm.Money(cbAmt), day
		c := r
		return fn(&c)
	})
}

// EachPurchase calls fn with every purchase of an integration.
func (s *Store) EachPurchase(ctx context.Context, integrationID int64, fn func(*crm.Purchase) error) error {
	var r crm.Purchase
	var src string
	var cycle, price int64
	var next, raw sql.NullString
	var cr, up wallScan
	return s.each(ctx, purchaseTable, integrationID, func() []any {
		d := []any{&src, &r.ID, &r.OrderID, &r.CustomerID, &r.CampaignID, &r.ProductID, &r.MerchantID, &r.Status, &cycle, &next, &price}
		d = append(d, cr.dest()...)
		d = append(d, up.dest()...)
		return append(d, &raw)
	}, func() error {
		day, err := dateValue(next)
		if err != nil {
			return fmt.Errorf("read purchases %s: %w", r.ID, err)
		}
		r.Source, r.BillingCycle, r.NextBillDate, r.Price = crm.Source(src), int(cycle), day, crm.Money(price)
		r.Created, r.Updated, r.Raw = cr.value(), up.value(), rawValue(raw)
		c := r
		return fn(&c)
	})
}

// Counts is the number of rows per entity table.
type Counts map[string]int64

// Total is the sum over the tables.
func (c Counts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Counts counts an integration's rows per entity table.
func (s *Store) Counts(ctx context.Context, integrationID int64) (Counts, error) {
	out := Counts{}
	for _, t := range Entities {
		var n int64
		if err := s.db.QueryRowContext(ctx, s.Rebind("SELECT COUNT(*) FROM "+t+" WHERE integration_id = ?"), integrationID).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}

// Written counts what upserts did to a table in a transaction.
type Written struct {
	New, Changed, Unchanged int64
}

func (tx *Tx) written(table string) *Written {
	if tx.wrote == nil {
		tx.wrote = map[string]*Written{}
	}
	w := tx.wrote[table]
	if w == nil {
		w = &Written{}
		tx.wrote[table] = w
	}
	return w
}

// Written is what the transaction's upserts did to each entity table: rows
// new, changed, and read again unchanged (not written).
func (tx *Tx) Written() map[string]Written {
	out := make(map[string]Written, len(tx.wrote))
	for k, v := range tx.wrote {
		out[k] = *v
	}
	return out
}

// rowHash is a digest of a row's column values, in column order.
func rowHash(vals []any) string {
	h := sha256.New()
	var buf []byte
	for _, v := range vals {
		buf = buf[:0]
		switch x := v.(type) {
		case nil:
			buf = append(buf, 'n')
		case string:
			buf = append(buf, 's')
			buf = strconv.AppendInt(buf, int64(len(x)), 10)
			buf = append(buf, ':')
			buf = append(buf, x...)
		case int64:
			buf = append(buf, 'i')
			buf = strconv.AppendInt(buf, x, 10)
		case int:
			buf = append(buf, 'i')
			buf = strconv.AppendInt(buf, int64(x), 10)
		default:
			buf = fmt.Appendf(buf, "%T:%v", x, x)
		}
		buf = append(buf, 0)
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// storedHashes reads the stored digests of rows idx, by (source, id).
func (tx *Tx) storedHashes(ctx context.Context, t *tableDef, integrationID int64, idx []int, key func(int) (string, string)) (map[[2]string]string, error) {
	bySource := map[string][]string{}
	for _, i := range idx {
		src, id := key(i)
		bySource[src] = append(bySource[src], id)
	}
	out := make(map[[2]string]string, len(idx))
	const chunk = 500
	for src, ids := range bySource {
		for start := 0; start < len(ids); start += chunk {
			part := ids[start:min(start+chunk, len(ids))]
			var q string
			var args []any
			if tx.backend == Postgres {
				// One plan for every batch: the ids as one array.
				q, args = `SELECT id, row_hash FROM `+t.name+` WHERE integration_id = ? AND source = ? AND id = ANY(?)`, []any{integrationID, src, part}
			} else {
				q = `SELECT id, row_hash FROM ` + t.name + ` WHERE integration_id = ? AND source = ? AND id IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ") + `)`
				args = append([]any{integrationID, src}, anySlice(part)...)
			}
			rs, err := tx.Query(ctx, q, args...)
			if err != nil {
				return nil, fmt.Errorf("read stored %s: %w", t.name, err)
			}
			for rs.Next() {
				var id, h string
				if err := rs.Scan(&id, &h); err != nil {
					rs.Close()
					return nil, fmt.Errorf("read stored %s: %w", t.name, err)
				}
				out[[2]string{src, id}] = h
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return nil, fmt.Errorf("read stored %s: %w", t.name, err)
			}
		}
	}
	return out, nil
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
