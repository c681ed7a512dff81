-- 0012: what lets a scheduled sync skip the rows it re-reads unchanged
-- (internal/sync, internal/konnektive/digest.go). One row per entity row the
-- sync stored from the API: the keyed digest of the bytes it was decoded
-- from, and the DST adjustments of its two wall-clock times (so a run that
-- skips the row still counts them). Written in the transaction that writes
-- the row; a digest vouches for a row only while that row is stored (the
-- lookup checks the entity table too). {{without_rowid}}: SQLite keeps the
-- rows in their primary key's tree, so a lookup is one seek.
CREATE TABLE sync_digests (
    integration_id BIGINT   NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    entity         TEXT     NOT NULL,            -- customers | orders | transactions | purchases
    id             TEXT     NOT NULL,            -- the row's id (source api)
    digest         TEXT     NOT NULL,            -- konnektive.Digest in hex
    ambiguous      SMALLINT NOT NULL DEFAULT 0,  -- wall times placed in a repeated hour (0-2)
    gap            SMALLINT NOT NULL DEFAULT 0,  -- wall times in a skipped hour (0-2)
    PRIMARY KEY (integration_id, entity, id)
) {{without_rowid}};
