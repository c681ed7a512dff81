// Package load puts Konnektive legacy import files (transactions, notes,
// details) into the store the sync writes, as source "legacy" under an
// integration of kind legacy with the account time zone of the files, so
// every report runs the same on both roads.
//
// The files are validated first (internal/check) and refused when they hold
// errors, unless forced. Transactions stream into the store in batches;
// afterwards one SQL pass derives what the files do not say directly:
// billing cycles (metrics.md: a customer's rows for one productId, ordered
// by dateCreated, form the subscription, and each approved sale is the next
// cycle), orders (from orderId) and customers' first and last times. Card
// and bank numbers are never stored: only the card's last four digits.
//
// Nor is a card number anywhere else in a row: every value read is masked
// by the one rule (cardnum.MaskText: all digits but the last four) before
// anything is built from it, and a row whose identifier holds a card number
// is not loaded at all (see screen).
package load

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/check"
	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/failpoint"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/store"
)

// DefaultName is the integration name a load uses when none is given.
const DefaultName = "legacy"

// DefaultBatch is how many transaction rows go into one write transaction.
const DefaultBatch = 5000

// Options choose how files are loaded.
type Options struct {
	Name     string         // integration name (default DefaultName)
	TimeZone *time.Location // the account time zone of the files' wall-clock times; required
	Force    bool           // load even when validation finds errors (bad rows are skipped)
	// Validation options; AsOf empty means today.
	Check check.Options
	Batch int // rows per write transaction (default DefaultBatch)
}

// Result says what a load did.
type Result struct {
	Integration  *store.Integration
	Report       *check.Report // the validation report
	Transactions int64         // rows stored
	Customers    int64         // distinct customers stored
	Orders       int64
	Purchases    int64 // active subscriptions
	Skipped      int64 // rows not loaded: unreadable (only with Force), or CardInID
	CardInID     int64 // of Skipped, rows whose identifier holds a card number (see screen)
	Notes        int64 // notes stored
	Details      int64 // customers' details stored
	DSTAmbiguous int64 // wall-clock times that occur twice: the earlier instant was taken
	DSTGap       int64 // wall-clock times that do not occur: shifted forward by the gap
}

// RefusedError says validation found errors and the load was refused.
type RefusedError struct{ Errors int }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("load refused: validation found %d errors", e.Errors)
}

// ExitCode is 1: the data has errors.
func (e *RefusedError) ExitCode() int { return exitcode.DataErrors }

// Hint says what to do next.
func (e *RefusedError) Hint() string {
	return "fix the files (konduit fix) or pass --force to load the rows that can be read"
}

