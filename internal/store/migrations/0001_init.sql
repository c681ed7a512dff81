-- 0001: the whole first schema. Tokens in braces are replaced per backend
-- (store.go, dialect): {{id}} an auto-increment primary key, {{blob}} bytes,
-- {{json}} a row's raw JSON text. Every other type is spelled the same way
-- on SQLite and PostgreSQL. See docs/schema.md.

CREATE TABLE integrations (
    id               {{id}},
    kind             TEXT     NOT NULL,              -- konnektive | legacy
    name             TEXT     NOT NULL UNIQUE,
    base_url         TEXT     NOT NULL DEFAULT '',
    login_id         TEXT     NOT NULL DEFAULT '',   -- the API username
    account_name     TEXT     NOT NULL DEFAULT '',
    account_username TEXT     NOT NULL DEFAULT '',
    timezone         TEXT     NOT NULL,              -- IANA name of the account time zone
    import_from      TEXT,                           -- YYYY-MM-DD
    import_to        TEXT,                           -- YYYY-MM-DD; NULL: up to today
    sync_every_s     BIGINT   NOT NULL DEFAULT 0,    -- sync frequency in seconds; 0: by hand
    password_sealed  {{blob}},                       -- AES-256-GCM, see store/secret.go
    created_at       BIGINT   NOT NULL,              -- Unix seconds
    updated_at       BIGINT   NOT NULL
);

CREATE TABLE customers (
    integration_id   BIGINT   NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    source           TEXT     NOT NULL,              -- api | legacy
    id               TEXT     NOT NULL,
    first_name       TEXT     NOT NULL DEFAULT '',
    last_name        TEXT     NOT NULL DEFAULT '',
    email            TEXT     NOT NULL DEFAULT '',
    phone            TEXT     NOT NULL DEFAULT '',
    country          TEXT     NOT NULL DEFAULT '',
    state            TEXT     NOT NULL DEFAULT '',
    postal_code      TEXT     NOT NULL DEFAULT '',
    created_raw      TEXT,                           -- account wall clock, as the source wrote it
    created_utc      BIGINT,                         -- derived instant, Unix seconds
    created_adjust   SMALLINT NOT NULL DEFAULT 0,    -- 0 exact, 1 ambiguous, 2 gap
    updated_raw      TEXT,
    updated_utc      BIGINT,
    updated_adjust   SMALLINT NOT NULL DEFAULT 0,
    raw              {{json}},
    PRIMARY KEY (integration_id, source, id)
);
CREATE INDEX customers_created ON customers (integration_id, created_utc);
CREATE INDEX customers_email ON customers (integration_id, email);

CREATE TABLE orders (
    integration_id   BIGINT   NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    source           TEXT     NOT NULL,
    id               TEXT     NOT NULL,
    customer_id      TEXT     NOT NULL DEFAULT '',
    campaign_id      TEXT     NOT NULL DEFAULT '',
    status           TEXT     NOT NULL DEFAULT '',
    type             TEXT     NOT NULL DEFAULT '',
    aff_id           TEXT     NOT NULL DEFAULT '',
    sub_aff_id       TEXT     NOT NULL DEFAULT '',
    country          TEXT     NOT NULL DEFAULT '',
    total_cents      BIGINT   NOT NULL DEFAULT 0,
    created_raw      TEXT,
    created_utc      BIGINT,
    created_adjust   SMALLINT NOT NULL DEFAULT 0,
    updated_raw      TEXT,
    updated_utc      BIGINT,
    updated_adjust   SMALLINT NOT NULL DEFAULT 0,
    raw              {{json}},
    PRIMARY KEY (integration_id, source, id)
);
CREATE INDEX orders_customer ON orders (integration_id, source, customer_id);
CREATE INDEX orders_created ON orders (integration_id, created_utc);
CREATE INDEX orders_status ON orders (integration_id, status, created_utc);

