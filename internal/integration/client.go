package integration

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/store"
)

// EnvPassword, when set, overrides an integration's saved API password.
const EnvPassword = "KONNEKTIVE_PASSWORD"

// Password is $KONNEKTIVE_PASSWORD when set, else the integration's saved
// password unsealed with the key beside dsn.
func Password(ctx context.Context, dsn string, in *store.Integration) (string, error) {
	if v := os.Getenv(EnvPassword); v != "" {
		return v, nil
	}
	if len(in.PasswordSealed) == 0 {
		return "", exitcode.WithHint(fmt.Errorf("no API password: $%s is not set and integration %s has none saved", EnvPassword, in.Name),
			"set $"+EnvPassword+", or save the integration with \"konduit connect konnektive\"")
	}
	key, err := store.LoadKey(ctx, dsn, false)
	if err != nil {
		return "", exitcode.WithHint(fmt.Errorf("open the saved API password: %w", err), "set $"+store.SecretKeyEnv+" to the key used by \"konduit connect\", or connect again")
	}
	pw, err := key.Open(in.PasswordSealed, in.Name)
	if err != nil {
		return "", exitcode.WithHint(fmt.Errorf("open the saved API password: %w", err), "connect again with \"konduit connect konnektive --name "+in.Name+"\", or set $"+EnvPassword)
	}
	return string(pw), nil
}

// ClientOptions pace and observe a client.
type ClientOptions struct {
	Rate       float64      // requests per second; 0 for no limit
	PageSize   int          // konnektive.MaxPageSize when 0
	MaxRetries int          // the client's default when 0
	Logger     *slog.Logger // slog.Default() when nil
	Transport  http.RoundTripper
}

// Client builds the Konnektive client of in with password.
func Client(in *store.Integration, password string, o ClientOptions) (*konnektive.Client, error) {
	loc, err := in.Location()
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg := konnektive.Config{BaseURL: in.BaseURL, LoginID: in.LoginID, Password: password, Location: loc,
		Rate: o.Rate, PageSize: o.PageSize, MaxRetries: o.MaxRetries, Logger: o.Logger}
	if o.Transport != nil {
		cfg.HTTPClient = &http.Client{Transport: o.Transport}
	}
	c, err := konnektive.New(cfg)
	if err != nil {
		return nil, exitcode.Usagef("%v", err)
	}
	return c, nil
}
