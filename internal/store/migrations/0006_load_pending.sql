-- A load that has not finished: when it began (0: none) and how many rows
-- its files hold. Set before a load writes, cleared when it completes; an
-- interrupted or killed load leaves it, so status, reports and the
-- dashboard say the figures are partial.
ALTER TABLE integrations ADD COLUMN load_pending_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE integrations ADD COLUMN load_expected BIGINT NOT NULL DEFAULT 0;
