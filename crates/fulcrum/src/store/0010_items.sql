-- Schema 10: work items (Jira, GitHub and GitLab issues, any tracker's items)
-- and their status moves, for the feature value stream.
CREATE TABLE work_items (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    -- The tracker's key (`SHOP-12`).
    external_id TEXT NOT NULL,
    title TEXT,
    kind TEXT,
    -- The project or service it belongs to (narrowed by --service).
    project TEXT,
    created_at INTEGER NOT NULL,
    -- JSON array of the pull requests it names (`owner/name#number`).
    links TEXT NOT NULL,
    raw TEXT,
    UNIQUE (source, external_id)
);

CREATE TABLE item_transitions (
    item_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status TEXT NOT NULL,
    -- `todo`, `in_progress`, `done`, or NULL: mapped from the status name by
    -- the configuration when read.
    category TEXT
);
CREATE INDEX item_transitions_item ON item_transitions (item_id);
