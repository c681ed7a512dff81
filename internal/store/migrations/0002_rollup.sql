-- Rollups: report figures kept pre-aggregated (internal/rollup writes and
-- reads them; docs/schema.md). Every table is derived from transactions and
-- can be rebuilt from them at any time; deleting rollup_state forces that.
--
-- dim is the breakdown: 0 none, then campaign_id, product_id, aff_id,
-- sub_aff_id, merchant_id, country (rollup.Dims); grp is the value.

-- Built for an integration, in its account time zone. No row: not built (or
-- invalidated by a retime); the reports read the transactions instead.
CREATE TABLE rollup_state (
    integration_id BIGINT NOT NULL PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    timezone       TEXT   NOT NULL,
    built_at       BIGINT NOT NULL
);

-- What writes changed since the last refresh. UpsertTransactions records
-- the customers, 15-minute buckets and chargeback days of both the old and
-- the new version of every row it writes.
CREATE TABLE rollup_dirty_customers (
    integration_id BIGINT NOT NULL,
    source         TEXT   NOT NULL,
    customer_id    TEXT   NOT NULL,
    PRIMARY KEY (integration_id, source, customer_id)
);
CREATE TABLE rollup_dirty_buckets (
    integration_id BIGINT NOT NULL,
    bucket         BIGINT NOT NULL,
    PRIMARY KEY (integration_id, bucket)
);
CREATE TABLE rollup_dirty_days (
    integration_id BIGINT NOT NULL,
    day            TEXT   NOT NULL,
    PRIMARY KEY (integration_id, day)
);

-- Per customer: the shard that holds the customer's cohort, lifetime value
-- and cycle rows (the first sale's day in the account time zone; without a
-- sale, the UTC day of the first transaction) and the first sale with its
-- breakdown values.
CREATE TABLE rollup_customers (
    integration_id BIGINT NOT NULL,
    source         TEXT   NOT NULL,
    customer_id    TEXT   NOT NULL,
    shard          BIGINT NOT NULL,
    first_sale_utc BIGINT,
    first_sale_id  TEXT   NOT NULL DEFAULT '',
    campaign_id    TEXT   NOT NULL DEFAULT '',
    product_id     TEXT   NOT NULL DEFAULT '',
    aff_id         TEXT   NOT NULL DEFAULT '',
    sub_aff_id     TEXT   NOT NULL DEFAULT '',
    merchant_id    TEXT   NOT NULL DEFAULT '',
    country        TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (integration_id, source, customer_id)
);
CREATE INDEX rollup_customers_shard ON rollup_customers (integration_id, shard);

-- Period figures per 15-minute UTC bucket: every time zone's day starts on
-- a bucket boundary, so a range of local days is a range of buckets.
CREATE TABLE rollup_period (
    integration_id   BIGINT NOT NULL,
    dim              SMALLINT NOT NULL,
    bucket           BIGINT NOT NULL,
    grp              TEXT   NOT NULL,
    sales            BIGINT NOT NULL,
    gross            BIGINT NOT NULL,
    declines         BIGINT NOT NULL,
    sales_initial    BIGINT NOT NULL,
    declines_initial BIGINT NOT NULL,
    refunds          BIGINT NOT NULL,
    refund_cents     BIGINT NOT NULL,
    kcb              BIGINT NOT NULL,
    kcb_cents        BIGINT NOT NULL,
    orders           BIGINT NOT NULL,
    PRIMARY KEY (integration_id, dim, bucket, grp)
);

-- Orders whose sales fall in more than one bucket: one row per bucket, so
-- that a range counts such an order once.
CREATE TABLE rollup_order_spans (
    integration_id BIGINT NOT NULL,
    dim            SMALLINT NOT NULL,
    grp            TEXT   NOT NULL,
    order_id       TEXT   NOT NULL,
    bucket         BIGINT NOT NULL,
    shard          BIGINT NOT NULL,
    PRIMARY KEY (integration_id, dim, grp, order_id, bucket)
);
CREATE INDEX rollup_order_spans_shard ON rollup_order_spans (integration_id, shard);

-- New customers by the bucket of their first sale.
CREATE TABLE rollup_new (
    integration_id BIGINT NOT NULL,
    dim            SMALLINT NOT NULL,
    bucket         BIGINT NOT NULL,
    grp            TEXT   NOT NULL,
    customers      BIGINT NOT NULL,
    PRIMARY KEY (integration_id, dim, bucket, grp)
);

-- Chargebacks by the day they were received.
CREATE TABLE rollup_cb (
    integration_id BIGINT NOT NULL,
    dim            SMALLINT NOT NULL,
    day            TEXT   NOT NULL,
    grp            TEXT   NOT NULL,
    chargebacks    BIGINT NOT NULL,
    cents          BIGINT NOT NULL,
    PRIMARY KEY (integration_id, dim, day, grp)
);

-- Lifetime value in the account time zone: customers per first-sale day,
-- and money per (first-sale day, event day). Days are numbered from
-- 1970-01-01.
CREATE TABLE rollup_cohorts (
    integration_id BIGINT NOT NULL,
    dim            SMALLINT NOT NULL,
    shard          BIGINT NOT NULL,
    grp            TEXT   NOT NULL,
    cohort_day     INTEGER NOT NULL,
    customers      BIGINT NOT NULL,
    PRIMARY KEY (integration_id, dim, shard, grp, cohort_day)
);
CREATE TABLE rollup_ltv (
    integration_id BIGINT NOT NULL,
    dim            SMALLINT NOT NULL,
    shard          BIGINT NOT NULL,
    grp            TEXT   NOT NULL,
    cohort_day     INTEGER NOT NULL,
    event_day      INTEGER NOT NULL,
    gross          BIGINT NOT NULL,
    net            BIGINT NOT NULL,
    PRIMARY KEY (integration_id, dim, shard, grp, cohort_day, event_day)
);

-- Retention: per billing cycle, the subscriptions with an approved sale and
-- the declined attempts.
CREATE TABLE rollup_cycles (
    integration_id BIGINT NOT NULL,
    dim            SMALLINT NOT NULL,
    shard          BIGINT NOT NULL,
    grp            TEXT   NOT NULL,
    cycle          INTEGER NOT NULL,
    approvals      BIGINT NOT NULL,
    declines       BIGINT NOT NULL,
    PRIMARY KEY (integration_id, dim, shard, grp, cycle)
);
