// Command dashboard-bench times every page of the dashboard as a browser
// gets it: it starts the real `konduit serve` on an existing store (e.g.
// one `konduit load` filled from `konduit synth --rows 1000000`), logs in
// over HTTP, and requests each page with typical filters: once cold (the
// first request for those filters, every page in turn from a server just
// started; a report page that answers "Computing…" is polled as its script
// does, and the time until the full page is the cold time), then -runs
// rounds over every page warm. Results are markdown table
// rows on stdout: per page the cold first answer, the cold full page, and
// the warm median and max.
//
// Usage:
//
//	go run ./bench/dashboard -konduit BIN -db PATH [-runs 7] [-page /extra?path ...]
//
// The admin password of a store that has none is set from -password (the
// file beside the database, as `konduit serve` does); a store whose admin
// password differs cannot be benchmarked.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"
)

// pages are the dashboard's pages with typical filters; {m} is a month of
// the data (the -month flag).
var pages = []string{
	"/login",
	"/integrations",
	"/reports",
	"/reports?from={y0}&to={y1}",
	"/reports?from={y0}&to={y1}&dim=campaign",
	"/reports?fd=country&fv=US",
	"/reports/ltv?cohort=month",
	"/reports/ltv?cohort=month&metric=gross",
	"/reports/ltv?cohort=week",
	"/reports/ltv?cohort=month&dim=campaign",
	"/reports/retention",
	"/reports/retention?dim=campaign",
	"/reports/chargebacks",
	"/reports/chargebacks?month={m}",
	"/import",
	"/users",
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	bin := flag.String("konduit", "", "the konduit binary")
	db := flag.String("db", "", "the SQLite store")
	runs := flag.Int("runs", 7, "warm requests per page")
	password := flag.String("password", "dashboard bench password", "the admin password")
	month := flag.String("month", "2026-06", "a month of the data ({m})")
	y0 := flag.String("from", "2025-12-01", "start of a year of the data ({y0})")
	y1 := flag.String("to", "2026-11-30", "end of that year ({y1})")
	var extra multi
	flag.Var(&extra, "page", "another page to time (repeatable)")
	flag.Parse()
	if *bin == "" || *db == "" {
		log.Fatal("-konduit and -db are required")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, *bin, "serve", "-q", "--db", "sqlite:"+*db, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "KONDUIT_ADMIN_PASSWORD="+*password)
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }() // interrupt serve, wait for it
	fatalf := func(format string, args ...any) {
		cancel()
		cmd.Wait()
		log.Fatalf(format, args...)
	}
	base := ""
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		fatalf("konduit serve printed no address")
	}
	go io.Copy(io.Discard, out)
	fmt.Fprintf(os.Stderr, "serve up after %v at %s\n", time.Since(started).Round(time.Millisecond), base)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Minute}
	resp, err := c.PostForm(base+"/login", url.Values{"user": {"admin"}, "password": {*password}, "next": {"/integrations"}})
	if err != nil {
		fatalf("%v", err)
	}
	resp.Body.Close()
	if !strings.HasSuffix(resp.Request.URL.Path, "/integrations") {
		fatalf("login failed (status %d at %s): is the store's admin password another one?", resp.StatusCode, resp.Request.URL)
	}
	get := func(path string) (string, time.Duration) {
		t0 := time.Now()
		resp, err := c.Get(base + path)
		if err != nil {
			fatalf("%v", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil || resp.StatusCode != 200 {
			fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		if strings.Contains(string(b), "The report failed") {
			fatalf("GET %s: the report failed", path)
		}
		return string(b), d
	}
	status := regexp.MustCompile(`data-status="([^"]+)"`)
	fmt.Println("| page | cold: first answer | cold: full page | warm median | warm max |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: |")
	r := strings.NewReplacer("{m}", *month, "{y0}", *y0, "{y1}", *y1)
	all := append(slices.Clone(pages), extra...)
	for i := range all {
		all[i] = r.Replace(all[i])
	}

	// Cold: each page once, in order, from a server just started (its
	// startup warm-up of the default reports runs meanwhile, as it would).
	first, full := make([]time.Duration, len(all)), make([]time.Duration, len(all))
	for i, p := range all {
		body, d := get(p)
		first[i], full[i] = d, d
		t0 := time.Now().Add(-d)
		for strings.Contains(body, `id="computing"`) {
			// what the page's script does: poll, then reload when ready
			m := status.FindStringSubmatch(body)
			if m == nil {
				fatalf("%s: computing page without a status URL", p)
			}
			su := strings.ReplaceAll(m[1], "&amp;", "&")
			for {
				st, _ := get(su)
				if strings.Contains(st, `"ready":true`) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			body, _ = get(p)
			full[i] = time.Since(t0)
		}
	}
	// The drill-down and customer pages, when the dashboard has them: the
	// rows behind the year's first drillable figure, and the first
	// customer among them (found as a user finds them, by their links;
	// the request that follows a link is the page's cold one).
	found, foundCold := discover(get, r.Replace("/reports?from={y0}&to={y1}"), fatalf)
	for _, p := range found {
		all = append(all, p)
		first, full = append(first, foundCold[p]), append(full, foundCold[p])
	}
	// Warm: -runs rounds over every page, once all are cached.
	warm := make([][]time.Duration, len(all))
	for range *runs {
		for i, p := range all {
			body, d := get(p)
			if strings.Contains(body, `id="computing"`) {
				fatalf("%s: computing again when warm", p)
			}
			warm[i] = append(warm[i], d)
		}
	}
	for i, p := range all {
		w := warm[i]
		slices.Sort(w)
		fmt.Printf("| `%s` | %s | %s | %s | %s |\n", p, ms(first[i]), ms(full[i]), ms(w[len(w)/2]), ms(w[len(w)-1]))
	}
}

// discover follows the first drill link of the page at from, and the
// first customer link of that drill page (none when there are none), and
// times each one's first request: its cold time.
func discover(get func(string) (string, time.Duration), from string, fatalf func(string, ...any)) ([]string, map[string]time.Duration) {
	href := regexp.MustCompile(`href="(/(?:reports/drill|customers/)[^"]*)"`)
	var out []string
	cold := map[string]time.Duration{}
	body, _ := get(from)
	for strings.Contains(body, `id="computing"`) {
		time.Sleep(time.Second)
		body, _ = get(from)
	}
	for range 2 {
		m := href.FindStringSubmatch(body)
		if m == nil {
			break
		}
		page := html.UnescapeString(m[1])
		var d time.Duration
		body, d = get(page)
		out = append(out, page)
		cold[page] = d
	}
	if len(out) > 0 && !strings.HasPrefix(out[0], "/reports/drill") {
		fatalf("the first link found is not a drill page: %q", out[0])
	}
	return out, cold
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}