// Load validates paths and loads them into st.
func Load(ctx context.Context, st *store.Store, paths []string, opts Options) (*Result, error) {
	if opts.TimeZone == nil {
		return nil, errors.New("load: the account time zone is required")
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Check.AsOf == "" {
		opts.Check.AsOf = time.Now().In(opts.TimeZone).Format(crm.DateLayout)
	}
	t0 := time.Now()
	rep, err := check.Validate(ctx, legacy.FileInputs(paths), opts.Check)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	slog.Debug("validated", "errors", rep.Errors(), "took", time.Since(t0))
	res := &Result{Report: rep}
	if err := Tune(ctx, st); err != nil {
		return res, err
	}
	if n := rep.Errors(); n > 0 && !opts.Force {
		return res, &RefusedError{Errors: n}
	}
	in, err := st.Integration(ctx, opts.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		in = &store.Integration{Kind: store.KindLegacy, Name: opts.Name, TimeZone: opts.TimeZone.String()}
		if err := st.SaveIntegration(ctx, in); err != nil {
			return res, err
		}
	case err != nil:
		return res, err
	case in.Kind != store.KindLegacy:
		return res, fmt.Errorf("load: integration %q is a %s integration; choose another --name", in.Name, in.Kind)
	case in.TimeZone != opts.TimeZone.String():
		return res, fmt.Errorf("load: integration %q has time zone %s, not %s (konduit retime changes it)", in.Name, in.TimeZone, opts.TimeZone)
	}
	res.Integration = in
	// The integration is marked as being loaded until the load completes: a
	// load stopped midway (Ctrl-C, kill -9, an error) leaves some rows in,
	// and status, reports and the dashboard say the figures are partial.
	var expected int64
	for _, f := range rep.Files {
		expected += int64(f.Rows)
	}
	if err := st.MarkLoadPending(ctx, in.ID, expected); err != nil {
		return res, err
	}
	// Indexes a stopped first load left dropped are built first: the rows
	// are no longer a first load's.
	if _, err := st.RestoreIndexes(ctx); err != nil {
		return res, err
	}
	first, deferred, err := firstLoad(ctx, st, in.ID)
	if err != nil {
		return res, err
	}
	if err := loadFiles(ctx, st, in.ID, paths, first, opts, res); err != nil {
		return res, &PartialError{Loaded: res.Transactions + res.Notes + res.Details, Expected: expected, Unindexed: deferred, Err: err}
	}
	if err := st.LoadFinished(ctx, in.ID); err != nil {
		return res, err
	}
	c, err := st.Counts(ctx, in.ID)
	if err != nil {
		return res, err
	}
	res.Customers, res.Orders, res.Purchases = c[store.Customers], c[store.Orders], c[store.Purchases]
	return res, nil
}

// PartialError is a load that stopped after writing some rows: the
// integration stays marked as partially loaded until a load completes.
type PartialError struct {
	Loaded, Expected int64
	// Unindexed: the load had dropped the tables' secondary indexes (a
	// first load); they are built again when a load completes.
	Unindexed bool
	Err       error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("load stopped: %d of %d rows loaded; run the same load again to finish: %v", e.Loaded, e.Expected, e.Err)
}

func (e *PartialError) Unwrap() error { return e.Err }

// Partial says what an interrupted load left, for the interrupted message.
func (e *PartialError) Partial() string {
	s := fmt.Sprintf("%d of %d rows loaded; run the same load again to finish (until then status and reports say the figures are partial", e.Loaded, e.Expected)
	if e.Unindexed {
		s += ", and reports are slower: the tables' indexes are built when the load finishes"
	}
	return s + ")"
}

// firstLoad prepares a load into an integration that holds no
// transaction: its rollups are dropped, to be rebuilt whole once the rows
// are in (so the rows need no dirty marks), and when the tables hold no
// one's rows their secondary indexes are dropped until then
// (store.DeferIndexes). It reports whether the integration was empty and
// whether the indexes were dropped.
func firstLoad(ctx context.Context, st *store.Store, integrationID int64) (first, deferred bool, err error) {
	has, err := st.HasTransactions(ctx, integrationID)
	if err != nil || has {
		return false, false, err
	}
	if err := invalidateRollups(ctx, st, integrationID); err != nil {
		return false, false, err
	}
	deferred, err = st.DeferIndexes(ctx)
	if err != nil {
		return false, false, err
	}
	return true, deferred, nil
}

func invalidateRollups(ctx context.Context, st *store.Store, integrationID int64) error {
	return st.Update(ctx, func(tx *store.Tx) error { return tx.InvalidateRollups(ctx, integrationID) })
}

// loadFiles loads the files and derives the orders and subscriptions. A
// first load (see firstLoad) writes no dirty marks.
func loadFiles(ctx context.Context, st *store.Store, integrationID int64, paths []string, first bool, opts Options, res *Result) error {
	// Transactions files first: the derived tables need them.
	var others []string
	for _, p := range paths {
		kind, err := fileKind(ctx, p)
		if err != nil {
			return err
		}
		switch kind {
		case legacy.Transactions:
			t0, n := time.Now(), res.Transactions
			if err := loadTransactions(ctx, st, integrationID, p, first, opts, res); err != nil {
				return err
			}
			slog.Debug("transactions stored", "file", p, "rows", res.Transactions-n, "took", time.Since(t0))
		case legacy.Notes, legacy.Details:
			others = append(others, p)
		default:
			return fmt.Errorf("load %s: not a legacy import file (unknown header)", p)
		}
	}
	t0 := time.Now()
	for _, p := range others {
		if err := loadOther(ctx, st, integrationID, p, opts, res); err != nil {
			return err
		}
	}
	slog.Debug("notes and details stored", "notes", res.Notes, "details", res.Details, "took", time.Since(t0))
	if first {
		// Rollups built by another command while the rows went in
		// missed the rows written after: the refresh rebuilds them.
		if err := invalidateRollups(ctx, st, integrationID); err != nil {
			return err
		}
	}
	if err := derive(ctx, st, integrationID); err != nil {
		return err
	}
	t0 = time.Now()
	if n, err := st.RestoreIndexes(ctx); err != nil || n > 0 {
		slog.Debug("indexes built", "indexes", n, "took", time.Since(t0))
		return err
	}
	return nil
}

// Tune enlarges SQLite's page cache to 256 MiB for this process's
// connection (the default 2 MiB makes a large load or report thrash the
// disk). Sorts and DISTINCT sets still spill to temporary files, so memory
// stays bounded. PostgreSQL is left alone.
func Tune(ctx context.Context, st *store.Store) error {
	if st.Backend() != store.SQLite {
		return nil
	}
	for _, p := range []string{"PRAGMA cache_size = -262144"} {
		if _, err := st.DB().ExecContext(ctx, p); err != nil {
			return fmt.Errorf("tune sqlite: %w", err)
		}
	}
	return nil
}

func fileKind(ctx context.Context, path string) (legacy.Kind, error) {
	f, err := openFile(ctx, path)
	if err != nil {
		return 0, err
	}
	f.Close()
	return f.Kind, nil
}

// columns reads a row's values by header name, trimmed.
type columns struct{ legacy.Columns }

func (c columns) get(fields []string, name string) string {
	return strings.TrimSpace(c.Get(fields, name))
}

// newColumns indexes a header, its names trimmed.
func newColumns(header []string) columns {
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = strings.TrimSpace(h)
	}
	return columns{legacy.NewColumns(names)}
}

