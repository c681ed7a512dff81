package convert

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func docsText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocsYAMLBlocksLoad: every example in docs/mapping.md is a mapping the
// strict loader accepts.
func TestDocsYAMLBlocksLoad(t *testing.T) {
	blocks := yamlBlock.FindAllStringSubmatch(docsText(t), -1)
	if len(blocks) < 5 {
		t.Fatalf("%d yaml blocks", len(blocks))
	}
	for i, b := range blocks {
		if _, err := Load(fmt.Sprintf("docs block %d", i+1), []byte(b[1])); err != nil {
			t.Errorf("docs block %d: %v\n%s", i+1, err, b[1])
		}
	}
}

// TestDocsCoverEveryOption: each column key, format and problem rule the
// code knows is documented.
func TestDocsCoverEveryOption(t *testing.T) {
	doc := docsText(t)
	for _, v := range []any{Mapping{}, SourceSpec{}, OutputSpec{}, JoinSpec{}, Cond{}, DefaultCase{}, ColumnSpec{}} {
		ct := reflect.TypeOf(v)
		for i := 0; i < ct.NumField(); i++ {
			if tag := strings.Split(ct.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && !strings.Contains(doc, "`"+tag+"`") && !strings.Contains(doc, tag+":") {
				t.Errorf("%s key %q is not documented", ct.Name(), tag)
			}
		}
	}
	for f := range knownFormats {
		if f != "" && !strings.Contains(doc, "`"+f+"`") {
			t.Errorf("format %q is not documented", f)
		}
	}
	for _, r := range []string{RuleUnmapped, RuleNotInMap, RuleNoColumn, RuleBadValue, RuleJoinMissing, RuleJoinDup, RuleSource} {
		if !strings.Contains(doc, "`"+r+"`") {
			t.Errorf("problem %q is not documented", r)
		}
	}
	for _, p := range Presets() {
		if !strings.Contains(doc, "`"+p+"`") {
			t.Errorf("preset %q is not documented", p)
		}
	}
}

// TestDocsCompleteExample converts a generated export shaped like the one
// the guide describes with the guide's own mapping, and validates it.
func TestDocsCompleteExample(t *testing.T) {
	doc := docsText(t)
	i := strings.Index(doc, "## A complete example")
	m := yamlBlock.FindStringSubmatch(doc[i:])
	mapping, err := Load("docs example", []byte(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	dir := t.TempDir()
	orders := [][]string{strings.Split("customer_id,order_number,created,sku,subscription_status,next_rebill,gateway,gateway_txn_id,kind,original_txn_id,total,shipping,tax,status,auth_code,full_name,street,suite,unit,city,state,country,zip,phone,email,ship_to_billing,ship_street,ship_city,ship_state,ship_country,ship_zip", ",")}
	vault := [][]string{{"customer_ref", "card_number", "expiry", "cvv", "token"}}
	for c := 0; c < 40; c++ {
		cust := fmt.Sprintf("C%04d", c)
		vault = append(vault, []string{cust, cardNumber(rng, "5", 16), fmt.Sprintf("%02d/%d", 1+c%12, 30+c%3), "123", fmt.Sprintf("tok_%d", c)})
		status := []string{"active", "cancelled", ""}[c%3]
		next := ""
		if status == "active" {
			next = "02/15/2027"
		}
		total := 1000 + rng.IntN(100000)
		ship := ""
		if c%2 == 0 {
			ship = "9 Ship Rd"
		}
		orders = append(orders, []string{cust, fmt.Sprintf("N%05d", c), fmt.Sprintf("%02d/%02d/2025 %02d:30 %s", 1+c%12, 1+c%28, 1+c%12, []string{"AM", "PM"}[c%2]),
			[]string{"MONTHLY", "QUARTERLY"}[c%2], status, next, []string{"nmi-1", "nmi-2"}[c%2], fmt.Sprintf("g%08d", c), "charge", "",
			thousands(total + 500 + 120), "$5.00", "$1.20", []string{"approved", "approved", "declined"}[c%3], "A1", "Doe, Jane",
			"1 Main St", "Suite 5", "", "Austin", "tx", "USA", "78701", "+1 (512) 555-0100", "Jane.Doe@Example.com",
			map[bool]string{true: "", false: "yes"}[c%4 == 0], ship, "Dallas", "TX", "US", "75201"})
		if c%5 == 0 && c%3 != 2 { // a refund of the charge
			orders = append(orders, []string{cust, fmt.Sprintf("N%05d", c), "03/01/2025 10:00 AM", "MONTHLY", "", "", "nmi-1", fmt.Sprintf("r%08d", c), "refund", fmt.Sprintf("g%08d", c),
				"$6.20", "$5.00", "$1.20", "approved", "", "Doe, Jane", "1 Main St", "", "", "Austin", "TX", "US", "78701", "", "jane.doe@example.com", "yes", "", "", "", "", ""})
		}
	}
	orders = append(orders, []string{"C9999", "N99999", "01/01/2025", "MONTHLY", "", "", "nmi-1", "test", "charge", "", "$0.00", "$0.00", "$0.00", "test"})
	orders[len(orders)-1] = append(orders[len(orders)-1], make([]string, len(orders[0])-14)...)
	ordersPath := writeFile(t, filepath.Join(dir, "orders_2025.csv"), csvBytes(t, ',', true, orders))
	cardsPath := writeFile(t, filepath.Join(dir, "cards.zip"), zipOf(t, map[string][]byte{"vault.csv": csvBytes(t, ',', false, vault)}))
	res, err := Run(context.Background(), mapping, Options{Sources: []string{ordersPath, cardsPath}, OutDir: t.TempDir()})
	if err != nil {
		for _, g := range res.Report.Problems {
			for _, p := range g.Examples {
				t.Log(p)
			}
		}
		t.Fatal(err)
	}
	validate(t, res)
	if res.Report.DroppedValues != 40 {
		t.Errorf("dropped values %d, want 40 (the cvv column)", res.Report.DroppedValues)
	}
}

// thousands writes cents as "$1,234.50".
func thousands(cents int) string {
	whole := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("$%s.%02d", b.String(), cents%100)
}
