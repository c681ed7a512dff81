// Command rollup-bench measures what keeping the report rollups current
// costs after a day of new activity on a large store. It copies the
// transactions of the last DAYS days of the integration, dated 30 days
// later and with new ids (the next month's rebills of the same customers),
// marks a few older sales as charged back, writes both through
// store.Tx.UpsertTransactions as the sync does, and times rollup.Refresh.
//
// Usage: go run ./bench/rollup -db sqlite:PATH|postgres://... [-integration NAME] [-days 1] [-rebuild | -compare]
//
// -rebuild times a full rebuild instead; -compare times, in one run, a full
// rebuild, then the day of activity and its refresh, then a full rebuild
// again, and prints the refresh's ratio to each rebuild.
//
// It changes the database (the charged-back rows keep only the columns the
// reports read): run it on a copy.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/rollup"
	"github.com/konduit/konduit/internal/store"
)

func main() {
	dsn := flag.String("db", "", "the store (a copy: it is changed)")
	name := flag.String("integration", "legacy", "integration name")
	days := flag.Int("days", 1, "days of activity to replay")
	chargebacks := flag.Int("chargebacks", 100, "older sales to mark charged back")
	rebuild := flag.Bool("rebuild", false, "instead: time a full rebuild of the rollups")
	compare := flag.Bool("compare", false, "time a full rebuild, the day's refresh and a full rebuild again, in one run")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the refresh to this file")
	verbose := flag.Bool("v", false, "log the refresh's phases")
	flag.Parse()
	if *verbose {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	in, err := st.Integration(ctx, *name)
	if err != nil {
		log.Fatal(err)
	}
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil {
		log.Fatal(err)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	full := func() time.Duration {
		if err := st.Update(ctx, func(tx *store.Tx) error { return tx.InvalidateRollups(ctx, in.ID) }); err != nil {
			log.Fatal(err)
		}
		res, err := rollup.Refresh(ctx, st, in)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("rebuilt the rollups of %d customers in %.2fs\n", res.Customers, res.Took.Seconds())
		return res.Took
	}
	if *rebuild {
		full()
		return
	}
	var before time.Duration
	if *compare {
		before = full()
	}
	if _, ok, err := rollup.Ready(ctx, st, in.ID); err != nil || !ok {
		log.Fatalf("the rollups are not current (%v): run konduit rollup first", err)
	}
	var last int64
	if err := st.DB().QueryRow(st.Rebind(`SELECT MAX(created_utc) FROM transactions WHERE integration_id = ?`), in.ID).Scan(&last); err != nil {
		log.Fatal(err)
	}
	from := last - int64(*days)*86400
	rows, err := st.DB().Query(st.Rebind(`SELECT source, id, customer_id, order_id, purchase_id, campaign_id, product_id, merchant_id, aff_id, sub_aff_id, country,
 txn_type, response_type, amount_cents, billing_cycle, created_raw FROM transactions WHERE integration_id = ? AND created_utc > ? AND txn_type <> 'REFUND'`), in.ID, from)
	if err != nil {
		log.Fatal(err)
	}
	var txns []crm.Transaction
	for rows.Next() {
		var t crm.Transaction
		var src, raw string
		var amt, cycle int64
		if err := rows.Scan(&src, &t.ID, &t.CustomerID, &t.OrderID, &t.PurchaseID, &t.CampaignID, &t.ProductID, &t.MerchantID, &t.AffID, &t.SubAffID, &t.Country,
			&t.TxnType, &t.ResponseType, &amt, &cycle, &raw); err != nil {
			log.Fatal(err)
		}
		naive, err := time.Parse(crm.WallLayout, raw)
		if err != nil {
			log.Fatal(err)
		}
		if t.Created, err = crm.ParseWall(naive.AddDate(0, 0, 30).Format(crm.WallLayout), loc); err != nil {
			log.Fatal(err)
		}
		t.Source, t.Amount, t.BillingCycle, t.Updated = crm.Source(src), crm.Money(amt), int(cycle)+1, t.Created
		t.ID += "-next"
		if t.OrderID != "" {
			t.OrderID += "-next"
		}
		txns = append(txns, t)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	rows.Close()
	// Late chargebacks on sales of two months before.
	cbRows, err := st.DB().Query(st.Rebind(`SELECT source, id, customer_id, order_id, purchase_id, campaign_id, product_id, merchant_id, aff_id, sub_aff_id, country,
 txn_type, response_type, amount_cents, billing_cycle, created_raw FROM transactions WHERE integration_id = ? AND created_utc > ? AND created_utc < ?
 AND txn_type = 'SALE' AND response_type = 'SUCCESS' AND chargedback = 0 LIMIT ?`), in.ID, from-60*86400, from-59*86400, *chargebacks)
	if err != nil {
		log.Fatal(err)
	}
	cbDay := crm.DateOf(time.Unix(last, 0).In(loc))
	n := 0
	for cbRows.Next() {
		var t crm.Transaction
		var src, raw string
		var amt, cycle int64
		if err := cbRows.Scan(&src, &t.ID, &t.CustomerID, &t.OrderID, &t.PurchaseID, &t.CampaignID, &t.ProductID, &t.MerchantID, &t.AffID, &t.SubAffID, &t.Country,
			&t.TxnType, &t.ResponseType, &amt, &cycle, &raw); err != nil {
			log.Fatal(err)
		}
		if t.Created, err = crm.ParseWall(raw, loc); err != nil {
			log.Fatal(err)
		}
		t.Source, t.Amount, t.BillingCycle, t.Updated = crm.Source(src), crm.Money(amt), int(cycle), t.Created
		t.Chargedback, t.ChargebackAmt, t.ChargebackDay = true, t.Amount, cbDay
		txns = append(txns, t)
		n++
	}
	cbRows.Close()
	start := time.Now()
	for i := 0; i < len(txns); i += 500 {
		part := txns[i:min(i+500, len(txns))]
		if err := st.Update(ctx, func(tx *store.Tx) error { return tx.UpsertTransactions(ctx, in.ID, part) }); err != nil {
			log.Fatal(err)
		}
	}
	write := time.Since(start)
	res, err := rollup.Refresh(ctx, st, in)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d transactions (%d new, %d charged back) in %.2fs; refresh: full=%v, %d customers, %d shards, %d buckets, %d days in %.2fs\n",
		len(txns), len(txns)-n, n, write.Seconds(), res.Full, res.Customers, res.Shards, res.Buckets, res.Days, res.Took.Seconds())
	if *compare {
		after := full()
		fmt.Printf("refresh / rebuild: %.4f (before), %.4f (after)\n", res.Took.Seconds()/before.Seconds(), res.Took.Seconds()/after.Seconds())
	}
}
