package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/konduit/konduit/internal/crm"
	"github.com/konduit/konduit/internal/integration"
	"github.com/konduit/konduit/internal/konnektive"
	"github.com/konduit/konduit/internal/store"
)

type connectOptions struct {
	db              string
	name            string
	loginID         string
	accountName     string
	accountUsername string
	apiURL          string
	timezone        string
	from, to        string
	every           time.Duration
	noCheck         bool
}

func init() { register(newConnectCmd) }

func newConnectCmd(g *globalOptions) *cobra.Command {
	var o connectOptions
	cmd := &cobra.Command{
		Use:   "connect konnektive [flags]",
		Short: "Save a Konnektive / CheckoutChamp integration (checked with one cheap query)",
		Long: `Connect saves the settings of a Konnektive or CheckoutChamp account for
"konduit sync": the API user's username (--login-id), the account name and
account username, the API URL, the account time zone, the import range and
the sync frequency. See docs/konnektive-setup.md to create the API user.

The API password comes from $KONNEKTIVE_PASSWORD or, on a terminal, a prompt
that does not echo. It must not contain "&" (Konnektive mishandles it). It is
stored encrypted (AES-256-GCM) with the key in $KONDUIT_SECRET_KEY or a 0600
key file created beside a SQLite database (PATH.key) or in the user config
directory (konduit/secret.key).

Before saving, connect asks each sync endpoint for one row of today, and turns
a refusal into the step to take in Konnektive's admin screens.

Connecting again with the same --name updates the integration; a new
--timezone re-derives every stored time (no re-sync), a new import range
backfills again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "konnektive" && args[0] != "checkoutchamp" {
				return usageErrorf("connect: unknown service %q (want konnektive)", args[0])
			}
			return runConnect(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://... (default $KONDUIT_DB, else sqlite in the user data dir)")
	f.StringVar(&o.name, "name", "konnektive", "name of the integration in konduit")
	f.StringVar(&o.loginID, "login-id", "", "the API user's username (loginId), required")
	f.StringVar(&o.accountName, "account-name", "", "the name of your Konnektive or CheckoutChamp account")
	f.StringVar(&o.accountUsername, "account-username", "", "the username you sign into the CRM with")
	f.StringVar(&o.apiURL, "api-url", konnektive.DefaultBaseURL, "the API URL (CheckoutChamp: https://api.checkoutchamp.com)")
	f.StringVar(&o.timezone, "timezone", "", "the account's time zone, an IANA name (Konnektive: Account Information > Timezone), required")
	f.StringVar(&o.from, "from", "", "first day to import, YYYY-MM-DD (default one year ago)")
	f.StringVar(&o.to, "to", "", "last day to backfill, YYYY-MM-DD (default: up to each sync's today)")
	f.DurationVar(&o.every, "every", 24*time.Hour, "sync frequency for \"konduit sync --watch\"")
	f.BoolVar(&o.noCheck, "no-check", false, "save without the test query (offline set-up)")
	return cmd
}

func runConnect(ctx context.Context, g *globalOptions, o connectOptions) error {
	if o.loginID == "" {
		return usageErrorf("--login-id is required: the username of the Konnektive API user (Admin > Users, access level \"Api User\")")
	}
	if o.name == "" {
		return usageErrorf("--name must not be empty")
	}
	if o.every < 0 {
		return usageErrorf("--every must not be negative")
	}
	loc, err := loadZone(o.timezone)
	if err != nil {
		return err
	}
	from := crm.DateOf(time.Now().In(loc).AddDate(-1, 0, 0))
	if o.from != "" {
		if from, err = parseDay("from", o.from); err != nil {
			return err
		}
	}
	var to crm.Date
	if o.to != "" {
		if to, err = parseDay("to", o.to); err != nil {
			return err
		}
		if to.Before(from) {
			return usageErrorf("--to %s is before --from %s", to, from)
		}
	}
	password, err := konnektivePassword(g)
	if err != nil {
		return err
	}
	if err := konnektive.ValidatePassword(password); err != nil {
		return withHint(fmt.Errorf("refusing the API password: %w", err), "Konnektive's instructions for API users forbid \"&\" in the password: change it under Admin > Users, then connect again")
	}
	client, err := konnektive.New(konnektive.Config{BaseURL: o.apiURL, LoginID: o.loginID, Password: password, Location: loc, MaxRetries: 2})
	if err != nil {
		return usageErrorf("%v", err)
	}
	if !o.noCheck {
		if err := client.Ping(ctx); err != nil {
			var ae *konnektive.AuthError
			if errors.As(err, &ae) || ctx.Err() != nil {
				return err
			}
			return withHint(err, "check --api-url and this machine's network access to it; use --no-check to save without testing")
		}
		fmt.Fprintf(g.stdout, "konnektive answered: login, IP allow-list and query permissions are in order\n")
	}

	s, dsn, err := openStore(ctx, o.db)
	if err != nil {
		return err
	}
	defer s.Close()
	in := &store.Integration{Kind: store.KindKonnektive, Name: o.name, BaseURL: o.apiURL, LoginID: o.loginID, AccountName: o.accountName,
		AccountUsername: o.accountUsername, TimeZone: loc.String(), ImportFrom: from, ImportTo: to, SyncEvery: o.every}
	ch, err := integration.Save(ctx, s, dsn, in, password)
	if err != nil {
		return err
	}
	if ch.Retimed {
		fmt.Fprintf(g.stdout, "time zone %s -> %s: re-derived %d rows' times (%d ambiguous, %d in gaps); no re-sync needed\n", ch.OldZone, loc, ch.Retime.Rows, ch.Retime.Ambiguous, ch.Retime.Gap)
	}
	if ch.RangeChanged {
		fmt.Fprintf(g.stdout, "import range changed: the next sync backfills %s..%s again (stored rows are kept)\n", from, importTo(in))
	}
	key, err := store.LoadKey(ctx, dsn, false)
	if err != nil {
		return err
	}
	verb := "saved"
	if !ch.Created {
		verb = "updated"
	}
	fmt.Fprintf(g.stdout, "%s integration %s: %s as %s, time zone %s, import %s..%s, sync every %s\n", verb, in.Name, in.BaseURL, in.LoginID, in.TimeZone, from, importTo(in), o.every)
	fmt.Fprintf(g.stdout, "password stored encrypted (key: %s)\n", key.Source)
	fmt.Fprintf(g.stdout, "next: konduit sync --integration %s%s\n", in.Name, dbFlag(o.db))
	return nil
}

func dbFlag(db string) string {
	if db == "" {
		return ""
	}
	if strings.HasPrefix(db, "postgres") {
		return " --db postgres://..."
	}
	return " --db " + db
}

// konnektivePassword reads $KONNEKTIVE_PASSWORD or prompts on the terminal
// without echo.
func konnektivePassword(g *globalOptions) (string, error) {
	if v := os.Getenv(envKonnektivePassword); v != "" {
		return v, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", withHint(fmt.Errorf("no API password: $%s is not set and stdin is not a terminal", envKonnektivePassword), "set $"+envKonnektivePassword+" or run in a terminal to be asked")
	}
	fmt.Fprint(g.stderr, "Konnektive API password: ")
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(g.stderr)
	if err != nil {
		return "", fmt.Errorf("read the API password: %w", err)
	}
	return string(p), nil
}
