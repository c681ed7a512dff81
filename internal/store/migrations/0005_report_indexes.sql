-- Covering indexes for the reports' scans (they were created by the report
-- command, so a database synced and served by the dashboard had none): each
-- report reads one index in order instead of visiting the table row by row.
-- summary, reconcile and chargebacks: events by date, with every breakdown
-- column.
CREATE INDEX IF NOT EXISTS report_txn_range ON transactions
  (integration_id, created_utc, txn_type, response_type, amount_cents, billing_cycle, chargedback, chargeback_cents, order_id,
   merchant_id, campaign_id, product_id, aff_id, sub_aff_id, country);
-- new customers, ltv: a customer's events in order.
CREATE INDEX IF NOT EXISTS report_txn_customer ON transactions
  (integration_id, source, customer_id, created_utc, id, txn_type, response_type, amount_cents, chargedback, chargeback_cents, chargeback_date);
