-- Schema 8: sync jobs shared by workers (`fulcrum sync --worker`): one row
-- per repository (or source) to keep synced. A worker claims a job by
-- writing its name and a lease; it renews the lease while it works; a lease
-- that runs out (a worker killed) lets another worker take the job over.
CREATE TABLE sync_jobs (
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    worker TEXT,
    lease_until INTEGER,
    last_started_at INTEGER,
    last_finished_at INTEGER,
    last_error TEXT,
    runs INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, target)
);
