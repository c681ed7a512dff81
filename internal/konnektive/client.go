package konnektive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/konduit/konduit/internal/crm"
)

// DefaultBaseURL is Konnektive's API host. CheckoutChamp accounts may use
// https://api.checkoutchamp.com or another host.
const DefaultBaseURL = "https://api.konnektive.com"

// MaxPageSize is the largest resultsPerPage Konnektive honours.
const MaxPageSize = 200

// Endpoint is a query path without its slashes.
type Endpoint string

// The query endpoints.
const (
	Transactions Endpoint = "transactions/query"
	Orders       Endpoint = "order/query"
	Customers    Endpoint = "customer/query"
	Purchases    Endpoint = "purchase/query"
	Campaigns    Endpoint = "campaign/query"
	Products     Endpoint = "product/query"
	Summary      Endpoint = "transactions/summary"
)

// SyncEndpoints are the endpoints a sync walks, in dependency order.
var SyncEndpoints = []Endpoint{Customers, Orders, Purchases, Transactions}

// Permission is the name of the API user permission that allows the
// endpoint, as Konnektive's Allowed API Endpoints list shows it (inferred
// from the endpoint names).
func (e Endpoint) Permission() string {
	switch e {
	case Transactions:
		return "Transaction Query"
	case Orders:
		return "Order Query"
	case Customers:
		return "Customer Query"
	case Purchases:
		return "Purchase Query"
	case Campaigns:
		return "Campaign Query"
	case Products:
		return "Product Query"
	case Summary:
		return "Transaction Summary"
	}
	return string(e)
}

// idKey is the row field that identifies a row of the endpoint.
func (e Endpoint) idKey() string {
	switch e {
	case Transactions:
		return "transactionId"
	case Orders:
		return "orderId"
	case Customers:
		return "customerId"
	case Purchases:
		return "purchaseId"
	case Campaigns:
		return "campaignId"
	case Products:
		return "productId"
	}
	return ""
}

// Config configures a Client. LoginID, Password and Location are required.
type Config struct {
	BaseURL  string         // DefaultBaseURL when empty
	LoginID  string         // the API user's username
	Password string         // the API user's password; never logged
	Location *time.Location // the account time zone

	HTTPClient     *http.Client  // a pooled client when nil
	RequestTimeout time.Duration // per attempt; 2 minutes when 0
	Rate           float64       // requests per second; 0 means no limit
	Burst          int           // token bucket size; 1 when 0
	PageSize       int           // rows per page; MaxPageSize when 0
	MaxRetries     int           // retries per request after the first attempt; 6 when 0, none when negative
	BaseBackoff    time.Duration // first backoff; 500ms when 0
	MaxBackoff     time.Duration // backoff cap; 30s when 0
	MaxRetryAfter  time.Duration // longest Retry-After honoured; 5 minutes when 0
	MaxRewalks     int           // Walk restarts on page drift; 3 when 0, none when negative
	Logger         *slog.Logger  // slog.Default() when nil
}

// Client queries one Konnektive account. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    string
	http    *http.Client
	limiter *limiter
	log     *slog.Logger
	sleep   func(ctx context.Context, d time.Duration) error

	digestKey []byte // see digest.go
}

// API is what a sync needs from Konnektive; *Client implements it.
type API interface {
	Walk(ctx context.Context, ep Endpoint, q Query, fn func(Page) error) error
	FetchPage(ctx context.Context, ep Endpoint, q Query, n int) (Page, error)
	Fetch(ctx context.Context, ep Endpoint, q Query, n int) (*Body, error)
	Decode(ctx context.Context, b *Body, known Known) (Page, error)
	Summary(ctx context.Context, start, end crm.Date) ([]SummaryRow, error)
	Ping(ctx context.Context) error
}

var _ API = (*Client)(nil)

