-- Rollups refreshed per customer (internal/rollup, docs/architecture.md "How
-- reports stay fast"): each customer's contribution to the customer-level
-- tables is kept beside the customer, so a refresh subtracts a changed
-- customer's old contribution and adds the new one instead of recomputing
-- every customer of a cohort day.

-- The customer's cohort, lifetime value, cycle and order-span entries,
-- encoded by internal/rollup (contrib.go).
ALTER TABLE rollup_customers ADD COLUMN contrib {{blob}};

-- How many customers contribute to each row: a row is dropped when the
-- last one leaves it (a row of zero money can still have customers).
-- rollup_cohorts and rollup_new count customers already.
ALTER TABLE rollup_ltv ADD COLUMN customers BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_cycles ADD COLUMN customers BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_order_spans ADD COLUMN customers BIGINT NOT NULL DEFAULT 0;

-- A span row is no longer recomputed by shard.
DROP INDEX rollup_order_spans_shard;
ALTER TABLE rollup_order_spans DROP COLUMN shard;

-- Emptied rows, found without a scan (a refresh drops them).
CREATE INDEX rollup_ltv_empty ON rollup_ltv (integration_id) WHERE customers = 0;
CREATE INDEX rollup_cycles_empty ON rollup_cycles (integration_id) WHERE customers = 0;
CREATE INDEX rollup_order_spans_empty ON rollup_order_spans (integration_id) WHERE customers = 0;
CREATE INDEX rollup_cohorts_empty ON rollup_cohorts (integration_id) WHERE customers = 0;
CREATE INDEX rollup_new_empty ON rollup_new (integration_id) WHERE customers = 0;

-- Rollups built before hold no contributions: the next refresh rebuilds.
DELETE FROM rollup_state;
