-- Secondary indexes a first load dropped while it filled empty tables, to
-- build each once after the rows are in (store.DeferIndexes): a load that
-- stopped midway leaves them here, and the next load builds them first.
CREATE TABLE deferred_indexes (
    name       TEXT NOT NULL PRIMARY KEY,
    table_name TEXT NOT NULL,
    definition TEXT NOT NULL
);