// ValidatePassword reports a password Konnektive cannot use: empty, or
// containing "&", which Konnektive mishandles (its API-user instructions
// forbid it).
func ValidatePassword(p string) error {
	if p == "" {
		return errors.New("the API password is empty")
	}
	if strings.Contains(p, "&") {
		return errors.New("the API password contains \"&\", which Konnektive mishandles; choose a password without it")
	}
	return nil
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.LoginID == "" {
		return nil, errors.New("new konnektive client: the API username (loginId) is empty")
	}
	if err := ValidatePassword(cfg.Password); err != nil {
		return nil, fmt.Errorf("new konnektive client: %w", err)
	}
	if cfg.Location == nil {
		return nil, errors.New("new konnektive client: the account time zone is not set")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new konnektive client: the API URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if u.User != nil || u.RawQuery != "" {
		return nil, errors.New("new konnektive client: the API URL must not carry credentials or a query")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Minute
	}
	if cfg.PageSize <= 0 || cfg.PageSize > MaxPageSize {
		cfg.PageSize = MaxPageSize
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 6
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 5 * time.Minute
	}
	if cfg.MaxRewalks == 0 {
		cfg.MaxRewalks = 3
	} else if cfg.MaxRewalks < 0 {
		cfg.MaxRewalks = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 8
		hc = &http.Client{Transport: tr}
	}
	c := &Client{
		cfg:   cfg,
		base:  strings.TrimRight(cfg.BaseURL, "/"),
		http:  hc,
		log:   cfg.Logger,
		sleep: sleepCtx,

		digestKey: digestKey(cfg),
	}
	if cfg.Rate > 0 {
		c.limiter = newLimiter(cfg.Rate, cfg.Burst)
	}
	return c, nil
}

// Location is the account time zone the client reads times in.
func (c *Client) Location() *time.Location { return c.cfg.Location }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// envelope is Konnektive's answer: message is an object, a list or a text.
type envelope struct {
	Result  string          `json:"result"`
	Message json.RawMessage `json:"message"`
}

// retryable is a failure worth another attempt; wait, when set, is the
// server's Retry-After.
type retryable struct {
	err  error
	wait time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// call posts params to ep and returns the SUCCESS message, or nil when
// Konnektive answered "No ... matching". It retries what may pass.
func (c *Client) call(ctx context.Context, ep Endpoint, params url.Values) (json.RawMessage, error) {
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("loginId", c.cfg.LoginID)
	form.Set("password", c.cfg.Password)
	body := form.Encode()
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			d := c.backoff(attempt, last)
			c.log.DebugContext(ctx, "konnektive retry", "endpoint", ep, "attempt", attempt+1, "wait", d, "reason", last)
			if err := c.sleep(ctx, d); err != nil {
				return nil, err
			}
		}
		if c.limiter != nil {
			if err := c.limiter.wait(ctx); err != nil {
				return nil, err
			}
		}
		msg, err := c.attempt(ctx, ep, body)
		if err == nil {
			return msg, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var r *retryable
		if !errors.As(err, &r) {
			var ae *AuthError
			if errors.As(err, &ae) {
				return nil, err
			}
			return nil, &RemoteError{Endpoint: ep, Attempts: attempt + 1, Err: err}
		}
		last = err
		if attempt >= c.cfg.MaxRetries {
			return nil, &RemoteError{Endpoint: ep, Attempts: attempt + 1, Err: r.err}
		}
	}
}

// backoff is full-jitter exponential backoff, or the server's Retry-After.
func (c *Client) backoff(attempt int, last error) time.Duration {
	var r *retryable
	if errors.As(last, &r) && r.wait > 0 {
		w := min(r.wait, c.cfg.MaxRetryAfter)
		// A little jitter on top keeps many clients from returning at once.
		return w + time.Duration(rand.Int64N(int64(w)/10+1))
	}
	d := c.cfg.BaseBackoff << min(attempt-1, 20)
	if d <= 0 || d > c.cfg.MaxBackoff {
		d = c.cfg.MaxBackoff
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

const maxBody = 256 << 20

func (c *Client) attempt(ctx context.Context, ep Endpoint, body string) (json.RawMessage, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.base+"/"+string(ep)+"/", strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &retryable{err: fmt.Errorf("send request: %w", scrubURLError(err))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &retryable{err: fmt.Errorf("read response: %w", scrubURLError(err))}
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		// Konnektive answers refusals with 200 and an ERROR; a 401 or 403
		// comes from a proxy or firewall in front of it, which a retry
		// cannot change.
		return nil, &AuthError{Kind: AuthRefused, Message: fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	if resp.StatusCode != http.StatusOK {
		se := &StatusError{Code: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), HTML: bytes.HasPrefix(bytes.TrimSpace(data), []byte("<"))}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout {
			return nil, &retryable{err: se, wait: parseRetryAfter(se.RetryAfter, time.Now())}
		}
		return nil, se
	}
	trim := bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))
	if len(trim) == 0 || trim[0] != '{' {
		what := "an empty body"
		if len(trim) > 0 && trim[0] == '<' {
			what = "an HTML page"
		} else if len(trim) > 0 {
			what = "a body that is not JSON"
		}
		return nil, &retryable{err: fmt.Errorf("konnektive answered with %s", what)}
	}
	if !validJSON(trim) {
		// A body cut short by a dropped connection reads as bad JSON.
		return nil, &retryable{err: errors.New("decode envelope: the body is not valid JSON")}
	}
	var env envelope
	err = scanObject(trim, func(key string, val []byte) error {
		switch key {
		case "result":
			f, err := flexOf(val)
			env.Result = string(f)
			return err
		case "message":
			env.Message = val
		}
		return nil
	})
	if err != nil {
		return nil, &retryable{err: fmt.Errorf("decode envelope: %w", err)}
	}
	switch strings.ToUpper(env.Result) {
	case "SUCCESS":
		return env.Message, nil
	case "ERROR":
		text := messageText(env.Message)
		kind, err := classify(ep, text)
		switch kind {
		case msgEmpty:
			return nil, nil
		case msgTransient:
			return nil, &retryable{err: err, wait: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
		}
		return nil, err
	}
	if env.Result == "" {
		// JSON that is not Konnektive's envelope: a login or gateway page
		// of something in front of it, or the wrong URL. Final.
		return nil, &AuthError{Kind: AuthRefused, Message: "the answer has no \"result\" field"}
	}
	return nil, &retryable{err: fmt.Errorf("konnektive answered result %q", env.Result)}
}

var utf8BOM = []byte("\xef\xbb\xbf")

// messageText is an ERROR's message as text, whatever its JSON type.
func messageText(m json.RawMessage) string {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	return string(m)
}

// scrubURLError drops the URL from a *url.Error: the URL has no
// credentials, but it keeps messages short and uniform.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		var ne net.Error
		if errors.As(ue.Err, &ne) && ne.Timeout() {
			return fmt.Errorf("timeout: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// parseRetryAfter reads delta-seconds or an HTTP date; 0 when absent.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
