-- 0011: retention with maturity and chargeback monitoring per card brand
-- from the rollups (internal/
-- rollup; shared/spec/metrics.md "Chargebacks"). Sales per 15-minute UTC
-- bucket and chargebacks per day received, by merchant account, card brand
-- and currency; recomputed with rollup_period's buckets and rollup_cb's
-- days.
CREATE TABLE rollup_brand_sales (
    integration_id BIGINT NOT NULL,
    bucket         BIGINT NOT NULL,
    merchant_id    TEXT   NOT NULL,
    card_brand     TEXT   NOT NULL,
    currency       TEXT   NOT NULL,
    sales          BIGINT NOT NULL,
    PRIMARY KEY (integration_id, bucket, merchant_id, card_brand, currency)
);
CREATE TABLE rollup_brand_cb (
    integration_id BIGINT NOT NULL,
    day            TEXT   NOT NULL,
    merchant_id    TEXT   NOT NULL,
    card_brand     TEXT   NOT NULL,
    currency       TEXT   NOT NULL,
    chargebacks    BIGINT NOT NULL,
    cents          BIGINT NOT NULL,
    PRIMARY KEY (integration_id, day, merchant_id, card_brand, currency)
);

-- Retention with maturity (internal/rollup contrib.go): per breakdown
-- group, product, cycle-1 day and cycle (account time zone days, numbered
-- from 1970-01-01), the approvals (subscriptions) and declines by the day
-- they happened, so a report counts those up to its as-of date; and the
-- gaps in days between consecutive approved cycles per product, each
-- counted (n, +1 or -1) from the day it holds, for the median interval as
-- of any date. customers counts the contributing customers, as 0007's.
CREATE TABLE rollup_retention (
    integration_id BIGINT   NOT NULL,
    dim            SMALLINT NOT NULL,
    grp            TEXT     NOT NULL,
    product_id     TEXT     NOT NULL,
    cohort_day     INTEGER  NOT NULL,
    cycle          BIGINT   NOT NULL,
    event_day      INTEGER  NOT NULL,
    approvals      BIGINT   NOT NULL,
    declines       BIGINT   NOT NULL,
    customers      BIGINT   NOT NULL,
    PRIMARY KEY (integration_id, dim, grp, product_id, cohort_day, cycle, event_day)
);
CREATE INDEX rollup_retention_empty ON rollup_retention (integration_id) WHERE customers = 0;
CREATE TABLE rollup_gaps (
    integration_id BIGINT  NOT NULL,
    product_id     TEXT    NOT NULL,
    from_day       INTEGER NOT NULL,
    gap            INTEGER NOT NULL,
    n              BIGINT  NOT NULL,
    customers      BIGINT  NOT NULL,
    PRIMARY KEY (integration_id, product_id, from_day, gap)
);
CREATE INDEX rollup_gaps_empty ON rollup_gaps (integration_id) WHERE customers = 0;

-- Rollups built before hold no brands, and contributions of version 1:
-- the next refresh rebuilds.
DELETE FROM rollup_state;
