-- Chargebacks by the day of their sale: the reconciliation lists the
-- chargebacks of a range's sales, and without this index the planner reads
-- every transaction of the range from the table to find the few charged
-- back (seconds at a million transactions).
CREATE INDEX IF NOT EXISTS transactions_chargeback_sale ON transactions (integration_id, created_utc) WHERE chargedback = 1;
