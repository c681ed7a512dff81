-- A sync walks windows of several days: the checkpoint names the window
-- whole (day .. window_to; window_to empty: the rest of the pass), and a
-- failed window is recorded with both its dates.
ALTER TABLE sync_checkpoints ADD COLUMN window_to TEXT;
ALTER TABLE sync_errors ADD COLUMN day_to TEXT;
ALTER TABLE sync_runs ADD COLUMN quarantined BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN requests BIGINT NOT NULL DEFAULT 0;
-- Who runs a sync, and its last sign of life: a run whose process died
-- (kill -9, power loss) is shown as interrupted, not running forever.
ALTER TABLE sync_runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_runs ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN alive_at BIGINT NOT NULL DEFAULT 0;

-- Rows the API sent that could not be read (a date or amount konduit will
-- not guess at, a missing id or dateCreated): kept, sensitive keys removed
-- and card numbers masked, with the reason, until a later read of the same
-- row succeeds.
CREATE TABLE sync_quarantine (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    entity         TEXT   NOT NULL,
    row_key        TEXT   NOT NULL,             -- the row's id, or "sha256:" and a digest of the row when it has none
    row_id         TEXT   NOT NULL DEFAULT '',
    field          TEXT   NOT NULL DEFAULT '',
    reason         TEXT   NOT NULL,
    raw            TEXT   NOT NULL DEFAULT '',
    run_id         BIGINT,
    seen_at        BIGINT NOT NULL,
    PRIMARY KEY (integration_id, entity, row_key)
);

-- A digest of every column a write sets: a row read again unchanged is
-- neither written nor marked dirty for the rollups.
ALTER TABLE customers ADD COLUMN row_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN row_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN row_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE purchases ADD COLUMN row_hash TEXT NOT NULL DEFAULT '';