// rawFields are the transaction columns kept in the row's raw JSON: those
// without a typed column that are not sensitive.
var rawFields = []string{legacy.FResponseText, legacy.FAuthCode, legacy.FIsActiveRecurring, legacy.FNextBillDate,
	legacy.FCardExpiryMonth, legacy.FCardExpiryYear, legacy.FACHAccountType,
	legacy.FShipDate, legacy.FShipCarrier, legacy.FShipMethod, legacy.FTrackingNumber, legacy.FQuantity, legacy.FVariantDetailID}

// customerRawFields go into the customer's raw JSON.
var customerRawFields = []string{legacy.FAddress1, legacy.FAddress2, legacy.FCity, legacy.FHomePhone, legacy.FCellPhone, legacy.FWorkPhone,
	legacy.FBillShipSame, legacy.FShipAddress1, legacy.FShipAddress2, legacy.FShipCity, legacy.FShipState, legacy.FShipCountry, legacy.FShipPostalCode}

type batch struct {
	txns      []crm.Transaction
	customers []crm.Customer
	purchases []crm.Purchase
}

func loadTransactions(ctx context.Context, st *store.Store, integrationID int64, path string, first bool, opts Options, res *Result) error {
	f, err := openFile(ctx, path)
	if err != nil {
		return err
	}
	defer f.Close()
	cols := columns{f.Columns}
	keys := cols.keys(legacy.Transactions)
	base := filepath.Base(path)
	var b batch
	var guess cycleGuess
	flush := func() error {
		if len(b.txns) == 0 && len(b.customers) == 0 {
			return nil
		}
		err := st.Update(ctx, func(tx *store.Tx) error {
			if err := tx.UpsertCustomers(ctx, integrationID, b.customers); err != nil {
				return err
			}
			upsert := tx.UpsertTransactions
			if first {
				upsert = tx.LoadTransactions
			}
			if err := upsert(ctx, integrationID, b.txns); err != nil {
				return err
			}
			return tx.UpsertPurchases(ctx, integrationID, b.purchases)
		})
		if err != nil {
			return fmt.Errorf("load %s: %w", path, err)
		}
		res.Transactions += int64(len(b.txns))
		b.txns, b.customers, b.purchases = b.txns[:0], b.customers[:0], b.purchases[:0]
		failpoint.Hit("load.committed")
		return nil
	}
	var brand string
	// The card's brand (metrics.md: chargebacks per brand) is read before
	// the number is masked: the masked number has no BIN.
	readBrand := func(rec *legacy.Record) { brand = cardnum.Brand(cols.get(rec.Fields, legacy.FCardNumber)) }
	for {
		rec, err := nextRecord(f, path, keys, res, readBrand)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		t, c, p, err := mapRow(cols, rec, base, opts.TimeZone)
		if t.PaySource == legacy.ValueCreditCard {
			t.CardBrand = brand
		}
		if err != nil {
			res.Skipped++
			slog.Debug("row skipped", "file", path, "row", rec.Row, "err", err)
			continue
		}
		switch t.Created.Adjust {
		case crm.Ambiguous:
			res.DSTAmbiguous++
		case crm.Gap:
			res.DSTGap++
		}
		guess.next(&t)
		c.Created = guess.first
		b.txns = append(b.txns, t)
		b.customers = append(b.customers, c)
		if p != nil {
			b.purchases = append(b.purchases, *p)
		}
		if len(b.txns) >= opts.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// cycleGuess gives each transaction, as it is read, the billing cycle
// deriveSQL will find for it (and its customer the created time) when the file lists each customer's rows
// together and in time order (as Konnektive's export and konduit synth
// do): rows stored with their right cycle are not written again by the
// derive step, which on PostgreSQL would otherwise rewrite every row of a
// first load. It holds one customer's rows at a time, so memory does not
// grow with the file; a guess that is wrong (a file in another order, rows
// of the customer loaded earlier) costs only that row's UPDATE.
type cycleGuess struct {
	customer string
	first    crm.WallTime   // the customer's first row's time: its created time
	sales    map[string]int // approved sales so far, by product
	cycle    map[string]int // the cycle given to each row id, for refunds
}

func (g *cycleGuess) next(t *crm.Transaction) {
	if g.sales == nil || t.CustomerID != g.customer {
		g.customer, g.sales, g.cycle, g.first = t.CustomerID, map[string]int{}, map[string]int{}, t.Created
	}
	if t.TxnType == "REFUND" || t.TxnType == "VOID" {
		t.BillingCycle = g.cycle[t.ParentID] // 0: the parent is not among them
		return
	}
	t.BillingCycle = 1 + g.sales[t.ProductID]
	g.cycle[t.ID] = t.BillingCycle
	if (t.TxnType == "SALE" || t.TxnType == "CAPTURE") && t.ResponseType == "SUCCESS" {
		g.sales[t.ProductID]++
	}
}

// loadOther stores a notes or details file, in batches. Rows that cannot
// be read or lack a customerId are skipped (validation reported them).
func loadOther(ctx context.Context, st *store.Store, integrationID int64, path string, opts Options, res *Result) error {
	f, err := openFile(ctx, path)
	if err != nil {
		return err
	}
	defer f.Close()
	kind := f.Kind
	cols := columns{f.Columns}
	keys := cols.keys(kind)
	var notes []crm.Note
	var details []crm.CustomerDetail
	flush := func() error {
		err := st.Update(ctx, func(tx *store.Tx) error {
			if err := tx.UpsertNotes(ctx, integrationID, notes); err != nil {
				return err
			}
			return tx.UpsertDetails(ctx, integrationID, details)
		})
		if err != nil {
			return fmt.Errorf("load %s: %w", path, err)
		}
		res.Notes += int64(len(notes))
		res.Details += int64(len(details))
		notes, details = notes[:0], details[:0]
		return nil
	}
	for {
		rec, err := nextRecord(f, path, keys, res, nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		get := func(name string) string { return cols.get(rec.Fields, name) }
		cust := get(legacy.FCustomerID)
		if cust == "" {
			res.Skipped++
			continue
		}
		if kind == legacy.Notes {
			created, err := crm.ParseWall(get(legacy.FDateCreated), opts.TimeZone)
			if err != nil {
				res.Skipped++
				slog.Debug("row skipped", "file", path, "row", rec.Row, "err", err)
				continue
			}
			n := crm.Note{Source: crm.SourceLegacy, CustomerID: cust, Agent: get(legacy.FAgentName), Text: get(legacy.FNoteText), Created: created}
			n.ID = NoteID(n)
			notes = append(notes, n)
		} else {
			d := crm.CustomerDetail{Source: crm.SourceLegacy, CustomerID: cust, LoginID: get(legacy.FLoginID), HasPassword: get(legacy.FPassword) != ""}
			for i, name := range []string{legacy.FCustom1, legacy.FCustom2, legacy.FCustom3, legacy.FCustom4, legacy.FCustom5} {
				d.Custom[i] = get(name)
			}
			details = append(details, d)
		}
		if len(notes)+len(details) >= opts.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// openFile opens a legacy file through legacy.Open (BOM, ';' or tab
// delimiter, kind, header and columns): the one place load opens a file.
func openFile(ctx context.Context, path string) (*legacy.File, error) {
	f, err := legacy.Open(ctx, legacy.FileInputs([]string{path})[0])
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if f.HeaderErr != nil {
		f.Close()
		return nil, fmt.Errorf("read header of %s: %w", path, f.DataErrorOf(f.HeaderErr))
	}
	return f, nil
}

// nextRecord reads the next record that parses, screened (see screen):
// its card numbers masked. Records that do not parse, and those whose
// identifier holds a card number, are counted as skipped (validation
// reported them). It returns io.EOF at the end. before, when set, sees
// each record before it is screened.
func nextRecord(r *legacy.File, path string, keys keyColumns, res *Result, before func(*legacy.Record)) (*legacy.Record, error) {
	for {
		rec, err := r.Read()
		var pe *legacy.ParseError
		switch {
		case err == nil:
			if before != nil {
				before(rec)
			}
			if col, ok := keys.screen(rec); !ok {
				res.Skipped++
				res.CardInID++
				slog.Debug("row skipped: a card number in an identifier", "file", path, "row", rec.Row, "column", col)
				continue
			}
			return rec, nil
		case err == io.EOF:
			return rec, err
		case errors.As(err, &pe):
			res.Skipped++
		default:
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// keyIDs are, per file kind, the identifier columns that key rows or join
// them (the row's own id, its parent, its customer, order, campaign,
// product and merchant account, and what is derived from them: purchase,
// order and note keys).
var keyIDs = map[legacy.Kind][]string{
	legacy.Transactions: {legacy.FMerchantTxnID, legacy.FParentTxnID, legacy.FCustomerID, legacy.FOrderID,
		legacy.FCampaignID, legacy.FProductID, legacy.FMerchantID},
	legacy.Notes:   {legacy.FCustomerID},
	legacy.Details: {legacy.FCustomerID},
}

// keyColumns maps the positions of a file's identifier columns (keyIDs) to
// their names.
type keyColumns map[int]string

// keys returns the positions of the identifier columns of a file of kind.
func (c columns) keys(kind legacy.Kind) keyColumns {
	k := keyColumns{}
	for _, name := range keyIDs[kind] {
		if i, ok := c.Columns[name]; ok {
			k[i] = name
		}
	}
	return k
}

// screen is the one place a row's values are made safe to store: every
// value of rec is masked in place by the one rule (cardnum.MaskText), so
// names, email addresses, addresses, notes, agent names, custom fields,
// login ids, affiliate ids, and all that is built from them (the raw JSON,
// the rollups, the database's statistics) hold no card number whole.
//
// An identifier is not masked: two ids that differ only in the digits
// masking hides would become one, and rows that are different would merge
// (a customer's orders under another customer, one transaction replacing
// another). So a row whose identifier column (keyIDs) holds a card number
// (cardnum.HasCard) is not loaded at all: screen reports it (ok false,
// with the column's name) and the caller skips it and counts it in
// Result.Skipped and Result.CardInID, whether or not the load is forced.
// Such a row is refused rather than stored under a made-up id: a card
// number where an id belongs is an export gone wrong, to be fixed at the
// source (konduit validate warns card-number-elsewhere).
func (k keyColumns) screen(rec *legacy.Record) (col string, ok bool) {
	for i, v := range rec.Fields {
		m := cardnum.MaskText(v)
		if m == v {
			continue
		}
		if name, key := k[i]; key {
			return name, false
		}
		rec.Fields[i] = m
	}
	return "", true
}

// NoteID keys a legacy note: the file has no id, so the customer, the time
// and a digest of agent and text name it (loading a file twice stores each
// note once). Agent and text are the screened ones: a digest of a
// card number would let its hidden digits be guessed back.
func NoteID(n crm.Note) string {
	h := sha256.Sum256([]byte(n.Agent + "\x00" + n.Text))
	return n.CustomerID + "|" + n.Created.Raw + "|" + hex.EncodeToString(h[:8])
}

// mapRow turns one transactions row, screened (see screen), into the crm
// values it holds.
func mapRow(cols columns, rec *legacy.Record, file string, loc *time.Location) (crm.Transaction, crm.Customer, *crm.Purchase, error) {
	get := func(name string) string { return cols.get(rec.Fields, name) }
	var t crm.Transaction
	t.Source = crm.SourceLegacy
	t.ID = get(legacy.FMerchantTxnID)
	if t.ID == "" {
		return t, crm.Customer{}, nil, errors.New("no merchantTxnId")
	}
	t.MerchantTxnID = t.ID
	t.ParentID = get(legacy.FParentTxnID)
	t.CustomerID = get(legacy.FCustomerID)
	if t.CustomerID == "" {
		return t, crm.Customer{}, nil, errors.New("no customerId")
	}
	t.OrderID = get(legacy.FOrderID)
	t.CampaignID = get(legacy.FCampaignID)
	t.ProductID = get(legacy.FProductID)
	t.MerchantID = get(legacy.FMerchantID)
	t.AffID = get(legacy.FAffID)
	t.SubAffID = get(legacy.FSubAffID)
	t.Country = strings.ToUpper(get(legacy.FCountry))
	t.TxnType = strings.ToUpper(get(legacy.FTxnType))
	t.ResponseType = strings.ToUpper(get(legacy.FResponseType))
	t.PaySource = strings.ToUpper(get(legacy.FPaySource))
	if t.PaySource == legacy.ValueCreditCard {
		if card := get(legacy.FCardNumber); len(card) >= 4 {
			t.CardLast4 = card[len(card)-4:]
		}
	}
	var err error
	for _, m := range []struct {
		dst  *crm.Money
		name string
	}{{&t.SubTotal, legacy.FSubTotal}, {&t.ShipTotal, legacy.FShipTotal}, {&t.SalesTax, legacy.FSalesTax}, {&t.Amount, legacy.FTotalAmount}} {
		v := get(m.name)
		if v == "" {
			continue
		}
		if *m.dst, err = crm.ParseMoney(v); err != nil {
			return t, crm.Customer{}, nil, fmt.Errorf("%s: %w", m.name, err)
		}
	}
	if t.Created, err = crm.ParseWall(get(legacy.FDateCreated), loc); err != nil {
		return t, crm.Customer{}, nil, err
	}
	if t.Created.IsZero() {
		return t, crm.Customer{}, nil, errors.New("no dateCreated")
	}
	t.Updated = t.Created
	if get(legacy.FIsChargedback) == "1" {
		t.Chargedback = true
		if v := get(legacy.FChargebackTotal); v != "" {
			if t.ChargebackAmt, err = crm.ParseMoney(v); err != nil {
				return t, crm.Customer{}, nil, fmt.Errorf("%s: %w", legacy.FChargebackTotal, err)
			}
		} else {
			t.ChargebackAmt = t.Amount
		}
		if t.ChargebackDay, err = crm.ParseDate(get(legacy.FChargebackDate)); err != nil {
			return t, crm.Customer{}, nil, err
		}
		t.ChargebackWhy = get(legacy.FChargebackReason)
	}
	raw := map[string]any{"file": file, "row": rec.Row}
	for _, name := range rawFields {
		if v := get(name); v != "" {
			raw[name] = v
		}
	}
	t.Raw, _ = json.Marshal(raw)
	t.Raw = cardnum.MaskJSON(t.Raw) // the file name; the values are screened

	c := crm.Customer{Source: crm.SourceLegacy, ID: t.CustomerID,
		FirstName: get(legacy.FFirstName), LastName: get(legacy.FLastName), Email: get(legacy.FEmailAddress),
		Phone: get(legacy.FPhoneNumber), Country: t.Country, State: get(legacy.FState), PostalCode: get(legacy.FPostalCode),
		Created: t.Created, Updated: t.Created}
	craw := map[string]string{}
	for _, name := range customerRawFields {
		if v := get(name); v != "" {
			craw[name] = v
		}
	}
	c.Raw, _ = json.Marshal(craw)
	c.Raw = cardnum.MaskJSON(c.Raw)

	var p *crm.Purchase
	if get(legacy.FIsActiveRecurring) == "1" {
		next, err := crm.ParseDate(get(legacy.FNextBillDate))
		if err != nil {
			return t, c, nil, err
		}
		if !next.IsZero() {
			p = &crm.Purchase{Source: crm.SourceLegacy, ID: PurchaseID(t.CustomerID, t.ProductID), OrderID: t.OrderID,
				CustomerID: t.CustomerID, CampaignID: t.CampaignID, ProductID: t.ProductID, MerchantID: t.MerchantID,
				Status: "ACTIVE", NextBillDate: next, Created: t.Created, Updated: t.Created}
		}
	}
	return t, c, p, nil
}

// PurchaseID names the subscription a legacy customer holds on a product:
// the files have no purchase identifier, and metrics.md makes a customer's
// rows for one product the subscription.
func PurchaseID(customerID, productID string) string {
	return customerID + "/" + productID
}

// saleSQL is metrics.md's sale (crm's one definition).
var saleSQL = crm.SaleSQL("")

// deriveSQL runs after the rows are in, in one transaction. Each statement
// takes the integration id for every ?. Intermediate results go through
// temporary tables with primary keys, so every UPDATE joins by index on both
// engines.
var deriveSQL = []string{
	`DROP TABLE IF EXISTS load_cycles`,
	`CREATE TEMP TABLE load_cycles (id TEXT PRIMARY KEY, cycle BIGINT NOT NULL)`,
	// Cycles: 1 + the approved sales of the customer's product before the
	// row (by dateCreated, then merchantTxnId). A sale is its own cycle, a
	// decline or authorization the attempt at the next one. Only rows whose
	// stored cycle differs are written (see cycleGuess): an UPDATE writes a
	// new version of the whole row and its index entries.
	// Only the rows whose cycle differs are kept: the UPDATE then probes
	// those alone.
	`INSERT INTO load_cycles (id, cycle)
SELECT id, cycle FROM (
  SELECT id, billing_cycle, 1 + COALESCE(SUM(CASE WHEN ` + saleSQL + ` THEN 1 ELSE 0 END)
        OVER (PARTITION BY customer_id, product_id ORDER BY created_raw, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS cycle
  FROM transactions WHERE integration_id = ? AND source = 'legacy' AND txn_type NOT IN (` + crm.RefundTypesSQL() + `)
) w WHERE cycle <> billing_cycle`,
	`UPDATE transactions SET billing_cycle = c.cycle FROM load_cycles c
WHERE transactions.integration_id = ? AND transactions.source = 'legacy' AND transactions.id = c.id AND transactions.billing_cycle <> c.cycle`,
	`DELETE FROM load_cycles`,
	// A refund belongs to its parent's cycle.
	`INSERT INTO load_cycles (id, cycle)
SELECT r.id, p.billing_cycle FROM transactions r JOIN transactions p
  ON p.integration_id = r.integration_id AND p.source = r.source AND p.id = r.parent_id
WHERE r.integration_id = ? AND r.source = 'legacy' AND r.txn_type IN (` + crm.RefundTypesSQL() + `) AND r.billing_cycle <> p.billing_cycle`,
	`UPDATE transactions SET billing_cycle = c.cycle FROM load_cycles c
WHERE transactions.integration_id = ? AND transactions.source = 'legacy' AND transactions.id = c.id AND transactions.billing_cycle <> c.cycle`,
	`DROP TABLE load_cycles`,
	`DELETE FROM orders WHERE integration_id = ? AND source = 'legacy'`,
	`INSERT INTO orders (integration_id, source, id, customer_id, campaign_id, status, type, aff_id, sub_aff_id, country, total_cents,
    created_raw, created_utc, updated_raw, updated_utc)
SELECT integration_id, source, order_id, MIN(customer_id), MIN(campaign_id),
    CASE WHEN SUM(CASE WHEN ` + saleSQL + ` THEN 1 ELSE 0 END) > 0 THEN 'COMPLETE' ELSE 'DECLINED' END,
    CASE WHEN MIN(billing_cycle) > 1 THEN 'RECURRING' ELSE 'NEW_SALE' END,
    MIN(aff_id), MIN(sub_aff_id), MIN(country),
    SUM(CASE WHEN ` + saleSQL + ` THEN amount_cents ELSE 0 END),
    MIN(created_raw), MIN(created_utc), MAX(created_raw), MAX(created_utc)
FROM transactions WHERE integration_id = ? AND source = 'legacy' AND order_id <> ''
GROUP BY integration_id, source, order_id`,
	// Customers: created at their first row, updated at their last.
	`DROP TABLE IF EXISTS load_customers`,
	`CREATE TEMP TABLE load_customers (id TEXT PRIMARY KEY, first_raw TEXT, first_utc BIGINT, last_raw TEXT, last_utc BIGINT)`,
	`INSERT INTO load_customers (id, first_raw, first_utc, last_raw, last_utc)
SELECT customer_id, MIN(created_raw), MIN(created_utc), MAX(created_raw), MAX(created_utc)
FROM transactions WHERE integration_id = ? AND source = 'legacy' GROUP BY customer_id`,
	`UPDATE customers SET created_raw = m.first_raw, created_utc = m.first_utc, updated_raw = m.last_raw, updated_utc = m.last_utc
FROM load_customers m WHERE customers.integration_id = ? AND customers.source = 'legacy' AND customers.id = m.id
  AND (customers.created_raw IS DISTINCT FROM m.first_raw OR customers.created_utc IS DISTINCT FROM m.first_utc
    OR customers.updated_raw IS DISTINCT FROM m.last_raw OR customers.updated_utc IS DISTINCT FROM m.last_utc)`,
	`DROP TABLE load_customers`,
	// Active subscriptions: the cycle they reached (an approved
	// authorization not captured yet counts, as in Konnektive).
	`DROP TABLE IF EXISTS load_subs`,
	`CREATE TEMP TABLE load_subs (customer_id TEXT NOT NULL, product_id TEXT NOT NULL, cycle BIGINT NOT NULL, PRIMARY KEY (customer_id, product_id))`,
	`INSERT INTO load_subs (customer_id, product_id, cycle)
SELECT customer_id, product_id, MAX(billing_cycle) FROM transactions
WHERE integration_id = ? AND source = 'legacy' AND txn_type IN ('SALE', 'AUTHORIZE', 'CAPTURE') AND response_type = 'SUCCESS'
GROUP BY customer_id, product_id`,
	`UPDATE purchases SET billing_cycle = m.cycle FROM load_subs m
WHERE purchases.integration_id = ? AND purchases.source = 'legacy' AND purchases.customer_id = m.customer_id AND purchases.product_id = m.product_id
  AND purchases.billing_cycle <> m.cycle`,
	`DROP TABLE load_subs`,
}

func derive(ctx context.Context, st *store.Store, integrationID int64) error {
	start := time.Now()
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("derive cycles and orders: %w", err)
	}
	defer conn.Close()
	if st.Backend() == store.SQLite {
		// The window sort and the temporary tables hold every row of the
		// integration: on this connection they go to temporary files
		// (created 0600 and unlinked at once by SQLite), not memory, which
		// would otherwise grow with the file (measured: 1.4 GB and rising
		// during the derive of 1M rows). The connection is then discarded,
		// so the setting goes with it.
		//
		// Its page cache is also held to 64 MiB (the connection may be the
		// one Tune gave 256 MiB): SQLite's sorter keeps up to a cache's
		// worth of rows in memory before it spills, so the cache bounds the
		// derive's memory twice (measured at 1M: 944 MiB peak with 256).
		for _, p := range []string{"PRAGMA temp_store = FILE", "PRAGMA cache_size = -65536"} {
			if _, err := conn.ExecContext(ctx, p); err != nil {
				return fmt.Errorf("derive cycles and orders: %w", err)
			}
		}
		defer conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("derive cycles and orders: %w", err)
	}
	defer tx.Rollback()
	for _, q := range deriveSQL {
		n := strings.Count(q, "?")
		args := make([]any, n)
		for i := range args {
			args[i] = integrationID
		}
		t0 := time.Now()
		r, err := tx.ExecContext(ctx, st.Rebind(q), args...)
		if err != nil {
			return fmt.Errorf("derive cycles and orders: %s: %w", firstWords(q), err)
		}
		affected, _ := r.RowsAffected()
		slog.Debug("derive", "step", firstWords(q), "rows", affected, "took", time.Since(t0))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("derive cycles and orders: %w", err)
	}
	slog.Debug("derived cycles, orders and customers", "took", time.Since(start))
	return nil
}

func firstWords(q string) string {
	f := strings.Fields(q)
	return strings.Join(f[:min(4, len(f))], " ")
}