CREATE TABLE transactions (
    integration_id   BIGINT   NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    source           TEXT     NOT NULL,
    id               TEXT     NOT NULL,
    parent_id        TEXT     NOT NULL DEFAULT '',
    merchant_txn_id  TEXT     NOT NULL DEFAULT '',
    customer_id      TEXT     NOT NULL DEFAULT '',
    order_id         TEXT     NOT NULL DEFAULT '',
    purchase_id      TEXT     NOT NULL DEFAULT '',
    campaign_id      TEXT     NOT NULL DEFAULT '',
    product_id       TEXT     NOT NULL DEFAULT '',
    merchant_id      TEXT     NOT NULL DEFAULT '',
    aff_id           TEXT     NOT NULL DEFAULT '',
    sub_aff_id       TEXT     NOT NULL DEFAULT '',
    country          TEXT     NOT NULL DEFAULT '',
    txn_type         TEXT     NOT NULL DEFAULT '',
    response_type    TEXT     NOT NULL DEFAULT '',
    pay_source       TEXT     NOT NULL DEFAULT '',
    card_type        TEXT     NOT NULL DEFAULT '',
    card_last4       TEXT     NOT NULL DEFAULT '',
    sub_total_cents  BIGINT   NOT NULL DEFAULT 0,
    ship_total_cents BIGINT   NOT NULL DEFAULT 0,
    sales_tax_cents  BIGINT   NOT NULL DEFAULT 0,
    amount_cents     BIGINT   NOT NULL DEFAULT 0,   -- totalAmount: tax and shipping included
    billing_cycle    INTEGER  NOT NULL DEFAULT 0,   -- Konnektive numbering: initial sale = 1
    created_raw      TEXT,
    created_utc      BIGINT,
    created_adjust   SMALLINT NOT NULL DEFAULT 0,
    updated_raw      TEXT,
    updated_utc      BIGINT,
    updated_adjust   SMALLINT NOT NULL DEFAULT 0,
    chargedback      SMALLINT NOT NULL DEFAULT 0,
    chargeback_cents BIGINT   NOT NULL DEFAULT 0,
    chargeback_date  TEXT,                          -- YYYY-MM-DD, a date without a time
    chargeback_reason TEXT    NOT NULL DEFAULT '',
    raw              {{json}},
    PRIMARY KEY (integration_id, source, id)
);
-- Sales, declines and refunds by date; cohorts (first sale per customer).
CREATE INDEX transactions_created ON transactions (integration_id, created_utc, txn_type, response_type);
CREATE INDEX transactions_customer ON transactions (integration_id, source, customer_id, created_utc);
CREATE INDEX transactions_order ON transactions (integration_id, source, order_id);
CREATE INDEX transactions_purchase ON transactions (integration_id, source, purchase_id, billing_cycle);
-- Chargebacks by the day they were received.
CREATE INDEX transactions_chargeback ON transactions (integration_id, chargeback_date) WHERE chargedback = 1;
-- Breakdowns by campaign, product, affiliate, merchant (MID) or country read
-- a date range through transactions_created and group: one index per
-- dimension would slow every upsert for little gain (docs/schema.md).

CREATE TABLE purchases (
    integration_id   BIGINT   NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    source           TEXT     NOT NULL,
    id               TEXT     NOT NULL,
    order_id         TEXT     NOT NULL DEFAULT '',
    customer_id      TEXT     NOT NULL DEFAULT '',
    campaign_id      TEXT     NOT NULL DEFAULT '',
    product_id       TEXT     NOT NULL DEFAULT '',
    merchant_id      TEXT     NOT NULL DEFAULT '',
    status           TEXT     NOT NULL DEFAULT '',
    billing_cycle    INTEGER  NOT NULL DEFAULT 0,
    next_bill_date   TEXT,                          -- YYYY-MM-DD
    price_cents      BIGINT   NOT NULL DEFAULT 0,
    created_raw      TEXT,
    created_utc      BIGINT,
    created_adjust   SMALLINT NOT NULL DEFAULT 0,
    updated_raw      TEXT,
    updated_utc      BIGINT,
    updated_adjust   SMALLINT NOT NULL DEFAULT 0,
    raw              {{json}},
    PRIMARY KEY (integration_id, source, id)
);
CREATE INDEX purchases_customer ON purchases (integration_id, source, customer_id);
CREATE INDEX purchases_created ON purchases (integration_id, created_utc);
CREATE INDEX purchases_product ON purchases (integration_id, product_id, status);

-- Where each entity's sync stands. A page's rows and this row are written in
-- one transaction, so a crash resumes exactly at the next page.
CREATE TABLE sync_checkpoints (
    integration_id   BIGINT   NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    entity           TEXT     NOT NULL,             -- customers | orders | transactions | purchases
    phase            TEXT     NOT NULL,             -- backfill | incremental | idle
    pass_from        TEXT,                          -- first day of the pass in progress
    pass_to          TEXT,                          -- last day of the pass in progress
    pass_started     TEXT,                          -- account day the pass began
    day              TEXT,                          -- day window being walked
    page             INTEGER  NOT NULL DEFAULT 1,   -- next page of that day to fetch
    backfill_from    TEXT,                          -- the import range a finished backfill covered
    backfill_to      TEXT,
    watermark        TEXT,                          -- every row updated on or after this day is still to read
    updated_at       BIGINT   NOT NULL,
    PRIMARY KEY (integration_id, entity)
);

CREATE TABLE sync_runs (
    id                {{id}},
    integration_id    BIGINT  NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    started_at        BIGINT  NOT NULL,
    finished_at       BIGINT,
    status            TEXT    NOT NULL,             -- running | ok | failed | interrupted
    customers         BIGINT  NOT NULL DEFAULT 0,   -- rows upserted, by entity
    orders            BIGINT  NOT NULL DEFAULT 0,
    transactions      BIGINT  NOT NULL DEFAULT 0,
    purchases         BIGINT  NOT NULL DEFAULT 0,
    pages             BIGINT  NOT NULL DEFAULT 0,
    retries           BIGINT  NOT NULL DEFAULT 0,
    dst_ambiguous     BIGINT  NOT NULL DEFAULT 0,   -- wall-clock times that occur twice
    dst_gap           BIGINT  NOT NULL DEFAULT 0,   -- wall-clock times that do not occur
    error             TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_integration ON sync_runs (integration_id, started_at);

CREATE TABLE sync_errors (
    id               {{id}},
    integration_id   BIGINT   NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    run_id           BIGINT,
    at               BIGINT   NOT NULL,
    entity           TEXT     NOT NULL DEFAULT '',
    day              TEXT,
    page             INTEGER  NOT NULL DEFAULT 0,
    message          TEXT     NOT NULL
);
CREATE INDEX sync_errors_integration ON sync_errors (integration_id, at);
