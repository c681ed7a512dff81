-- 0011: chargeback monitoring per card brand from the rollups (internal/
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

-- Rollups built before hold no brands: the next refresh rebuilds.
DELETE FROM rollup_state;
