-- 0009: what lets many processes share one database's integrations
-- (internal/integration). sync_locks holds the one sync of an integration
-- under way: its owner (host:pid:random) and a heartbeat it renews; a
-- lock whose heartbeat is older than its time to live belonged to a
-- process that died (kill -9, power loss) and is taken over. schedules
-- holds what the scheduler needs beside the integration: paused or not.
-- River's own tables (river_job, ...) are created by River's migrator
-- when the scheduler opens (internal/schedule).
CREATE TABLE sync_locks (
    integration_id BIGINT NOT NULL PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    owner          TEXT   NOT NULL,
    since_ms       BIGINT NOT NULL,   -- Unix milliseconds the lock was taken
    heartbeat_ms   BIGINT NOT NULL    -- Unix milliseconds of the last renewal
);

CREATE TABLE schedules (
    integration_id BIGINT   NOT NULL PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    paused         SMALLINT NOT NULL DEFAULT 0
);
