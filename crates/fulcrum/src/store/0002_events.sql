-- fulcrum schema, version 2: data from hosts, CI and event files (pull
-- requests, deployments, incidents) and the state of their syncs. Times are
-- UTC seconds since the epoch. `source` names where a row came from
-- (`import`, `github:owner/repo`, `gitlab:group/project`); `raw` keeps the
-- payload as received, for replay and debugging.

CREATE TABLE pull_requests (
    id INTEGER PRIMARY KEY,
    -- The host's repository slug (`owner/name`), as given by the source.
    repo TEXT NOT NULL,
    number INTEGER NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ready_at INTEGER,
    merged_at INTEGER,
    closed_at INTEGER,
    merge_commit TEXT,
    draft INTEGER NOT NULL DEFAULT 0,
    additions INTEGER NOT NULL DEFAULT 0,
    deletions INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER,
    raw TEXT,
    UNIQUE (repo, number)
);
CREATE INDEX pull_requests_merge_commit ON pull_requests (merge_commit);

CREATE TABLE pr_commits (
    pr_id INTEGER NOT NULL REFERENCES pull_requests (id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    author TEXT NOT NULL,
    authored_at INTEGER NOT NULL
);
CREATE INDEX pr_commits_pr ON pr_commits (pr_id);

-- Reviews (`review`), review comments (`review_comment`) and comments (`comment`).
CREATE TABLE pr_activities (
    pr_id INTEGER NOT NULL REFERENCES pull_requests (id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX pr_activities_pr ON pr_activities (pr_id);

CREATE TABLE deployments (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    repo TEXT,
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    finished_at INTEGER NOT NULL,
    -- `success`, `failure`, `error`, `cancelled`, … as the source says; only
    -- `success` counts as a deployment.
    status TEXT NOT NULL,
    name TEXT,
    -- 1 when `deployment_commits` lists exactly what it shipped.
    has_commit_list INTEGER NOT NULL DEFAULT 0,
    raw TEXT,
    UNIQUE (source, external_id)
);

CREATE TABLE deployment_commits (
    deployment_id INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    sha TEXT NOT NULL
);
CREATE INDEX deployment_commits_deployment ON deployment_commits (deployment_id);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    service TEXT NOT NULL,
    title TEXT,
    started_at INTEGER NOT NULL,
    resolved_at INTEGER,
    deployment TEXT,
    commit_sha TEXT,
    -- `owner/name#number`.
    pull_request TEXT,
    raw TEXT,
    UNIQUE (source, external_id)
);

-- Incremental sync state of host sources: `updated_at` cursors per resource.
CREATE TABLE source_cursors (
    source TEXT NOT NULL,
    resource TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (source, resource)
);

-- Conditional requests: the ETag, body and next page of each page last fetched.
CREATE TABLE http_cache (
    url TEXT PRIMARY KEY,
    etag TEXT NOT NULL,
    body TEXT NOT NULL,
    next_url TEXT
);
