// Package konnektive is a client for the Konnektive / CheckoutChamp query API
// (../../shared/spec/konnektive-api.md): transactions, orders, customers,
// purchases, campaigns, products and the daily transactions summary.
//
// Every request is a POST with a form body, so the API password never
// appears in a URL or a log line. Answers come in the {result, message}
// envelope. "No ... matching those parameters could be found" is an empty
// page, but only after the message was ruled out as an authentication, IP
// allow-list or permission refusal: those are *AuthError values, final,
// never retried (repeated bad logins lock the API user), with a Hint naming
// the next step and ExitCode 3. HTML bodies, 5xx answers, 429s, timeouts,
// dropped connections and transient ERROR texts are retried with exponential
// backoff and full jitter, honouring Retry-After, within Config.MaxRetries;
// what still fails is a *RemoteError (ExitCode 3). Requests are paced by a
// token bucket (Config.Rate), and every request is cancelled with its ctx.
//
// The exported API, kept stable for internal/sync and the commands:
//
//	New(Config{BaseURL, LoginID, Password, Location, Rate, Burst, PageSize,
//	    MaxRetries, BaseBackoff, MaxBackoff, MaxRetryAfter, RequestTimeout,
//	    MaxRewalks, HTTPClient, Logger}) (*Client, error)
//	ValidatePassword(p) error     // empty, or contains "&"
//	Endpoints: Transactions, Orders, Customers, Purchases, Campaigns,
//	    Products, Summary; SyncEndpoints; Endpoint.Permission()
//	DateCreated, DateUpdated; DefaultBaseURL; MaxPageSize
//	Errors: *AuthError{Kind, Message, IP, Endpoints}, *RemoteError,
//	    *DecodeError, *APIError, *StatusError, ErrDrift
//
// A sync depends on the API interface, which *Client implements:
//
//	Walk(ctx, endpoint, Query{StartDate, EndDate, DateRangeType, Params, FromPage}, fn func(Page) error) error
//	FetchPage(ctx, endpoint, Query, n) (Page, error)       // Fetch, then Decode
//	Fetch(ctx, endpoint, Query, n) (*Body, error)          // one answer, checked and cut into rows
//	Decode(ctx, *Body, Known) (Page, error)                // rows a Known holds (keyed Digest) skipped
//	Summary(ctx, start, end crm.Date) ([]SummaryRow, error)
//	Ping(ctx) error
//
// Walk asks for 200 rows a page (Config.PageSize) and calls fn once per
// page in order, with the page's rows decoded into crm types (Transactions,
// Orders, Customers or Purchases by endpoint) and each row's raw JSON
// (achAccountNumber, achRoutingNumber, eCommercePassword and cardNumber
// removed). Wall-clock times become crm.WallTime in Config.Location. A
// window without rows still gets one call with an empty page 1, so a sync
// can checkpoint it. Pages are numbered, so rows updated during a
// dateUpdated walk shift between pages: Walk notices (totalResults fell
// between pages, or fewer distinct ids arrived than totalResults) and walks
// the window again from page 1, up to Config.MaxRewalks times, then returns
// ErrDrift: every page delivered was sound, but rows may be missing, so a
// sync keeps its checkpoint before the window and walks it again later.
// Rows may reach fn more than once; a sync upserts by id. A row that left
// the window while another joined it between two pages cannot be seen from
// the client: that is why an incremental sync re-reads a lookback window.
//
// Decoding is tolerant: numbers may come as strings or numbers, totalResults
// as either, items as an object keyed by id or as an array, data as an array
// or an object, and empty dates as "" or "0000-00-00".
package konnektive
