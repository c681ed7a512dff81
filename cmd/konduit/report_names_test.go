package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/konduit/konduit/internal/konnektive/fake"
)

// A synced account (the fake: names, USD and EUR, card brands): the CLI
// refuses to add currencies, restricts to one, shows names beside ids,
// filters by name, and flags per brand with the rule printed.
func TestReportCLINamesCurrencyBrands(t *testing.T) {
	t.Parallel()
	url, _ := startCLIFake(t, 120, fake.Options{})
	dir := t.TempDir()
	env := []string{"KONNEKTIVE_PASSWORD=" + cliPassword, "KONDUIT_SECRET_KEY="}
	if r := runCLI(t, dir, env, "connect", "konnektive", "--db", "sqlite:k.db", "--name", "acme", "--login-id", cliLogin,
		"--timezone", cliZone, "--api-url", url, "--from", fromDay()); r.code != 0 {
		t.Fatalf("connect: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, env, "sync", "--db", "sqlite:k.db", "--rate", "0"); r.code != 0 {
		t.Fatalf("sync: exit %d\n%s", r.code, r.stderr)
	}
	base := []string{"report", "summary", "--db", "sqlite:k.db", "--from", fromDay(), "--to", "2099-01-01"}
	r := runCLI(t, dir, nil, base...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "EUR and USD") || !strings.Contains(r.stderr, "--by currency") {
		t.Fatalf("summary over two currencies: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, append(base, "--by", "currency", "--format", "csv")...)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(recs) != 3 || recs[1][0] != "EUR" || recs[2][0] != "USD" {
		t.Fatalf("by currency: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, append(base, "--currency", "USD", "--by", "merchant", "--format", "json")...)
	var by struct {
		Currency string `json:"currency"`
		Groups   []struct {
			Group string `json:"group"`
			Name  string `json:"group_name"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &by); err != nil || by.Currency != "USD" || len(by.Groups) == 0 {
		t.Fatalf("usd by merchant: %v\n%s%s", err, r.stdout, r.stderr)
	}
	for _, g := range by.Groups {
		if g.Name == "" || g.Group == "15" {
			t.Errorf("merchant %s named %q (15 bills in EUR)", g.Group, g.Name)
		}
	}
	// Combined filters by name: campaign and merchant account at once equal
	// that merchant's group of the campaign's breakdown, on both roads.
	r = runCLI(t, dir, nil, append(base, "--currency", "USD", "--by", "campaign", "--format", "json")...)
	var camps struct {
		Groups []struct {
			Group string `json:"group"`
			Name  string `json:"group_name"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &camps); err != nil || len(camps.Groups) == 0 || camps.Groups[0].Name == "" {
		t.Fatalf("usd by campaign: %v\n%s%s", err, r.stdout, r.stderr)
	}
	camp, mid := camps.Groups[0], by.Groups[0]
	r = runCLI(t, dir, nil, append(base, "--currency", "USD", "--by", "merchant", "--where", "campaign="+strings.ToUpper(camp.Name), "--format", "json")...)
	var perMID map[string]any
	var groups struct {
		Groups []map[string]any `json:"groups"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &groups); err != nil {
		t.Fatalf("campaign %s by merchant: %v\n%s%s", camp.Name, err, r.stdout, r.stderr)
	}
	for _, g := range groups.Groups {
		if g["group"] == mid.Group {
			perMID = g
		}
	}
	for _, raw := range []bool{false, true} {
		args := append(base, "--currency", "USD", "--where", "campaign="+camp.Name, "--where", "mid= "+mid.Name, "--format", "json")
		if raw {
			args = append(args, "--no-rollup")
		}
		r = runCLI(t, dir, nil, args...)
		var both map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &both); r.code != 0 || err != nil {
			t.Fatalf("campaign %s and merchant %s: exit %d %v\n%s%s", camp.Name, mid.Name, r.code, err, r.stdout, r.stderr)
		}
		if perMID == nil {
			if both["sales"] != 0.0 {
				t.Errorf("campaign %s and merchant %s: %v, and the merchant has no group of the campaign", camp.Name, mid.Name, both)
			}
			continue
		}
		for k, v := range perMID {
			if k != "group" && k != "group_name" && both[k] != v {
				t.Errorf("campaign %s and merchant %s (no-rollup %v): %s = %v, the merchant's group of the campaign has %v", camp.Name, mid.Name, raw, k, both[k], v)
			}
		}
	}
	// The trend's points add up to the summary (same filters).
	// (the data ends today; the summary runs to 2099, more months than a trend draws)
	period := []string{"--db", "sqlite:k.db", "--from", fromDay(), "--to", time.Now().AddDate(0, 1, 0).Format("2006-01-02"), "--currency", "USD", "--where", "campaign=" + camp.Name, "--format", "json"}
	r = runCLI(t, dir, nil, append([]string{"report", "trend", "--grain", "month"}, period...)...)
	var tr struct {
		Points []struct {
			Gross string `json:"gross_revenue"`
			Sales int64  `json:"sales"`
		} `json:"points"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &tr); r.code != 0 || err != nil || len(tr.Points) == 0 {
		t.Fatalf("trend: exit %d %v\n%.500s%s", r.code, err, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, append([]string{"report", "summary"}, period...)...)
	var whole struct {
		Gross string `json:"gross_revenue"`
		Sales int64  `json:"sales"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &whole); err != nil || whole.Sales == 0 {
		t.Fatalf("summary of campaign %s: %v\n%s", camp.Name, err, r.stdout)
	}
	sum, sales := decimal.Zero, int64(0)
	for _, p := range tr.Points {
		sum = sum.Add(decimal.RequireFromString(p.Gross))
		sales += p.Sales
	}
	if sum.StringFixed(2) != whole.Gross || sales != whole.Sales {
		t.Errorf("trend points add up to %s gross and %d sales; the summary has %s and %d", sum.StringFixed(2), sales, whole.Gross, whole.Sales)
	}
	r = runCLI(t, dir, nil, append(base, "--currency", "USD", "--where", "campaign="+camp.Name, "--where", "mid=nobody")...)
	if r.code == 0 || !strings.Contains(r.stderr, "known are") || !strings.Contains(r.stderr, mid.Name) {
		t.Errorf("an unknown merchant among filters: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, append(base, "--currency", "USD", "--where", "planet=Mars")...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "unknown filter dimension") {
		t.Errorf("--where planet=Mars: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, append(base, "--currency", "eur", "--by", "merchant", "--only", "checkout.com eu")...)
	if r.code != 0 || !strings.Contains(r.stdout, "Checkout.com EU") || strings.Contains(r.stdout, "NMI") {
		t.Errorf("only Checkout.com EU: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, append(base, "--currency", "USD", "--by", "merchant", "--only", "nobody")...)
	if r.code == 0 || !strings.Contains(r.stderr, "known are") {
		t.Errorf("an unknown merchant: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, dir, nil, "report", "chargebacks", "--db", "sqlite:k.db", "--early-ratio", "0.01%", "--format", "csv")
	recs, err = csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(recs) < 2 || recs[0][len(recs[0])-1] != "rule" {
		t.Fatalf("chargebacks: exit %d %v\n%.600s%s", r.code, err, r.stdout, r.stderr)
	}
	brands := map[string]bool{}
	for _, rec := range recs[1:] {
		brands[rec[3]] = true
		// a Visa or Mastercard month with a chargeback is over 0.01%
		if (rec[3] == "Visa" || rec[3] == "Mastercard") && rec[4] != "0" && !strings.Contains(rec[len(rec)-1], "EARLY: ") {
			t.Errorf("no early warning beside %v", rec)
		}
	}
	if !brands["all cards"] || !brands["Visa"] || !brands["Mastercard"] {
		t.Errorf("chargebacks brands %v", brands)
	}
	r = runCLI(t, dir, nil, "report", "retention", "--db", "sqlite:k.db", "--format", "csv", "--from", fromDay())
	if r.code != 0 || !strings.HasPrefix(r.stdout, "product,product_name,subscriptions,cycle,") || strings.Contains(r.stdout, "*") {
		t.Errorf("retention: exit %d\n%.600s%s", r.code, r.stdout, r.stderr)
	}
}

// Legacy files carry ids only: the report says so.
func TestReportCLILegacyNamesNote(t *testing.T) {
	t.Parallel()
	dir, db := loadedDB(t)
	r := runCLI(t, dir, nil, "report", "summary", "--db", db, "--from", "2025-10-01", "--to", "2025-10-31", "--by", "campaign")
	if r.code != 0 || !strings.Contains(r.stdout, "legacy import files carry ids only") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, nil, "report", "ltv", "--db", db, "--as-of", "2025-11-10", "--format", "csv")
	if r.code != 0 || strings.Contains(r.stdout, "*") || !strings.Contains(r.stdout, "partial_day_365") || !strings.Contains(r.stdout, ",true") {
		t.Errorf("ltv csv: exit %d\n%.500s", r.code, r.stdout)
	}
}
