package konnektive

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/konduit/konduit/internal/exitcode"
)

// AuthKind says why Konnektive refused a request.
type AuthKind int

// Kinds of refusal. All are final: a retry cannot help and repeated bad
// logins can lock the API user.
const (
	AuthLogin      AuthKind = iota + 1 // wrong API username or password, or a locked user
	AuthIP                             // the caller's address is not on the API user's IP allow-list
	AuthPermission                     // the API user may not query this endpoint
	AuthRefused                        // HTTP 401/403, or JSON that is not Konnektive's answer: a proxy, firewall or the wrong URL
)

func (k AuthKind) String() string {
	switch k {
	case AuthLogin:
		return "login"
	case AuthIP:
		return "ip allow-list"
	case AuthPermission:
		return "permission"
	case AuthRefused:
		return "refused"
	}
	return "unknown"
}

// AuthError is a final refusal by Konnektive: never retried.
type AuthError struct {
	Kind      AuthKind
	Message   string     // Konnektive's message, verbatim
	IP        string     // AuthIP: the address Konnektive saw, when it named it
	Endpoints []Endpoint // AuthPermission: the endpoints refused
}

func (e *AuthError) Error() string {
	switch e.Kind {
	case AuthPermission:
		names := make([]string, len(e.Endpoints))
		for i, ep := range e.Endpoints {
			names[i] = "/" + string(ep) + "/"
		}
		return fmt.Sprintf("konnektive refused %s: %s", strings.Join(names, ", "), e.Message)
	case AuthIP:
		return "konnektive refused this address: " + e.Message
	case AuthRefused:
		return "konnektive refused the request: " + e.Message
	}
	return "konnektive refused the login: " + e.Message
}

// ExitCode is 3: the remote service refused.
func (e *AuthError) ExitCode() int { return exitcode.Remote }

// Hint names the next step in Konnektive's admin screens.
func (e *AuthError) Hint() string {
	switch e.Kind {
	case AuthIP:
		ip := e.IP
		if ip == "" {
			ip = "this machine's public address"
		}
		return fmt.Sprintf("add %s to the API user's IP allow-list (Konnektive: Admin > Users > edit the API user > IP Whitelist), then try again", ip)
	case AuthPermission:
		perms := make([]string, len(e.Endpoints))
		for i, ep := range e.Endpoints {
			perms[i] = fmt.Sprintf("%q", ep.Permission())
		}
		return fmt.Sprintf("grant the API user the %s permission (Konnektive: Admin > Users > edit the API user > Allowed API Endpoints; select \"Coupon\" and every \"Query\" permission)", strings.Join(perms, ", "))
	case AuthRefused:
		return "check the API URL, the API user's login and its IP allow-list (Konnektive: Admin > Users > edit the API user > IP Whitelist); konduit does not retry a refusal because repeated bad logins can lock the user"
	}
	return "check the API username (loginId) and password of the Konnektive API user (Admin > Users, access level \"Api User\"); konduit does not retry a refused login because repeated bad logins can lock the user"
}

// RemoteError is a request that kept failing (5xx, HTML pages, timeouts,
// 429s, transient ERRORs) until the retry budget ran out, or that Konnektive
// answered with an ERROR konduit cannot act on.
type RemoteError struct {
	Endpoint Endpoint
	Attempts int
	Err      error
}

func (e *RemoteError) Error() string {
	if e.Attempts > 1 {
		return fmt.Sprintf("konnektive /%s/: gave up after %d attempts: %v", e.Endpoint, e.Attempts, e.Err)
	}
	return fmt.Sprintf("konnektive /%s/: %v", e.Endpoint, e.Err)
}

func (e *RemoteError) Unwrap() error { return e.Err }

// ExitCode is 3: the remote service failed.
func (e *RemoteError) ExitCode() int { return exitcode.Remote }

// Hint suggests what to do about a failing service.
func (e *RemoteError) Hint() string {
	var ae *APIError
	if errors.As(e.Err, &ae) {
		return "Konnektive rejected the request; check the query parameters and the API URL"
	}
	var se *StatusError
	if errors.As(e.Err, &se) && se.Code == 404 {
		return "check the API URL (https://api.konnektive.com, or your CheckoutChamp host)"
	}
	return "Konnektive kept failing; try again later, or lower the request rate"
}

// APIError is an ERROR envelope that is neither a refusal, an empty result
// nor a transient failure.
type APIError struct{ Message string }

func (e *APIError) Error() string { return "konnektive error: " + e.Message }

// StatusError is an HTTP status other than 200.
type StatusError struct {
	Code       int
	RetryAfter string
	HTML       bool // the body was an HTML page (a load balancer's)
}

func (e *StatusError) Error() string {
	if e.HTML {
		return fmt.Sprintf("http status %d with an HTML page", e.Code)
	}
	return fmt.Sprintf("http status %d", e.Code)
}

// DecodeError is a row or envelope that could not be read.
type DecodeError struct {
	Endpoint Endpoint
	Page     int
	Row      int // 0-based index in the page; -1 for the envelope
	Field    string
	Err      error
}

func (e *DecodeError) Error() string {
	if e.Row < 0 {
		return fmt.Sprintf("decode /%s/ page %d: %v", e.Endpoint, e.Page, e.Err)
	}
	return fmt.Sprintf("decode /%s/ page %d row %d field %s: %v", e.Endpoint, e.Page, e.Row+1, e.Field, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// ExitCode is 3: the remote service sent what konduit cannot read.
func (e *DecodeError) ExitCode() int { return exitcode.Remote }

// ErrDrift is returned by Walk when rows kept shifting between pages after
// Config.MaxRewalks walks of the same window.
var ErrDrift = errors.New("rows kept shifting between pages")

// Classification of ERROR messages.
var (
	reIP         = regexp.MustCompile(`(?i)ip\b.*(whitelist|allow)`)
	reIPAddr     = regexp.MustCompile(`\s-\s*([0-9A-Fa-f:.]+)\s*$`)
	rePermission = regexp.MustCompile(`(?i)(does not have access|not (allowed|permitted) to (access|use|query)|permission)`)
	reLogin      = regexp.MustCompile(`(?i)(login|password|credential|unauthori[sz]ed|not authori[sz]ed|locked|api user)`)
	reEmpty      = regexp.MustCompile(`(?i)^\s*no\s.*\b(matching|found)\b`)
	reFinal      = regexp.MustCompile(`(?i)(required|invalid|must be|not a valid|unknown (parameter|method)|not supported)`)
)

// messageKind sorts an ERROR message. Refusals are ruled out before "No ...
// found" is read as empty, so "No user found for that login" is a refusal.
type messageKind int

const (
	msgTransient messageKind = iota
	msgEmpty
	msgAuth
	msgFinal
)

func classify(ep Endpoint, msg string) (messageKind, error) {
	switch {
	case reIP.MatchString(msg):
		e := &AuthError{Kind: AuthIP, Message: msg}
		if m := reIPAddr.FindStringSubmatch(msg); m != nil {
			e.IP = m[1]
		}
		return msgAuth, e
	case rePermission.MatchString(msg):
		return msgAuth, &AuthError{Kind: AuthPermission, Message: msg, Endpoints: []Endpoint{ep}}
	case reLogin.MatchString(msg):
		return msgAuth, &AuthError{Kind: AuthLogin, Message: msg}
	case reEmpty.MatchString(msg):
		return msgEmpty, nil
	case reFinal.MatchString(msg):
		return msgFinal, &APIError{Message: msg}
	}
	return msgTransient, &APIError{Message: msg}
}
