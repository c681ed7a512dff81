package load

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konduit/konduit/internal/cardnum"
	"github.com/konduit/konduit/internal/legacy"
	"github.com/konduit/konduit/internal/synth"
)

// editLegacy rewrites a legacy file: fn changes each data row i (0 is the
// first row after the header), its values found by column name.
func editLegacy(t *testing.T, path string, fn func(i int, set func(name, v string), get func(name string) string)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := legacy.NewReader(strings.NewReader(string(b)))
	var out strings.Builder
	w := legacy.NewWriter(&out)
	var cols columns
	for i := -1; ; i++ {
		rec, err := r.Read()
		if err != nil {
			break
		}
		if i < 0 {
			cols = newColumns(rec.Fields)
		} else {
			fn(i, func(name, v string) { rec.Fields[cols.Columns[name]] = v }, func(name string) string { return cols.get(rec.Fields, name) })
		}
		if err := w.Write(rec.Fields); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLoadStoresNoCardNumber: card numbers (made at run time) in free text
// are stored masked to their last four; a row with one in an identifier
// is not loaded, and is counted.
func TestLoadStoresNoCardNumber(t *testing.T) {
	ctx := context.Background()
	opts := genOpts(t, 40)
	dir := t.TempDir()
	if _, err := synth.WriteLegacy(ctx, opts, dir); err != nil {
		t.Fatal(err)
	}
	var cards []string
	card := func() string {
		c := luhn(fmt.Sprintf("4%014d", 7340001+len(cards)*7919))
		cards = append(cards, c)
		return c
	}
	spaced := func(c string) string { return c[:4] + " " + c[4:8] + " " + c[8:12] + " " + c[12:] }
	masked := map[string]string{} // column: the masked value it must hold
	paths := files(dir)
	editLegacy(t, paths[0], func(i int, set func(string, string), get func(string) string) {
		switch i {
		case 0:
			c := card()
			set(legacy.FAffID, c)
			masked["transactions.aff_id"] = cardnum.MaskText(c)
			set(legacy.FFirstName, "Ann "+spaced(card()))
			set(legacy.FAddress1, card()+" Main St")
			set(legacy.FTrackingNumber, "1Z"+card())
		case 1:
			set(legacy.FCustomerID, card()) // not loaded
		case 2:
			set(legacy.FMerchantTxnID, "ch-"+spaced(card())) // not loaded
		}
	})
	editLegacy(t, paths[1], func(i int, set func(string, string), get func(string) string) {
		switch i {
		case 0:
			c := card()
			set(legacy.FNoteText, "customer read "+c+" exp 09/31")
			masked["customer_notes.note_text"] = "customer read " + cardnum.MaskText(c) + " exp 09/31"
			set(legacy.FAgentName, card())
		case 1:
			set(legacy.FCustomerID, card()) // not loaded
		}
	})
	editLegacy(t, paths[2], func(i int, set func(string, string), get func(string) string) {
		if i == 0 {
			c := card()
			set(legacy.FCustom1, "ref "+c)
			masked["customer_details.custom1"] = "ref " + cardnum.MaskText(c)
			set(legacy.FLoginID, card())
		}
	})
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	res, err := Load(ctx, st, paths, Options{TimeZone: opts.TimeZone, Check: checkOpts, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.CardInID != 3 || res.Skipped < 3 || res.Transactions == 0 || res.Notes == 0 || res.Details == 0 {
		t.Fatalf("load: %+v; want 3 rows skipped for a card number in an id", res)
	}
	for col, want := range masked {
		tbl, c, _ := strings.Cut(col, ".")
		var n int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM `+tbl+` WHERE `+c+` = ?`, want).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("%s: no row holds the masked value %q", col, want)
		}
	}
	// Every value of every table: no card number, nor any card's digits.
	rows, err := st.DB().Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tbl := range tables {
		scanTable(t, st.DB(), tbl, cards)
	}
}

func scanTable(t *testing.T, db *sql.DB, tbl string, cards []string) {
	t.Helper()
	rs, err := db.Query(`SELECT * FROM "` + tbl + `"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			s := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			flat := strings.NewReplacer(" ", "", "-", "").Replace(s)
			for _, c := range cards {
				if strings.Contains(flat, c) {
					t.Errorf("%s.%s holds a card number whole (…%s)", tbl, cols[i], c[len(c)-4:])
				}
			}
		}
	}
}
