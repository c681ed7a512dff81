-- 0010: what makes reports readable and keeps money within one currency
-- (shared/spec/metrics.md "Money and currency", chargebacks per card brand).
--
-- Each transaction's currency (currencyCode, ISO 4217; '' when the source
-- does not say, as legacy import files) and its card's brand (internal/
-- cardnum's spelling, from the BIN or else the card type; '' unknown).
ALTER TABLE transactions ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN card_brand TEXT NOT NULL DEFAULT '';

-- Names of the ids the transactions hold, as the API rows give them
-- (campaignName, the items' product name, merchant and merchantDescriptor,
-- sourceTitle for the affiliate). Written by every transactions upsert;
-- a name the rows stop giving is kept.
CREATE TABLE campaigns (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    id             TEXT   NOT NULL,
    name           TEXT   NOT NULL,
    PRIMARY KEY (integration_id, id)
);
CREATE TABLE products (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    id             TEXT   NOT NULL,
    name           TEXT   NOT NULL,
    PRIMARY KEY (integration_id, id)
);
CREATE TABLE merchant_accounts (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    id             TEXT   NOT NULL,
    name           TEXT   NOT NULL,
    descriptor     TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (integration_id, id)
);
CREATE TABLE affiliates (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    id             TEXT   NOT NULL,
    name           TEXT   NOT NULL,
    PRIMARY KEY (integration_id, id)
);

-- The currencies of an integration, read a value at a time (report.Currencies).
CREATE INDEX transactions_currency ON transactions (integration_id, currency);
