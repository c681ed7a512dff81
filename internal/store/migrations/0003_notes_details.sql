-- The legacy import's customer notes and additional customer details
-- (konduit load). Details keep no third-party password: only whether the
-- file had one.
CREATE TABLE customer_notes (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    source         TEXT   NOT NULL,
    id             TEXT   NOT NULL,   -- customer, dateCreated and a digest of agent and text
    customer_id    TEXT   NOT NULL DEFAULT '',
    agent_name     TEXT   NOT NULL DEFAULT '',
    note_text      TEXT   NOT NULL DEFAULT '',
    created_raw    TEXT,
    created_utc    BIGINT,
    created_adjust SMALLINT NOT NULL DEFAULT 0,
    updated_raw    TEXT,
    updated_utc    BIGINT,
    updated_adjust SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, source, id)
);
CREATE INDEX customer_notes_customer ON customer_notes (integration_id, source, customer_id, created_utc);

CREATE TABLE customer_details (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    source         TEXT   NOT NULL,
    id             TEXT   NOT NULL,   -- the customerId
    login_id       TEXT   NOT NULL DEFAULT '',
    has_password   SMALLINT NOT NULL DEFAULT 0,
    custom1        TEXT   NOT NULL DEFAULT '',
    custom2        TEXT   NOT NULL DEFAULT '',
    custom3        TEXT   NOT NULL DEFAULT '',
    custom4        TEXT   NOT NULL DEFAULT '',
    custom5        TEXT   NOT NULL DEFAULT '',
    created_raw    TEXT,
    created_utc    BIGINT,
    created_adjust SMALLINT NOT NULL DEFAULT 0,
    updated_raw    TEXT,
    updated_utc    BIGINT,
    updated_adjust SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, source, id)
);
